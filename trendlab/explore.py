"""Small data helpers for the notebooks: tables a chart (``trendlab.plots``) or a reader looks at.

Every function takes what the library already produces — a :class:`~trendlab.replay.PostTable`,
:class:`~trendlab.replay.Occurrences`, :class:`~trendlab.labels.Labels`, window counts and alerts —
and returns a tidy ``pandas.DataFrame``; none of them draws.

* the stream: :func:`posts_frame`, :func:`posts_per_minute`, :func:`language_shares`, :func:`top_keywords`
* the labels: :func:`labels_frame`
* the outputs of a run (replay or the Flink job): :func:`read_counts`, :func:`read_alerts_frame`,
  :func:`top_trends`, :func:`count_vs_baseline`
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import orjson
import pandas as pd

from trendlab.core.detect import DetectionParams, dense_baseline, phrase_chance, phrase_words
from trendlab.errors import InputError, MissingFile
from trendlab.labels import Labels
from trendlab.replay import COUNT_COLUMNS, Occurrences, PostTable, alerts_to_frame, read_alerts

__all__ = [
    "posts_frame",
    "posts_per_minute",
    "language_shares",
    "top_keywords",
    "labels_frame",
    "read_counts",
    "read_alerts_frame",
    "top_trends",
    "trend_rows",
    "count_vs_baseline",
    "keyword_series",
    "keywords_to_watch",
    "alerts_from_records",
    "compare_runs",
]

UNKNOWN_LANGUAGE = "(none)"
OTHER_LANGUAGES = "other"


# -- the stream ---------------------------------------------------------------------------------

def posts_frame(table: PostTable) -> pd.DataFrame:
    """One row per post: ``time`` (UTC), ``author``, ``language`` (first of ``langs``), ``text``."""
    return pd.DataFrame(
        {
            "time": pd.to_datetime(table.event_ms, unit="ms", utc=True),
            "author": table.author,
            "language": [langs[0] if langs else UNKNOWN_LANGUAGE for langs in table.langs],
            "text": table.text,
        }
    )


def posts_per_minute(table: PostTable, by_language: bool = False, top_languages: int = 5) -> pd.DataFrame:
    """Posts per event-time minute: ``minute, posts`` (plus ``language`` when ``by_language``).

    Minutes without posts are present with 0, so gaps in the stream show as gaps in the chart.
    """
    frame = posts_frame(table)
    if frame.empty:
        return pd.DataFrame(columns=["minute", "posts"] + (["language"] if by_language else []))
    frame["minute"] = frame["time"].dt.floor("min")
    minutes = pd.date_range(frame["minute"].min(), frame["minute"].max(), freq="min")
    if not by_language:
        counts = frame.groupby("minute").size().reindex(minutes, fill_value=0)
        return pd.DataFrame({"minute": minutes, "posts": counts.to_numpy()})
    keep = set(language_shares(table, top=top_languages)["language"]) - {OTHER_LANGUAGES}
    frame["language"] = frame["language"].where(frame["language"].isin(keep), OTHER_LANGUAGES)
    grid = pd.MultiIndex.from_product([minutes, sorted(frame["language"].unique())], names=["minute", "language"])
    counts = frame.groupby(["minute", "language"]).size().reindex(grid, fill_value=0)
    return counts.rename("posts").reset_index()


def language_shares(table: PostTable, top: int = 8) -> pd.DataFrame:
    """``language, posts, share`` for the ``top`` languages; the rest are summed as ``other``."""
    frame = posts_frame(table)
    counts = frame["language"].value_counts()
    head, tail = counts.iloc[:top], counts.iloc[top:]
    rows = list(head.items())
    if tail.sum():
        rows.append((OTHER_LANGUAGES, int(tail.sum())))
    out = pd.DataFrame(rows, columns=["language", "posts"])
    total = out["posts"].sum()
    out["share"] = out["posts"] / total if total else 0.0
    return out


def top_keywords(occ: Occurrences, n: int = 20, hashtags: bool | None = None) -> pd.DataFrame:
    """The ``n`` keywords in most posts: ``keyword, posts, authors``.

    ``hashtags=True`` keeps only hashtags (keywords starting with ``#``), ``False`` drops them,
    ``None`` keeps both.
    """
    if len(occ) == 0:
        return pd.DataFrame(columns=["keyword", "posts", "authors"])
    frame = pd.DataFrame({"code": occ.keyword_code, "author": occ.author_code})
    stats = frame.groupby("code").agg(posts=("code", "size"), authors=("author", "nunique")).reset_index()
    stats["keyword"] = occ.keywords[stats["code"].to_numpy()]
    if hashtags is not None:
        is_tag = stats["keyword"].str.startswith("#")
        stats = stats[is_tag if hashtags else ~is_tag]
    stats = stats.sort_values(["posts", "keyword"], ascending=[False, True]).head(n)
    return stats[["keyword", "posts", "authors"]].reset_index(drop=True)


# -- the labels ---------------------------------------------------------------------------------

def stream_files(sample_dir: str | Path, input_path: str | Path | None = None) -> tuple[Path, Path | None]:
    """The posts file and its labels (``None`` when there are none yet) that notebook 01 explores:
    ``sample_dir``'s ``posts.jsonl`` and ``labels.json``, or a recorded file (``trendlab jetstream
    record``) with the ``labels.json`` beside it, if any."""
    if input_path:
        posts = Path(input_path)
        labels = posts.parent / "labels.json"
    else:
        posts, labels = Path(sample_dir) / "posts.jsonl", Path(sample_dir) / "labels.json"
    return posts, labels if labels.exists() else None


def labels_table(labels_path: str | Path | None) -> pd.DataFrame:
    """:func:`labels_frame` of a labels file; an empty table when there is none (an unlabelled recording)."""
    if labels_path is None:
        return labels_frame(Labels([], []))
    from trendlab.labels import load_labels

    return labels_frame(load_labels(labels_path))


def labels_frame(labels: Labels) -> pd.DataFrame:
    """One row per labelled burst or decoy: ``id, label (trend|decoy), kind, language, keywords, start, end``."""
    rows = []
    for label_kind, items in (("trend", labels.trends), ("decoy", labels.decoys)):
        for item in items:
            rows.append(
                {
                    "id": item.id,
                    "label": label_kind,
                    "kind": item.kind,
                    "language": item.language or "",
                    "keywords": ", ".join(item.keywords),
                    "start": pd.Timestamp(item.start),
                    "end": pd.Timestamp(item.end),
                }
            )
    columns = ["id", "label", "kind", "language", "keywords", "start", "end"]
    return pd.DataFrame(rows, columns=columns)


# -- outputs of a run ---------------------------------------------------------------------------

def read_counts(path: str | Path) -> pd.DataFrame:
    """Window counts from ``counts.parquet`` (replay) or ``counts.jsonl`` (Flink job, Kafka dump)."""
    path = Path(path)
    if not path.exists():
        raise MissingFile(f"counts file not found: {path}")
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
    else:
        rows = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
        frame = pd.DataFrame(rows, columns=COUNT_COLUMNS) if rows else pd.DataFrame(columns=COUNT_COLUMNS)
    return counts_from_records(frame)


def counts_from_records(frame: pd.DataFrame | Iterable[dict]) -> pd.DataFrame:
    """Any table of window counts (e.g. ``WindowedKeywordCount`` JSON) → the public counts frame."""
    frame = pd.DataFrame(frame)
    if frame.empty:
        frame = pd.DataFrame(columns=COUNT_COLUMNS)
    missing = [c for c in COUNT_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"window counts lack the column {missing[0]!r}")
    frame = frame[COUNT_COLUMNS].copy()
    for col in ("window_start", "window_end"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    for col in ("count", "unique_authors"):
        frame[col] = frame[col].astype("int64")
    return frame.sort_values(["window_end", "keyword"]).reset_index(drop=True)


def read_alerts_frame(path: str | Path) -> pd.DataFrame:
    """``alerts.jsonl`` (TrendAlert JSON lines, from replay or the Flink job) → a frame."""
    return alerts_to_frame(read_alerts(path))


def trend_rows(alerts: pd.DataFrame) -> pd.DataFrame:
    """One row per trend: alerts that name the same trend (the detector's ``trend``: the keyword that
    opened it) and follow each other within three window lengths are one trend. ``window_end`` is its
    first alert's, ``keyword`` the trend's, ``name`` how it is shown (the ``display_name`` of its
    latest alert that names a phrase, else of its latest alert), ``related`` every other keyword of its
    alerts, ``posts``, ``authors`` and ``score`` the strongest alert's, ``alerts`` how many alerts it raised."""
    columns = ["window_end", "name", "keyword", "related", "posts", "authors", "baseline", "score", "alerts"]
    if alerts.empty:
        return pd.DataFrame(columns=columns)
    data = alerts.sort_values(["window_end", "keyword"]).reset_index(drop=True)
    name = data["trend"].where(data["trend"].notna() & (data["trend"] != ""), data["keyword"])
    gap = 3 * (data["window_end"] - data["window_start"])
    rows: list[dict] = []
    open_rows: dict[str, dict] = {}
    for i, a in enumerate(data.itertuples()):
        key = name.iloc[i]
        row = open_rows.get(key)
        if row is None or a.window_end - row["_last"] > gap.iloc[i]:
            row = {"window_end": a.window_end, "keyword": key, "_words": [], "posts": 0, "authors": 0,
                   "baseline": a.baseline, "score": -np.inf, "alerts": 0, "_last": a.window_end, "name": key,
                   "_topic": ""}
            rows.append(row)
            open_rows[key] = row
        row["_words"] += [a.keyword, *(a.related_keywords if isinstance(a.related_keywords, (list, tuple)) else [])]
        row["alerts"] += 1
        row["_last"] = a.window_end
        topic = getattr(a, "topic", None)
        if isinstance(topic, str) and topic and (" " in topic or " " not in row["_topic"]):
            shown = getattr(a, "display_name", None)
            row["_topic"], row["name"] = topic, shown if isinstance(shown, str) and shown else topic
        if a.score > row["score"]:
            row.update(posts=a.count, authors=a.unique_authors, baseline=a.baseline, score=a.score)
    out = pd.DataFrame(rows)
    out["related"] = [", ".join(w for w in dict.fromkeys(r["_words"]) if w != r["keyword"]) for r in rows]
    return out[columns]


