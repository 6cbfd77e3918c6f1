"""Alert review: judge a replay's alerts by eye and turn the judgements into labels to tune on.

A recorded real stream has no labels. Replay it, then walk through its alerts — keyword, related
keywords, window, count, authors, baseline, a few posts of the window — and mark each as a real trend
or not; alerts that are one trend are merged. The judgements become a labels file in the format
``trendlab evaluate`` and ``trendlab tune`` read, so the recording becomes a labelled tuning stream:

* a **real trend** becomes a trend label: its keywords (the alert's keyword and related keywords, of
  every alert merged into it), from the earliest window start to the latest window end of its alerts;
* **not a trend** becomes a decoy: its keyword must not alert (keywords of a real trend are never
  decoys);
* alerts not judged are left out.

Latency on reviewed labels is measured from the window start of the first alert (the true start of a
real burst is unknown), so it reads longer than on generated labels; edit ``window_start`` in the
CSV where you know better.

In JupyterLab: :class:`ReviewWidget`. Outside: ``trendlab review export`` writes the same table as
CSV (one row per alert, ``verdict`` and ``trend`` left empty to fill in a spreadsheet) and ``trendlab
review import`` turns the filled CSV into ``labels.json``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from trendlab.errors import InputError, MissingFile
from trendlab.labels import load_labels
from trendlab.core.models import TrendAlert, format_time
from trendlab.replay import Occurrences, PostTable

__all__ = ["review_table", "read_review", "write_review", "labels_from_review", "write_labels", "ReviewWidget",
           "VERDICTS"]

COLUMNS = ["alert", "keyword", "related_keywords", "window_start", "window_end", "count", "unique_authors",
           "baseline", "score", "authors", "examples", "verdict", "trend", "stream_start", "stream_end"]
#: What a ``verdict`` cell may say (case-insensitive); empty: not judged.
VERDICTS = {"yes": True, "y": True, "trend": True, "real": True, "true": True, "1": True,
            "no": False, "n": False, "not": False, "false": False, "0": False}
EXAMPLE_SEPARATOR = " ⏐ "


def review_table(alerts: Sequence[TrendAlert], posts: PostTable, occurrences: Occurrences,
                 examples: int = 3) -> pd.DataFrame:
    """One row per alert (in time order), with up to ``examples`` posts of its window that contain
    its keyword (distinct authors first) and the authors' count; ``verdict`` and ``trend`` empty."""
    occ = occurrences
    code = {str(k): i for i, k in enumerate(occ.keywords)}
    span = (posts.event_ms.min(), posts.event_ms.max()) if len(posts) else (0, 0)
    rows = []
    ordered = sorted(alerts, key=lambda a: (a.window_end, -a.score, a.keyword))
    width = len(str(len(ordered)))
    event_ms = occ.event_ms  # per occurrence (built from the posts' times once, not per alert)
    for i, a in enumerate(ordered, start=1):
        start_ms, end_ms = int(a.window_start.timestamp() * 1000), int(a.window_end.timestamp() * 1000)
        picked: list[str] = []
        c = code.get(a.keyword)
        if c is not None:
            mask = (occ.keyword_code == c) & (event_ms >= start_ms) & (event_ms < end_ms)
            seen: set[str] = set()
            idx = occ.post_index[mask]
            for p in idx:  # one post per author first, then the rest
                if posts.author[p] not in seen:
                    seen.add(posts.author[p])
                    picked.append(_one_line(posts.text[p]))
                if len(picked) >= examples:
                    break
            authors = len({posts.author[p] for p in idx})
        else:
            authors = a.unique_authors
        rows.append({
            "alert": f"a{i:0{width}d}", "keyword": a.keyword, "related_keywords": ", ".join(a.related_keywords),
            "window_start": format_time(a.window_start), "window_end": format_time(a.window_end),
            "count": a.count, "unique_authors": a.unique_authors, "baseline": round(a.baseline, 2),
            "score": round(a.score, 2), "authors": authors, "examples": EXAMPLE_SEPARATOR.join(picked),
            "verdict": "", "trend": a.trend if a.trend and a.trend != a.keyword else "",
            "stream_start": format_time(pd.Timestamp(int(span[0]), unit="ms", tz="UTC").to_pydatetime()),
            "stream_end": format_time(pd.Timestamp(int(span[1]), unit="ms", tz="UTC").to_pydatetime()),
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def write_review(table: pd.DataFrame, path: str | Path) -> Path:
    """The review table as CSV (UTF-8 with a BOM, so spreadsheets show non-Latin posts right)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False, encoding="utf-8-sig")
    return path


def read_review(path: str | Path) -> pd.DataFrame:
    """A review CSV back (as exported, possibly edited in a spreadsheet); one-line errors."""
    path = Path(path)
    if not path.exists():
        raise MissingFile(f"review file not found: {path}")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not a review CSV: {str(exc).splitlines()[0]}") from None
    missing = [c for c in ("alert", "keyword", "window_start", "window_end", "verdict") if c not in table.columns]
    if missing:
        raise InputError(f"{path}: column {missing[0]!r} is missing (export one with `trendlab review export`)")
    return table


def _verdict(value: Any, where: str) -> bool | None:
    text = str(value if value is not None else "").strip().lower()
    if not text or text == "nan":
        return None
    if text not in VERDICTS:
        raise InputError(f"{where}: verdict must be yes or no (or empty), got {value!r}")
    return VERDICTS[text]


def labels_from_review(table: pd.DataFrame) -> dict[str, Any]:
    """The judged rows as a labels mapping (the ``labels.json`` format :func:`~trendlab.evaluate.load_labels`
    reads): real trends merged by their ``trend`` cell (empty: the alert is its own trend), the rest decoys."""
    groups: dict[str, dict[str, Any]] = {}
    rejected: list[dict[str, Any]] = []
    for n, row in enumerate(table.to_dict("records"), start=2):  # line 1 is the header
        verdict = _verdict(row.get("verdict"), f"line {n} ({row.get('alert')})")
        if verdict is None:
            continue
        start = pd.Timestamp(row["window_start"])
        end = pd.Timestamp(row["window_end"])
        if verdict:
            name = str(row.get("trend") or "").strip() or str(row["alert"])
            g = groups.setdefault(name, {"keywords": [], "start": start, "end": end})
            words = [str(row["keyword"])] + [w.strip() for w in str(row.get("related_keywords") or "").split(",") if w.strip()]
            g["keywords"] = list(dict.fromkeys(g["keywords"] + words))
            g["start"], g["end"] = min(g["start"], start), max(g["end"], end)
        else:
            rejected.append({"keyword": str(row["keyword"]), "start": start, "end": end, "alert": str(row["alert"])})
    trend_words = {k for g in groups.values() for k in g["keywords"]}
    trends = [
        {"id": name, "kind": "reviewed", "keywords": g["keywords"], "start": _iso(g["start"]), "end": _iso(g["end"])}
        for name, g in groups.items()
    ]
    decoys = [
        {"id": f"not-{r['alert']}", "kind": "reviewed_not_a_trend", "keywords": [r["keyword"]],
         "start": _iso(r["start"]), "end": _iso(r["end"])}
        for r in rejected if r["keyword"] not in trend_words
    ]
    labels: dict[str, Any] = {"trends": trends, "decoys": decoys}
    if "stream_start" in table.columns and len(table) and table["stream_start"].iloc[0]:
        labels["generator"] = {"source": "trendlab review", "start": table["stream_start"].iloc[0],
                               "end": table["stream_end"].iloc[0]}
    return labels


def _iso(ts: pd.Timestamp) -> str:
    return format_time(ts.tz_convert("UTC").to_pydatetime() if ts.tzinfo else ts.tz_localize("UTC").to_pydatetime())


def write_labels(table: pd.DataFrame, path: str | Path) -> Path:
    """``labels_from_review(table)`` as ``labels.json``, checked by the loader ``evaluate``/``tune`` use."""
    labels = labels_from_review(table)
    load_labels(labels)  # what tune will read: refuse to write anything it would not
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(labels, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


# -- the widget ---------------------------------------------------------------------------------

class ReviewWidget:
    """Walk through the alerts one at a time: *Real trend*, *Same trend as the previous*, *Not a
    trend* (each moves on), *Back* / *Skip*; *Write labels* writes ``labels.json`` (and the review
    CSV next to it). ``widget.table`` holds the judgements so far."""

    def __init__(self, table: pd.DataFrame, save_to: str | Path = "labels.json") -> None:
        import ipywidgets as W

        self.table = table.copy().reset_index(drop=True)
        self.save_to = Path(save_to)
        self.position = 0
        self.card = W.HTML()
        self.card.add_class("trendlab-review-card")
        buttons = [
            ("Real trend", "success", "trendlab-real", lambda: self.judge(True)),
            ("Same trend as previous", "info", "trendlab-same", lambda: self.judge(True, merge=True)),
            ("Not a trend", "danger", "trendlab-not", lambda: self.judge(False)),
            ("◀ Back", "", "trendlab-back", lambda: self.go(self.position - 1)),
            ("Skip ▶", "", "trendlab-skip", lambda: self.go(self.position + 1)),
        ]
        self.buttons = []
        for text, style, cls, action in buttons:
            b = W.Button(description=text, button_style=style, layout=W.Layout(width="auto"))
            b.add_class(cls)
            b.on_click(lambda _b, act=action: act())
            self.buttons.append(b)
        self.write_button = W.Button(description="Write labels", icon="save", button_style="primary")
        self.write_button.add_class("trendlab-write-labels")
        self.write_button.on_click(lambda _b: self.write())
        self.status = W.HTML()
        self.status.add_class("trendlab-review-status")
        self.widget = W.VBox([self.card, W.HBox(self.buttons), W.HBox([self.write_button, self.status])])
        self.widget.add_class("trendlab-review")
        self._show()

    def judge(self, real: bool, merge: bool = False) -> None:
        """Judge the alert shown and move to the next. ``merge``: it belongs to the trend of the
        previous alert judged real."""
        if not len(self.table):
            return
        i = self.position
        self.table.loc[i, "verdict"] = "yes" if real else "no"
        trend = ""
        if real and merge:
            earlier = self.table.iloc[:i]
            earlier = earlier[earlier["verdict"] == "yes"]
            if len(earlier):
                last = earlier.iloc[-1]
                trend = last["trend"] or last["alert"]
        if real:
            self.table.loc[i, "trend"] = trend
        self.go(i + 1)

    def go(self, position: int) -> None:
        self.position = max(0, min(position, len(self.table) - 1))
        self._show()

    def write(self, path: str | Path | None = None) -> Path:
        path = Path(path) if path is not None else self.save_to
        try:
            written = write_labels(self.table, path)
        except ValueError as exc:
            self.status.value = f"<span style='color:#d62728'>{html.escape(str(exc))}</span>"
            raise
        write_review(self.table, path.with_suffix(".review.csv"))
        labels = labels_from_review(self.table)
        self.status.value = (f"<span style='color:#2ca02c'>wrote {html.escape(path.name)}: "
                             f"{len(labels['trends'])} trends, {len(labels['decoys'])} decoys</span>")
        return written

    def _show(self) -> None:
        if not len(self.table):
            self.card.value = "<p>No alerts to review.</p>"
            return
        r = self.table.iloc[self.position]
        judged = int((self.table["verdict"].astype(str).str.strip() != "").sum())
        verdict = {"yes": "real trend" + (f" (trend {r['trend']})" if r["trend"] else ""), "no": "not a trend"}.get(
            str(r["verdict"]).strip().lower(), "not judged yet")
        examples = [e for e in str(r["examples"]).split(EXAMPLE_SEPARATOR) if e]
        related = f" <span style='color:#555'>(+ {html.escape(r['related_keywords'])})</span>" if r["related_keywords"] else ""
        self.card.value = (
            f"<div style='border:1px solid #ddd;padding:8px 12px;border-radius:6px;max-width:900px'>"
            f"<div style='color:#555'>alert {self.position + 1} of {len(self.table)} · {judged} judged · "
            f"<span class='trendlab-verdict'>{html.escape(verdict)}</span></div>"
            f"<h3 style='margin:4px 0'>{html.escape(r['keyword'])}{related}</h3>"
            f"<div>window {html.escape(str(r['window_start']))} – {html.escape(str(r['window_end']))}: "
            f"<b>{r['count']}</b> posts by {r['authors']} authors, baseline {r['baseline']}, score {r['score']}</div>"
            "<ul style='margin:6px 0'>" + "".join(f"<li>{html.escape(e)}</li>" for e in examples) + "</ul></div>"
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["text/html"] = self.card.value  # nbconvert/GitHub: the first alert, as a static card
        bundle["text/plain"] = f"ReviewWidget: {len(self.table)} alerts to review"
        return bundle


def review_stream(source: str | Path, alerts_path: str | Path | None = None, params=None,
                  examples: int = 3, workers: int | None = None) -> pd.DataFrame:
    """The review table of a stream file: its alerts (from ``alerts_path``, or a replay with
    ``params`` now) with example posts."""
    from trendlab.replay import load_stream, read_alerts, replay_occurrences
    from trendlab.params_files import load_params

    posts, occ = load_stream(source, workers=workers)
    if alerts_path is not None:
        alerts = read_alerts(alerts_path)
    else:
        p = params if not isinstance(params, (str, Path, type(None))) else load_params(params)
        alerts = replay_occurrences(occ, p, with_counts=False).alerts
    return review_table(alerts, posts, occ, examples)
