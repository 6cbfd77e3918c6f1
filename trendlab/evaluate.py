"""How good are the alerts? Precision, recall and latency against labelled bursts.

Labels (``labels.json``, :mod:`trendlab.labels`) hold trend groups — keywords that burst
together between ``start`` and ``end`` — and decoys that must not alert.

An alert *mentions* its keyword and its related keywords. An alert matches a trend group when it
mentions one of the group's keywords and its window ends within ``[start, end + window]`` (a window
ending after the burst still contains burst posts).

* ``recall``: share of trend groups matched by at least one alert.
* ``keyword_precision``: share of mentioned keywords (over all alerts) that match a trend group.
* ``latency``: per detected group, first matching alert's ``window_end`` minus the group's ``start``;
  reported as median and p90, in seconds and in slides.
* ``false_alerts_per_hour``: alerts that match no trend group, per hour of stream.
* ``decoy_alerts``: alerts that mention a decoy keyword (at any time).

:class:`Targets` says what "good enough" means (by default: recall >= 0.9, keyword precision >= 0.9,
no decoy alert, median latency <= 2 slides) and :meth:`Evaluation.meets` checks a stream against it.
:func:`pool` adds up the evaluations of several streams (recall over all their trend groups,
precision over all their mentions, the median over all their latencies).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from trendlab.labels import Labels, TrendLabel, load_labels
from trendlab.core.models import TrendAlert
from trendlab.core.windows import WindowSpec

__all__ = ["Labels", "TrendLabel", "Evaluation", "Targets", "TARGETS", "evaluate", "load_labels", "pool"]


@dataclass(frozen=True)
class Targets:
    """The bars a parameter set must clear on a stream."""

    recall: float = 0.9
    keyword_precision: float = 0.9
    decoy_alerts: int = 0
    latency_median_slides: float = 2.0

    def misses(self, ev: Evaluation) -> list[str]:
        """The targets ``ev`` misses, as short phrases (empty when it meets them all)."""
        out = []
        if ev.recall < self.recall:
            out.append(f"recall {ev.recall:.2f} < {self.recall:g}")
        if ev.keyword_precision < self.keyword_precision:
            out.append(f"precision {ev.keyword_precision:.2f} < {self.keyword_precision:g}")
        if ev.decoy_alerts > self.decoy_alerts:
            out.append(f"{ev.decoy_alerts} decoy alerts")
        lat = ev.latency_median_slides
        if lat is None or lat > self.latency_median_slides:
            out.append("no latency" if lat is None else f"latency {lat:.1f} > {self.latency_median_slides:g} slides")
        return out

    def verdict(self, ev: Evaluation) -> str:
        """``"targets met"``, or the misses joined by ``; ``."""
        return "; ".join(self.misses(ev)) or "targets met"


TARGETS = Targets()


@dataclass
class Evaluation:
    trends: int
    detected: int
    recall: float
    alerts: int
    keyword_precision: float
    latency_median_s: float | None
    latency_p90_s: float | None
    latency_median_slides: float | None
    latency_p90_slides: float | None
    false_alerts: int
    false_alerts_per_hour: float
    decoy_alerts: int
    mentions: int = 0
    matched_mentions: int = 0
    hours: float = float("nan")
    slide_ms: int = 60_000
    per_trend: list[dict[str, Any]] = field(default_factory=list)
    #: of the keywords an alert about a labelled trend names (its keyword + related), the share that
    #: belong to that one trend (1.0: no unrelated word attached, no two trends merged)
    grouping: float = 1.0
    trend_mentions: int = 0
    grouped_mentions: int = 0
    stories: int = 0  # labelled trends some alert is about
    story_rows: int = 0  # the board's trends about them (one each is perfect grouping)

    def meets(self, targets: Targets = TARGETS) -> bool:
        return not targets.misses(self)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        """The whole evaluation as JSON: UTF-8 keywords as they are, numbers rounded to 4 digits."""
        return json.dumps(_rounded(self.to_dict()), indent=2, default=str, ensure_ascii=False)

    def summary(self) -> str:
        """A few lines for a person: the figures and the trends missed."""
        lat = ("n/a" if self.latency_median_slides is None else
               f"{self.latency_median_slides:.1f} slides ({self.latency_median_s:.0f} s), "
               f"p90 {self.latency_p90_slides:.1f} slides")
        lines = [
            f"recall             {self.recall:.2f}  ({self.detected} of {self.trends} labelled trends detected)",
            f"keyword precision  {self.keyword_precision:.2f}  ({self.matched_mentions} of {self.mentions} "
            f"keywords in {self.alerts} alerts belong to a labelled trend)",
            f"grouping           {self.grouping:.2f}  ({self.grouped_mentions} of {self.trend_mentions} keywords "
            f"of alerts about a trend belong to that trend; {self.stories} trends in {self.story_rows} rows)",
            f"median latency     {lat}",
            f"false alerts       {self.false_alerts} ({self.false_alerts_per_hour:.2f} per hour)",
            f"decoy alerts       {self.decoy_alerts}",
        ]
        missed = [t for t in self.per_trend if not t["detected"]]
        if missed:
            lines.append("missed: " + "; ".join(f"{t['id']} ({', '.join(t['keywords'][:3])})" for t in missed))
        lines.append(f"targets: {TARGETS.verdict(self)}")
        return "\n".join(lines)

    @property
    def objective(self) -> tuple:
        """What tuning maximises: no decoys, then recall, precision, low latency, few false alerts."""
        latency = self.latency_median_s if self.latency_median_s is not None else 1e9
        return (
            -self.decoy_alerts,
            round(self.recall, 6),
            round(min(self.keyword_precision, 0.95), 6),
            -round(self.false_alerts_per_hour, 3),
            -latency,
        )


def _rounded(value: Any, digits: int = 4) -> Any:
    if isinstance(value, float):
        return round(value, digits) if value == value else None
    if isinstance(value, dict):
        return {k: _rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v, digits) for v in value]
    return value


def _mentions(alert: TrendAlert) -> list[str]:
    return [alert.keyword, *alert.related_keywords]


def _belongs(keyword: str, label: TrendLabel) -> bool:
    """A keyword is about a labelled trend when it is one of its keywords or phrases, or a phrase made
    of its keywords ("war plans" for a trend labelled with "war" and "plans")."""
    if keyword in label.keywords or keyword in label.phrases:
        return True
    words = keyword.split(" ")
    return len(words) > 1 and all(w in label.keywords for w in words)


def evaluate(
    alerts: Iterable[TrendAlert],
    labels: Labels,
    window_ms: int = WindowSpec().window_ms,
    slide_ms: int = WindowSpec().slide_ms,
    hours: float | None = None,
) -> Evaluation:
    alerts = sorted(alerts, key=lambda a: (a.window_end, a.keyword))
    grace_s = window_ms / 1000
    trend_first: dict[str, datetime] = {}
    matched_mentions = 0
    total_mentions = 0
    false_alerts = 0
    decoy_words = {k for d in labels.decoys for k in d.keywords}
    decoy_alerts = 0
    trend_mentions = grouped_mentions = 0
    rows_of: dict[str, set[str]] = {}  # labelled trend -> the trends (rows of the board) that are about it
    for alert in alerts:
        mentions = _mentions(alert)
        total_mentions += len(mentions)
        matched_any = False
        per_label: dict[str, int] = {}
        for kw in mentions:
            hit = False
            for t in labels.trends:
                if _belongs(kw, t) and t.start <= alert.window_end and (
                    (alert.window_end - t.end).total_seconds() <= grace_s
                ):
                    hit = True
                    trend_first.setdefault(t.id, alert.window_end)
                    per_label[t.id] = per_label.get(t.id, 0) + 1
            matched_mentions += hit
            matched_any |= hit
        if not matched_any:
            false_alerts += 1
        else:  # grouping: how many of the alert's keywords belong to the one trend it is about
            trend_mentions += len(mentions)
            grouped_mentions += max(per_label.values())
            about = max(per_label, key=per_label.get)
            rows_of.setdefault(about, set()).add(alert.trend or alert.keyword)
        if decoy_words.intersection(mentions):
            decoy_alerts += 1
    latencies = np.array(
        [(trend_first[t.id] - t.start).total_seconds() for t in labels.trends if t.id in trend_first], dtype=float
    )
    hours = hours if hours is not None else labels.hours
    per_trend = [
        {
            "id": t.id,
            "kind": t.kind,
            "keywords": list(t.keywords),
            "detected": t.id in trend_first,
            "latency_s": (trend_first[t.id] - t.start).total_seconds() if t.id in trend_first else None,
        }
        for t in labels.trends
    ]
    return _evaluation(len(labels.trends), len(trend_first), len(alerts), total_mentions, matched_mentions,
                       latencies, false_alerts, decoy_alerts, hours, slide_ms, per_trend,
                       trend_mentions, grouped_mentions, len(rows_of), sum(len(r) for r in rows_of.values()))


def _evaluation(trends: int, detected: int, alerts: int, mentions: int, matched: int, latencies: np.ndarray,
                false_alerts: int, decoy_alerts: int, hours: float, slide_ms: int,
                per_trend: list[dict[str, Any]], trend_mentions: int = 0, grouped_mentions: int = 0,
                stories: int = 0, story_rows: int = 0) -> Evaluation:
    def stat(q: float) -> float | None:
        return float(np.percentile(latencies, q)) if latencies.size else None

    median, p90 = stat(50), stat(90)
    return Evaluation(
        trends=trends,
        detected=detected,
        recall=detected / trends if trends else 1.0,
        alerts=alerts,
        keyword_precision=matched / mentions if mentions else 1.0,
        latency_median_s=median,
        latency_p90_s=p90,
        latency_median_slides=median / (slide_ms / 1000) if median is not None else None,
        latency_p90_slides=p90 / (slide_ms / 1000) if p90 is not None else None,
        false_alerts=false_alerts,
        false_alerts_per_hour=false_alerts / hours if hours and hours == hours and hours > 0 else float(false_alerts),
        decoy_alerts=decoy_alerts,
        mentions=mentions,
        matched_mentions=matched,
        hours=hours,
        slide_ms=slide_ms,
        per_trend=per_trend,
        # the alerts' keywords that belong to the trend they are about, times one row per story (a story
        # split over two trends of the board counts half)
        grouping=(grouped_mentions / trend_mentions if trend_mentions else 1.0)
        * (stories / story_rows if story_rows else 1.0),
        trend_mentions=trend_mentions,
        grouped_mentions=grouped_mentions,
        stories=stories,
        story_rows=story_rows,
    )


def pool(evaluations: Iterable[Evaluation]) -> Evaluation:
    """Several streams' evaluations as one: sums of trends, detections, alerts, mentions, false and
    decoy alerts and hours; latency percentiles over every detected trend of every stream."""
    evs = list(evaluations)
    if not evs:
        raise ValueError("pool() needs at least one evaluation")
    per_trend = [t for ev in evs for t in ev.per_trend]
    latencies = np.array([t["latency_s"] for t in per_trend if t["latency_s"] is not None], dtype=float)
    return _evaluation(
        sum(ev.trends for ev in evs), sum(ev.detected for ev in evs), sum(ev.alerts for ev in evs),
        sum(ev.mentions for ev in evs), sum(ev.matched_mentions for ev in evs), latencies,
        sum(ev.false_alerts for ev in evs), sum(ev.decoy_alerts for ev in evs),
        sum(ev.hours for ev in evs), evs[0].slide_ms, per_trend,
        sum(ev.trend_mentions for ev in evs), sum(ev.grouped_mentions for ev in evs),
        sum(ev.stories for ev in evs), sum(ev.story_rows for ev in evs),
    )