def top_trends(alerts: pd.DataFrame, n: int = 15) -> pd.DataFrame:
    """The ``n`` strongest trends, one row each (:func:`trend_rows`), for a table: when, keyword (+ every
    related keyword), posts, authors, baseline, score, alerts."""
    rows = trend_rows(alerts)
    if rows.empty:
        return rows
    top = rows.sort_values(["score", "window_end"], ascending=[False, True]).head(n)
    return top.assign(window_end=top["window_end"].dt.strftime("%Y-%m-%d %H:%M"), baseline=top["baseline"].round(2),
                      score=top["score"].round(2)).reset_index(drop=True)


def keywords_to_watch(alerts: pd.DataFrame, n: int = 4) -> list[str]:
    """Keywords of the ``n`` strongest alerts (distinct), for count-vs-baseline charts."""
    if alerts.empty:
        return []
    ordered = alerts.sort_values("score", ascending=False)["keyword"]
    return list(dict.fromkeys(ordered))[:n]


def count_vs_baseline(counts: pd.DataFrame, keyword: str, params: DetectionParams,
                      volume: pd.DataFrame | None = None) -> pd.DataFrame:
    """One keyword's window counts next to its baseline, window end by window end.

    ``window_end, count, unique_authors, baseline, threshold``: every window end of the stream (the
    keyword's missing windows count 0); ``baseline`` is the detector's (:mod:`trendlab.core.detect`) when
    the stream's ``volume`` is given (``ReplayResult.volume``: its expected count, the keyword's share
    of its baseline windows' posts times the window's posts), else the mean count over the
    ``baseline_windows`` most recent windows that do not overlap the current one; ``NaN`` until the
    stream is warm; ``threshold`` is the count the ratio test needs,
    ``min_ratio * max(baseline, baseline_floor)`` (the score, author and content tests come on top).
    A phrase's baseline is at least its words' chance of meeting (:func:`trendlab.core.detect.phrase_chance`)
    when ``volume`` is given and each of its words is a keyword of ``counts``.
    """
    spec = params.spec
    slide = spec.slide_ms
    ends_all = counts["window_end"]
    if ends_all.empty:
        return pd.DataFrame(columns=["window_end", "count", "unique_authors", "baseline", "threshold"])
    epoch = pd.Timestamp(0, tz="UTC")
    slot = lambda s: ((s - epoch) // pd.Timedelta(milliseconds=slide)).to_numpy(dtype=np.int64)  # noqa: E731
    first, last = int(slot(ends_all).min()), int(slot(ends_all).max())
    slots = np.arange(first, last + 1)

    def series(kw: str) -> tuple[np.ndarray, np.ndarray] | None:
        mine = counts[counts["keyword"] == kw]
        if mine.empty:
            return None
        dense = np.zeros(slots.size, dtype=np.int64)
        authors = np.zeros(slots.size, dtype=np.int64)
        idx = slot(mine["window_end"]) - first
        dense[idx] = mine["count"].to_numpy()
        authors[idx] = mine["unique_authors"].to_numpy()
        return dense, authors

    return keyword_series(slots, keyword, series, params, volume)


def keyword_series(slots: np.ndarray, keyword: str,
                   series: Callable[[str], tuple[np.ndarray, np.ndarray] | None], params: DetectionParams,
                   volume: pd.DataFrame | None = None) -> pd.DataFrame:
    """One keyword at consecutive window end ``slots`` (from the stream's first) → ``window_end, count,
    unique_authors, baseline, threshold`` (see :func:`count_vs_baseline`). ``series(keyword)``: a
    keyword's dense counts and authors at ``slots``, ``None`` when it is no keyword (a phrase's words are
    read through it too); ``volume``: ``end_slot, volume``, posts per window."""
    slide = params.spec.slide_ms
    dense, authors = series(keyword) or (np.zeros(slots.size, dtype=np.int64), np.zeros(slots.size, dtype=np.int64))
    if volume is None:
        baseline = dense_baseline(dense, params)
    else:
        from trendlab.core.detect import _baseline_columns, _column_sums, expected_counts

        posts = np.zeros(slots.size, dtype=np.int64)
        at = volume["end_slot"].to_numpy(dtype=np.int64) - slots[0]
        inside = (at >= 0) & (at < slots.size)
        posts[at[inside]] = volume["volume"].to_numpy(dtype=np.int64)[inside]
        lo, hi = _baseline_columns(posts, slots, params)
        base_posts = _column_sums(posts, lo, hi)
        baseline = expected_counts(_column_sums(dense, lo, hi), base_posts, posts)
        words = [series(w) for w in phrase_words(keyword) or ()]
        if words and all(w is not None for w in words):  # a phrase whose words are keywords: their chance
            chance = phrase_chance([expected_counts(_column_sums(w[0], lo, hi), base_posts, posts) for w in words],
                                   posts)
            baseline = np.maximum(baseline, chance)
    warm = np.arange(slots.size) >= params.warmup_windows()
    baseline = np.where(warm, baseline, np.nan)
    return pd.DataFrame(
        {
            "window_end": pd.to_datetime(slots * slide, unit="ms", utc=True),
            "count": dense,
            "unique_authors": authors,
            "baseline": baseline,
            "threshold": params.min_ratio * np.maximum(baseline, params.baseline_floor),
        }
    )


def alerts_from_records(records: Iterable[dict]) -> pd.DataFrame:
    """TrendAlert JSON objects (e.g. consumed from the alerts topic) → the alerts frame."""
    from trendlab.core.models import TrendAlert

    return alerts_to_frame(TrendAlert.from_dict(r) for r in records)


def compare_runs(counts_a: pd.DataFrame, alerts_a: pd.DataFrame, counts_b: pd.DataFrame, alerts_b: pd.DataFrame,
                 names: tuple[str, str] = ("replay", "flink")) -> pd.DataFrame:
    """Do two engines agree? Window counts and alerts of run *a* against run *b*, side by side.

    One row per output (``window counts``, ``trend alerts``): rows in each, rows in both with equal
    values, and rows only in one of them. Both engines implement one semantics, so on the same posts
    and parameters every ``only in`` column should be 0.
    """
    def keyed(frame: pd.DataFrame, cols: list[str]) -> set[tuple]:
        if frame.empty:
            return set()
        data = frame[cols].copy()
        for c in ("window_start", "window_end"):
            if c in data:
                data[c] = pd.to_datetime(data[c], utc=True)
        if "score" in data:
            data["score"] = data["score"].astype(float).round(4)
        return set(data.itertuples(index=False, name=None))

    rows = []
    for what, a, b, cols in (
        ("window counts", counts_a, counts_b, COUNT_COLUMNS),
        ("trend alerts", alerts_a, alerts_b, ["keyword", "window_end", "count", "unique_authors", "score"]),
    ):
        ka, kb = keyed(a, cols), keyed(b, cols)
        rows.append({"output": what, names[0]: len(ka), names[1]: len(kb), "equal": len(ka & kb),
                     f"only in {names[0]}": len(ka - kb), f"only in {names[1]}": len(kb - ka)})
    return pd.DataFrame(rows)
