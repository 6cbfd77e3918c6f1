"""The replay engine: a stream file → window counts and trend alerts, in seconds.

It reads top to bottom like its diagram::

    posts.jsonl ─ read_posts ─► PostTable ─ extract_stream ─► Occurrences ─ window_counts ─► counts
                                                                                      └─ detect ─► alerts

* reading and extraction live in :mod:`trendlab.occurrences` (re-exported here): :func:`read_posts`
  parses Jetstream or flat PostData JSON lines; non-post events are skipped, dead letters are counted
  and kept (``PostTable.dead_letters``; ``trendlab replay`` writes them to ``dead_letters.jsonl``),
  never fatal; :func:`extract_stream` runs :class:`~trendlab.core.extract.KeywordExtractor` once per post,
  on every core, and integer-codes keywords and authors.
* :func:`replay_occurrences` turns occurrences into window counts (:func:`trendlab.core.windows.window_counts`)
  and alerts (:func:`trendlab.core.detect.detect_frame`) for one parameter set; :func:`sweep` reuses one
  extraction (and one window aggregation per window shape) for a whole grid.

The same semantics run in the Flink job; a parity test holds the two together.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
import pandas as pd

from trendlab.core.detect import DetectionParams, detect_frame
from trendlab.params_files import load_params, write_params
from trendlab.errors import InputError, MissingFile
from trendlab.core.extract import KeywordExtractor
from trendlab.core.models import TrendAlert
from trendlab.core.parse import Limits
# reading and extraction (a stream file → posts and occurrences); re-exported, callers import them here too
from trendlab.occurrences import (
    Occurrences, PostTable, extract_keyword_lists, extract_stream, load_stream, read_and_extract, read_occurrences,
    read_posts,
)
from trendlab.core.windows import WindowSpec

__all__ = [
    "extract_keyword_lists",
    "read_and_extract",
    "read_occurrences",
    "PostTable",
    "Occurrences",
    "ReplayResult",
    "read_posts",
    "extract_stream",
    "replay",
    "replay_occurrences",
    "write_outputs",
]

COUNT_COLUMNS = ["keyword", "window_start", "window_end", "count", "unique_authors", "unique_contents"]


# -- windows and detection ----------------------------------------------------------------------

@dataclass
class ReplayResult:
    params: DetectionParams
    counts: pd.DataFrame  # keyword, window_start, window_end, count, unique_authors (UTC)
    alerts: list[TrendAlert]
    posts: PostTable | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    #: posts per window (``end_slot, volume``: :func:`trendlab.core.windows.window_volume`)
    volume: pd.DataFrame | None = None

    def alerts_frame(self) -> pd.DataFrame:
        return alerts_to_frame(self.alerts)

    def summary(self) -> str:
        lines = []
        if self.posts is not None:
            lines.append(self.posts.report())
        windows = self.counts["window_end"].nunique() if not self.counts.empty else 0
        lines.append(
            f"{len(self.counts):,} window counts over {windows:,} windows "
            f"({self.params.window} every {self.params.slide}), "
            f"{self.counts['keyword'].nunique() if not self.counts.empty else 0:,} keywords"
        )
        lines.append(f"{len(self.alerts)} trend alerts")
        for a in self.alerts[:10]:
            related = f" (+ {', '.join(a.related_keywords)})" if a.related_keywords else ""
            lines.append(
                f"  {a.window_end:%Y-%m-%d %H:%M}Z  {a.keyword}{related}: {a.count} posts, "
                f"{a.unique_authors} authors, baseline {a.baseline:.1f}, score {a.score:.1f}"
            )
        if len(self.alerts) > 10:
            lines.append(f"  … {len(self.alerts) - 10} more")
        if self.seconds:
            lines.append("time: " + ", ".join(f"{k} {v:.2f}s" for k, v in self.seconds.items()))
        return "\n".join(lines)


def alerts_to_frame(alerts: Iterable[TrendAlert]) -> pd.DataFrame:
    rows = [a.to_dict() for a in alerts]
    frame = pd.DataFrame(
        rows,
        columns=["keyword", "window_start", "window_end", "count", "unique_authors", "baseline", "score",
                 "related_keywords", "language", "trend", "topic", "display_name"],
    )
    for col in ("window_start", "window_end"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def counts_frame(raw: pd.DataFrame, keywords: np.ndarray, spec: WindowSpec) -> pd.DataFrame:
    """Integer-coded window counts → the public frame (keyword text, UTC window bounds)."""
    end_ms = raw["end_slot"].to_numpy() * spec.slide_ms

    def utc(ms: np.ndarray) -> pd.Series:  # an index localises in one pass (a Series' .dt is ~3x slower)
        return pd.Series(pd.DatetimeIndex(ms.astype("datetime64[ms]")).tz_localize("UTC"))

    ends, starts = utc(end_ms), utc(end_ms - spec.window_ms)
    return pd.DataFrame(
        {
            "keyword": keywords[raw["keyword_code"].to_numpy()] if len(raw) else np.empty(0, dtype=object),
            "window_start": starts,
            "window_end": ends,
            "count": raw["count"].to_numpy(dtype=np.int64),
            "unique_authors": raw["unique_authors"].to_numpy(dtype=np.int64),
            **({"unique_contents": raw["unique_contents"].to_numpy(dtype=np.int64)} if "unique_contents" in raw else {}),
        }
    )


def replay_occurrences(
    occ: Occurrences,
    params: DetectionParams,
    raw_counts: pd.DataFrame | None = None,
    with_counts: bool = True,
) -> ReplayResult:
    """Windows + detection for one parameter set over already-extracted occurrences."""
    spec = params.spec
    t0 = time.perf_counter()
    if raw_counts is None:
        raw_counts = occ.window_counts(spec)
    volume = occ.window_volume(spec)
    t1 = time.perf_counter()
    alerts = detect_frame(raw_counts, occ.keywords, params, volume=volume, sketches=occ.sketches(spec))
    t2 = time.perf_counter()
    counts = counts_frame(raw_counts, occ.keywords, spec) if with_counts else pd.DataFrame(columns=COUNT_COLUMNS)
    return ReplayResult(params, counts, alerts, seconds={"windows": t1 - t0, "detect": t2 - t1}, volume=volume)


def replay(
    source: str | Path | PostTable,
    params: DetectionParams | str | Path | None = None,
    *,
    window: str | None = None,
    slide: str | None = None,
    extractor: KeywordExtractor | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    limits: Limits | None = None,
) -> ReplayResult:
    """Replay a stream file (or an already read :class:`PostTable`) with one parameter set; ``limits``:
    what the parser accepts (``None``: :func:`trendlab.env_defaults.parser_limits`; e.g. an older ``min_event_time_us``)."""
    if not isinstance(params, DetectionParams):
        params = load_params(params, window=window, slide=slide)
    else:
        params = params.replace(window=window, slide=slide)
    t0 = time.perf_counter()
    table, occ = load_stream(source, extractor, workers, progress, texts=False, limits=limits)
    t1 = time.perf_counter()
    result = replay_occurrences(occ, params)
    result.posts = table
    result.seconds = {"read+extract": t1 - t0, **result.seconds}
    return result


def write_outputs(result: ReplayResult, out_dir: str | Path) -> dict[str, Path]:
    """``counts.parquet`` and ``alerts.jsonl`` (and the parameters used, ``params.yaml``); when the
    input had dead letters, ``dead_letters.jsonl`` too: one ``{"message", "error", "size", "line"}``
    object per line (``message`` a bounded excerpt, like the job's dead-letter topic)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"counts": out / "counts.parquet", "alerts": out / "alerts.jsonl", "params": out / "params.yaml"}
    result.counts.to_parquet(paths["counts"], index=False)
    with open(paths["alerts"], "wb") as fh:
        for alert in result.alerts:
            fh.write(orjson.dumps(alert.to_dict()) + b"\n")
    write_params(result.params, paths["params"], comment="parameters of this replay")
    dead = out / "dead_letters.jsonl"
    if result.posts is not None and result.posts.dead_letters:
        paths["dead_letters"] = dead
        with open(dead, "wb") as fh:
            for number, letter in result.posts.dead_letters:
                fh.write(letter.to_json(line=number) + b"\n")
    elif dead.exists():
        dead.unlink()  # from an earlier replay into the same directory
    return paths


def read_alerts(path: str | Path) -> list[TrendAlert]:
    path = Path(path)
    if not path.exists():
        raise MissingFile(f"alerts file not found: {path}")
    alerts = []
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        if line.strip():
            try:
                alerts.append(TrendAlert.from_json(line))
            except (KeyError, ValueError, TypeError) as exc:
                raise InputError(f"{path}:{number} is not a TrendAlert: {exc}") from None
    return alerts
