"""Labels: which keywords burst when (trends), and which must never alert (decoys).

One schema and one reader for ``labels.json``, used by the sample generator (:mod:`trendlab.samples`,
which writes it), the evaluation (:mod:`trendlab.evaluate`), tuning (:mod:`trendlab.tune`) and the
labelling of alerts in the notebooks::

    {"generator": {...},                                   # optional: how a sample was made
     "trends": [{"id": "t1", "kind": "new_hashtag", "language": "en",
                 "keywords": ["#superbowllix", "halftime"],
                 "start": "2025-02-09T20:43:33Z", "end": "2025-02-09T20:54:57Z", "peak_rate": 15.0},
                {"id": "t7", "kind": "story", "language": "en", "keywords": ["episode", "plot"],
                 "phrases": ["season finale"], "start": "...", "end": "..."}],
     "decoys": [{"id": "d1", "kind": "steady_common", "keywords": ["people"],
                 "start": "...", "end": "..."}],
     "gaps": [{"start": "2025-02-09T20:51:10Z", "end": "2025-02-09T21:03:40Z"}]}   # optional

A trend is a group of keywords that burst together between ``start`` and ``end``; a decoy is a
keyword set that must not alert at any time (steady words, spam). ``language`` and ``peak_rate``
are optional. ``phrases`` (optional) are the trend's names as people write them, word pairs such as
"season finale"; ``keywords`` stay single words. ``gaps`` (optional) are spans in which the whole
stream is silent (a recorder or ingester lost it): missing data, not zero counts. A file that does not fit is refused with :class:`~trendlab.errors.InputError` naming
the entry and the field, e.g. ``labels: trends[2].start is missing``; unknown keys are refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from trendlab.errors import InputError
from trendlab.core.models import format_time, parse_time

__all__ = ["Gap", "Labels", "TrendLabel", "load_labels"]


@dataclass(frozen=True, slots=True)
class TrendLabel:
    """One labelled trend group or decoy: its keywords and the time they burst (decoys: are present)."""

    id: str
    kind: str
    keywords: tuple[str, ...]
    start: datetime
    end: datetime
    language: str | None = None
    peak_rate: float | None = None  # posts per minute at the burst's peak (generated samples)
    phrases: tuple[str, ...] = ()   # the trend's names as written: word pairs ("season finale")

    def __post_init__(self) -> None:
        object.__setattr__(self, "keywords", tuple(self.keywords))
        object.__setattr__(self, "phrases", tuple(self.phrases))

    def to_dict(self) -> dict[str, Any]:
        """The ``labels.json`` form (optional fields only when set; this key order)."""
        out: dict[str, Any] = {"id": self.id, "kind": self.kind}
        if self.language is not None:
            out["language"] = self.language
        out["keywords"] = list(self.keywords)
        if self.phrases:
            out["phrases"] = list(self.phrases)
        out.update(start=format_time(self.start), end=format_time(self.end))
        if self.peak_rate is not None:
            out["peak_rate"] = round(self.peak_rate, 1)
        return out

    @classmethod
    def from_dict(cls, obj: Any, where: str = "label") -> TrendLabel:
        if not isinstance(obj, Mapping):
            raise InputError(f"labels: {where} must be an object with keywords, start and end, got {_short(obj)}")
        unknown = sorted(set(obj) - LABEL_KEYS)
        if unknown:
            raise InputError(f"labels: {where} has unknown key {unknown[0]!r} (known: {', '.join(sorted(LABEL_KEYS))})")
        for key in ("keywords", "start", "end"):
            if key not in obj:
                raise InputError(f"labels: {where}.{key} is missing")
        keywords = obj["keywords"]
        if not isinstance(keywords, list) or not keywords or not all(isinstance(k, str) and k for k in keywords):
            raise InputError(f"labels: {where}.keywords must be a non-empty list of words, got {_short(keywords)}")
        phrases = obj.get("phrases", [])
        if not isinstance(phrases, list) or not all(isinstance(k, str) and k for k in phrases):
            raise InputError(f"labels: {where}.phrases must be a list of phrases, got {_short(phrases)}")
        language = obj.get("language")
        if language is not None and not isinstance(language, str):
            raise InputError(f"labels: {where}.language must be a string, got {_short(language)}")
        peak = obj.get("peak_rate")
        if peak is not None and (isinstance(peak, bool) or not isinstance(peak, (int, float))):
            raise InputError(f"labels: {where}.peak_rate must be a number, got {_short(peak)}")
        start, end = _span(obj, where)
        return cls(id=str(obj.get("id", where)), kind=str(obj.get("kind", "")), keywords=tuple(keywords),
                   start=start, end=end, language=language, peak_rate=float(peak) if peak is not None else None,
                   phrases=tuple(phrases))


#: What a label may say; anything else is refused (a typo like ``"strat"`` must not pass silently).
LABEL_KEYS = frozenset({"id", "kind", "language", "keywords", "phrases", "start", "end", "peak_rate"})
LABELS_KEYS = frozenset({"generator", "trends", "decoys", "gaps"})
GAP_KEYS = frozenset({"start", "end"})


@dataclass(frozen=True, slots=True)
class Gap:
    """A span ``[start, end)`` in which the whole stream is silent: missing data, not zero counts."""

    start: datetime
    end: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"start": format_time(self.start), "end": format_time(self.end)}

    @classmethod
    def from_dict(cls, obj: Any, where: str = "gap") -> Gap:
        if not isinstance(obj, Mapping):
            raise InputError(f"labels: {where} must be an object with start and end, got {_short(obj)}")
        unknown = sorted(set(obj) - GAP_KEYS)
        if unknown:
            raise InputError(f"labels: {where} has unknown key {unknown[0]!r} (known: end, start)")
        for key in ("start", "end"):
            if key not in obj:
                raise InputError(f"labels: {where}.{key} is missing")
        return cls(*_span(obj, where))


def _span(obj: Mapping, where: str) -> tuple[datetime, datetime]:
    """``(start, end)`` of a label or gap, read and checked (one-line errors naming ``where``)."""
    try:
        start = parse_time(obj["start"], f"{where}.start")
        end = parse_time(obj["end"], f"{where}.end")
    except ValueError as exc:
        raise InputError(f"labels: {exc}") from None
    if end <= start:
        raise InputError(f"labels: {where} ends ({format_time(end)}) before it starts ({format_time(start)})")
    return start, end


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _label_list(data: Mapping[str, Any], key: str) -> list:
    items = data.get(key, [])
    if not isinstance(items, list):
        raise InputError(f"labels: {key} must be a list of labels, got {_short(items)}")
    return items


def _gap_list(data: Mapping[str, Any]) -> list:
    items = data.get("gaps", [])
    if not isinstance(items, list):
        raise InputError(f"labels: gaps must be a list of {{start, end}} objects, got {_short(items)}")
    return items


@dataclass(frozen=True)
class Labels:
    """The trends and decoys of one stream; ``start``/``end``: the stream's span when known."""

    trends: tuple[TrendLabel, ...] = ()
    decoys: tuple[TrendLabel, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    generator: Mapping[str, Any] = field(default_factory=dict)  # how a generated sample was made
    gaps: tuple[Gap, ...] = ()  # spans with no data at all (the stream was lost)

    def __post_init__(self) -> None:
        object.__setattr__(self, "trends", tuple(self.trends))
        object.__setattr__(self, "decoys", tuple(self.decoys))
        object.__setattr__(self, "gaps", tuple(self.gaps))

    @property
    def hours(self) -> float:
        if self.start is None or self.end is None:
            return float("nan")
        return (self.end - self.start).total_seconds() / 3600

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.generator:
            out["generator"] = dict(self.generator)
        elif self.start is not None and self.end is not None:
            out["generator"] = {"start": format_time(self.start), "end": format_time(self.end)}
        out["trends"] = [t.to_dict() for t in self.trends]
        out["decoys"] = [d.to_dict() for d in self.decoys]
        if self.gaps:
            out["gaps"] = [g.to_dict() for g in self.gaps]
        return out

    def to_json(self) -> bytes:
        import orjson

        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2) + b"\n"

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.to_json())
        return path

    @classmethod
    def from_dict(cls, data: Any) -> Labels:
        """A parsed ``labels.json``; a wrong shape, an unknown key or a label that ends before it
        starts is refused in one line (:class:`~trendlab.errors.InputError`)."""
        if not isinstance(data, Mapping):
            raise InputError(f"labels must be a JSON object with trends and decoys, got {_short(data)}")
        unknown = sorted(set(data) - LABELS_KEYS)
        if unknown:
            raise InputError(f"labels: unknown key {unknown[0]!r} (known: {', '.join(sorted(LABELS_KEYS))})")
        gen = data.get("generator") or {}
        if not isinstance(gen, Mapping):
            raise InputError(f"labels: generator must be an object, got {_short(gen)}")
        try:
            start = parse_time(gen["start"], "generator.start") if gen.get("start") else None
            end = parse_time(gen["end"], "generator.end") if gen.get("end") else None
        except ValueError as exc:
            raise InputError(f"labels: {exc}") from None
        if start is not None and end is not None and end <= start:
            raise InputError(f"labels: generator ends ({format_time(end)}) before it starts ({format_time(start)})")
        return cls(
            trends=tuple(TrendLabel.from_dict(t, f"trends[{i}]") for i, t in enumerate(_label_list(data, "trends"))),
            decoys=tuple(TrendLabel.from_dict(d, f"decoys[{i}]") for i, d in enumerate(_label_list(data, "decoys"))),
            start=start, end=end, generator=dict(gen),
            gaps=tuple(Gap.from_dict(g, f"gaps[{i}]") for i, g in enumerate(_gap_list(data))),
        )


def load_labels(source: str | Path | Mapping[str, Any] | Labels) -> Labels:
    """A ``labels.json`` file (or its parsed mapping) as :class:`Labels`."""
    if isinstance(source, Labels):
        return source
    if isinstance(source, Mapping):
        return Labels.from_dict(source)
    from trendlab.postfile import read_small_text

    path = Path(source)
    text = read_small_text(path, "labels file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"labels file {path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except RecursionError:
        raise InputError(f"labels file {path} is nested too deeply to be labels") from None
    return Labels.from_dict(data)
