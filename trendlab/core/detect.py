"""When a keyword trends: per-keyword burst detection over sliding-window counts.

The method
----------
Every keyword is compared with **its own baseline**, never with other keywords, in proportion to the
stream. For the window with end slot ``e`` (``window_end = e * slide``), with ``n = window / slide``
windows per instant:

``volume``
    the window's distinct authors (:func:`trendlab.core.windows.window_volume`: every post counts, with
    keywords or without; one account posting hundreds of times is one).
baseline windows
    the last ``baseline_windows`` windows *with posts* that end at or before ``e - n`` (so they do not
    overlap the current one and a burst cannot raise its own baseline), reaching back over windows
    without any — a capture gap is missing data, not zeros — to ``2 * baseline_windows`` windows at
    most (:meth:`TrendDetector._base_slots`).
``expected``
    the keyword's posts per author of its baseline windows times the current window's volume
    (:func:`expected_counts`): a stream-wide bump (bots on the hour) raises every expectation alike,
    and the return of traffic after a gap is no surge. A phrase's is at least its words' chance of
    meeting in the window's posts (:func:`phrase_chance`).
``lam``
    ``max(expected, baseline_floor)``: a keyword never seen before is compared with a small floor.
``score``
    how surprising ``count`` is for a Poisson count with mean ``lam``, as a z-score: the signed root of
    the Poisson deviance with a continuity correction (:func:`poisson_z`). Its tail matches the exact
    Poisson tail ``P(X >= count)`` to within 0.2 from ``lam = 0.5`` up and 0.25 at ``lam = 0.2``
    (always on the safe side), so one bar means the same false-alarm odds for a new hashtag seen 7 times
    and for a common word seen 500 times.

A window is **hot** for a keyword when all of these hold (:func:`hot_scores`):

* the stream is warm: the baseline is made of full windows of stream, and holds posts;
* ``count >= min_count`` (a few posts are never a trend);
* ``unique_authors >= min_authors`` (one author spamming is not a trend);
* ``count >= min_ratio * lam`` (steady high-volume words and hashtags do not alert on noise);
* ``score`` reaches the window's bar, :func:`score_threshold`: the z whose upper tail is
  ``false_alarm_rate / keywords in the window`` and never below ``min_score`` — a window of the
  firehose tests 500,000 keywords, a filtered feed's 50, and both have the same odds of a false alarm;
* the rise is made of distinct contents: ``unique_contents - expected contents >= min_distinct * (count
  - expected)`` (:mod:`trendlab.core.content`): a campaign of a hundred accounts posting one template, or
  reply spam, rises by hundreds of posts and a handful of contents.

**Templates:** a group of keywords opening together in which :data:`TEMPLATE_WORDS` single words or
more are held by exactly the same posts (equal counts, every sketch minimum equal) is a template, a
copy-paste campaign at its start, and raises no alert. People writing their own words about one
story share its name (two or three words), never a paragraph; a campaign's posts share every word
its template does not swap. This is what the distinct-contents test cannot see in a campaign's first
window, where a handful of posts can still hold several content keys.

**Episodes:** the first hot window of a keyword raises an alert; it stays in its episode while it keeps
being hot, and alerts again only after ``cooldown_windows`` windows without being hot. One burst is
one alert.

**Trends:** two keywords are *linked* when they appear in the same posts — at least
``group_cooccurrence`` of the smaller one's posts in the window hold the other, estimated from the
two keywords' post sketches (:mod:`trendlab.core.cooccur`) — **and** they rise by comparable amounts: the
smaller rise over its expectation is at least ``group_share`` of the larger. Keywords that start an
episode in the same window and are linked (directly or through each other) are one
:class:`~trendlab.core.models.TrendAlert`: the highest score is the alert's keyword, the others its
``related_keywords``. A keyword that starts its episode later joins the still-going trend (one of its
keywords still in its episode) it shares the most posts with, never two: its alert names the
trend in ``trend``, the keyword that opened it, so grouping alerts by ``trend`` shows one row per
trend, and trends do not chain. A trend lists at most :data:`MAX_TREND_KEYWORDS` keywords, its own,
the alert's first and then by posts shared; ``topic`` is its phrase with the most posts, else its
keyword. A hot keyword that goes with one rising more than ``1 / group_share`` times as much (shared
posts, or a series of its rate that follows it: :data:`CARRIED_CORRELATION`, where the sketches are too coarse
to see the shared posts: :data:`SKETCH_BLIND_RATIO`) is *carried* by that trend's
posts: it starts its episode without an alert and joins nothing. The sketches arrive with each
window's rows, so the job keeps no post-level state.

Both engines use this module: the replay engine evaluates the hot test on whole count matrices
(:func:`detect_frame`), the Flink job feeds one window at a time to :class:`TrendDetector`. Both call
:func:`hot_scores` and :meth:`TrendDetector._open_episodes`, so they agree alert for alert.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
import yaml

from trendlab.core.content import MIN_KEYWORDS, is_word
from trendlab.core.cooccur import SKETCH_SIZE, ReplaySketches, shared_shares
from trendlab.core.langtags import language_shares
from trendlab.core.links import is_link
from trendlab.core.models import TrendAlert, WindowedKeywordCount
from trendlab.errors import ConfigError
from trendlab.core.windows import (
    DEFAULT_SLIDE, DEFAULT_WINDOW, WindowSpec, check_memory, format_duration, parse_duration, short_range,
)


__all__ = ["DetectionParams", "TrendDetector", "hot_scores", "poisson_z", "score_threshold",
           "expected_counts", "phrase_chance", "dense_baseline", "detect_frame"]


@dataclass(frozen=True)
class DetectionParams:
    """Window shape and detection thresholds: everything ``trendlab tune`` chooses.

    Loads from and saves to YAML (:meth:`from_yaml`, :meth:`to_yaml`); durations are written as
    ``10m``/``60s``; unknown keys and bad values are refused with a one-line error naming the key.
    """

    # The shipped defaults: the values bench/tune_defaults.py chose and wrote to params.yaml (a test
    # keeps the two equal).
    window: str = DEFAULT_WINDOW
    slide: str = DEFAULT_SLIDE
    baseline_windows: int = 30
    baseline_floor: float = 0.2
    min_count: int = 4
    min_authors: int = 3
    min_ratio: float = 2.0
    min_score: float = 5.5
    cooldown_windows: int = 30
    group_cooccurrence: float = 0.2
    group_share: float = 0.15
    false_alarm_rate: float = 0.0001
    min_distinct: float = 0.5

    def __post_init__(self) -> None:
        window_ms = parse_duration(self.window, "window")
        slide_ms = parse_duration(self.slide, "slide")
        object.__setattr__(self, "window", format_duration(window_ms))
        object.__setattr__(self, "slide", format_duration(slide_ms))
        WindowSpec(window_ms, slide_ms)  # validates the multiple
        for name in ("baseline_windows", "min_count", "min_authors"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
        if isinstance(self.cooldown_windows, bool) or not isinstance(self.cooldown_windows, int) or self.cooldown_windows < 0:
            raise ConfigError(f"cooldown_windows must be an integer >= 0, got {self.cooldown_windows!r}")
        for name, low in (("baseline_floor", 0.0), ("min_ratio", 0.0), ("min_score", -math.inf)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= low:
                raise ConfigError(f"{name} must be a number > {low:g}, got {value!r}")
            object.__setattr__(self, name, float(value))
        if (isinstance(self.group_cooccurrence, bool) or not isinstance(self.group_cooccurrence, (int, float))
                or not 0.0 <= self.group_cooccurrence <= 1.0):
            raise ConfigError(f"group_cooccurrence must be between 0 and 1, got {self.group_cooccurrence!r}")
        object.__setattr__(self, "group_cooccurrence", float(self.group_cooccurrence))
        if (isinstance(self.group_share, bool) or not isinstance(self.group_share, (int, float))
                or not 0.0 <= self.group_share <= 1.0):
            raise ConfigError(f"group_share must be between 0 and 1, got {self.group_share!r}")
        object.__setattr__(self, "group_share", float(self.group_share))
        for name in ("false_alarm_rate", "min_distinct"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value <= 1.0:
                raise ConfigError(f"{name} must be a number in (0, 1], got {value!r}")
            object.__setattr__(self, name, float(value))

    # -- derived ---------------------------------------------------------------------------------
    @property
    def spec(self) -> WindowSpec:
        return WindowSpec(parse_duration(self.window, "window"), parse_duration(self.slide, "slide"))

    @property
    def n(self) -> int:
        return self.spec.windows_per_post

    def warmup_windows(self) -> int:
        """Window ends after the stream's first one before the baseline is made of full windows."""
        return 2 * self.n + self.baseline_windows - 2

    # -- (de)serialisation -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, **overrides: Any) -> DetectionParams:
        data = dict(data or {})
        if "detection" in data and isinstance(data["detection"], Mapping):  # nested form
            nested = dict(data.pop("detection"))
            data.update(nested)
        known = {f.name for f in fields(cls)}
        if "group_correlation" in data:  # grouping by count correlation was replaced by co-occurrence
            raise ConfigError("group_correlation is no longer a parameter: trends are grouped by the posts their "
                              "keywords share (group_cooccurrence, default 0.2); remove it from the params file")
        for key in data:
            if key not in known:
                raise ConfigError(f"unknown parameter {key!r} (known: {', '.join(sorted(known))})")
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**data)

    def to_yaml(self, comment: str | None = None) -> str:
        """The parameters as YAML text (a params file's content: :func:`trendlab.params_files.write_params`)."""
        text = yaml.safe_dump(self.to_dict(), sort_keys=False)
        if comment:
            text = "".join(f"# {line}\n" for line in comment.splitlines()) + text
        return text

    def replace(self, **changes: Any) -> DetectionParams:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


# -- the hot test, shared by both engines -------------------------------------------------------

def poisson_z(count: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """z-score of ``count`` under Poisson(``lam``) (``lam > 0``): ``sign * sqrt(2 (c ln(c / lam) - (c - lam)))``
    with ``c`` moved half a unit towards ``lam`` (the continuity correction), 0 within half a unit.

    Vectorised and closed-form (no special functions, no underflow at huge counts). Against the exact
    upper tail: lam 0.5 and 7 posts give 4.62 (exact 4.75); lam 9.4 and 28 give 4.79 (exact 4.83).
    """
    count = np.asarray(count, dtype=np.float64)
    lam = np.asarray(lam, dtype=np.float64)
    c = np.where(count > lam + 0.5, count - 0.5, np.where(count < lam - 0.5, count + 0.5, lam))
    with np.errstate(divide="ignore", invalid="ignore"):
        c_log = np.where(c > 0, c * np.log(np.where(c > 0, c, 1.0) / lam), 0.0)
    deviance = np.maximum(2.0 * (c_log - (c - lam)), 0.0)
    return np.sign(c - lam) * np.sqrt(deviance)


def score_threshold(keywords_in_window: int | np.ndarray, params: DetectionParams) -> np.ndarray:
    """The score a keyword must reach in a window where ``keywords_in_window`` keywords occur: the
    z-score whose upper tail is ``false_alarm_rate / keywords_in_window`` (so that, by Poisson noise,
    any keyword of the window alerts with odds ``false_alarm_rate``, whether the stream carries 50
    keywords a window or 500,000), and never below ``min_score``."""
    m = np.maximum(np.asarray(keywords_in_window, dtype=np.float64), 1.0)
    p = np.minimum(params.false_alarm_rate / m, 0.5)  # a rate of 1 over one keyword: z 0, the floor rules
    z = np.array([-_NORMAL.inv_cdf(float(x)) for x in np.atleast_1d(p).ravel()]).reshape(np.shape(p))
    return np.maximum(z, params.min_score)


_NORMAL = NormalDist()


def expected_counts(base_count: np.ndarray, base_volume: np.ndarray, volume: np.ndarray) -> np.ndarray:
    """A keyword's expected count in a window of ``volume`` (distinct authors,
    :func:`trendlab.core.windows.window_volume`), from its baseline windows: its posts per author there
    (``base_count / base_volume``) times ``volume``; 0 where the baseline holds no post.

    The stream's volume says how busy the stream is: a capture gap (no authors) enters no baseline,
    and a stream-wide bump raises every expectation alike. A keyword's own burst adds its authors to
    the volume too, which only matters where one keyword is a large share of all posts (a stream
    filtered by that word); on Bluesky's firehose a story's authors are a fraction of a percent."""
    base_count = np.asarray(base_count, dtype=np.float64)
    base_volume = np.asarray(base_volume, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(base_volume > 0, base_count / np.where(base_volume > 0, base_volume, 1.0), 0.0)
    return rate * np.asarray(volume, dtype=np.float64)


def phrase_chance(word_expected: Sequence[np.ndarray | float], volume: np.ndarray | float) -> np.ndarray:
    """A phrase's expected count by chance: how often its words, at their own expected counts
    (:func:`expected_counts`), would meet in the window's ``volume`` posts if they were written
    independently, ``e_1 * … * e_k / volume ** (k - 1)``; 0 where the window holds no post.

    A phrase is a new keyword whose own baseline is often nothing (a few sightings, or none): two
    common words that meet by chance now and then ("people sleeping", "week news") would be a
    surprise against the floor. Against their chance they are not, while a story's phrase is: its
    words' *expected* counts, from their baselines, do not hold the story. Both engines take a
    phrase's expected count as the larger of its own and this."""
    volume = np.asarray(volume, dtype=np.float64)
    out = np.ones(np.shape(volume), dtype=np.float64)
    for e in word_expected:
        out = out * np.asarray(e, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(volume > 0, out / np.where(volume > 0, volume, 1.0) ** (len(word_expected) - 1), 0.0)


def phrase_words(keyword: str) -> list[str] | None:
    """A phrase's words (``None`` for a single word or a link)."""
    return keyword.split(" ") if " " in keyword and not is_link(keyword) else None


def hot_scores(
    count: np.ndarray, authors: np.ndarray, expected: np.ndarray, params: DetectionParams,
    score: np.ndarray | None = None, *, contents: np.ndarray | None = None,
    expected_contents: np.ndarray | None = None, threshold: float | np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised hot test → (hot mask, score), for arrays of counts, distinct authors and the expected
    count (:func:`expected_counts`; ``baseline_floor`` is applied here), and optionally distinct
    contents with their expected value (when given, the rise over the expectation must be made of
    distinct contents: ``contents - expected_contents >= min_distinct * (count - expected)``) and the
    window's score threshold (:func:`score_threshold`; default ``min_score``). ``score`` is the Poisson
    z of these counts when the caller already has it.

    Warm-up is the caller's business (it depends on where the stream starts).
    """
    count = np.asarray(count, dtype=np.float64)
    authors = np.asarray(authors, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    lam = np.maximum(expected, params.baseline_floor)
    if score is None:
        score = poisson_z(count, lam)
    hot = (
        (count >= params.min_count)
        & (authors >= params.min_authors)
        & (count >= params.min_ratio * lam)
        & (score >= (params.min_score if threshold is None else threshold))
    )
    if contents is not None:
        rise = count - expected
        distinct_rise = np.asarray(contents, dtype=np.float64) - np.asarray(expected_contents, dtype=np.float64)
        hot &= distinct_rise >= params.min_distinct * rise
    return hot, score


def _correlations(keywords: list[str], series, slots: np.ndarray, volume, min_windows: int = 2) -> np.ndarray:
    """Pearson correlations between the keywords' rates (count / the window's volume) over the windows
    of ``slots`` that hold posts (0 where a series is flat, and everywhere when fewer than
    ``min_windows`` windows hold posts). ``volume(slots)``: the windows' volumes.

    Rates, not counts: when the stream comes back from a capture gap, or bumps on the hour, every
    count rises at once and any two count series follow each other; a gap's windows are missing data
    and enter no correlation, and the few windows just after a gap are too few to say that one series
    follows another."""
    if len(keywords) < 2:
        return np.ones((len(keywords), len(keywords)))
    v = np.asarray(volume(slots), dtype=np.float64)
    live = v > 0
    slots, v = slots[live], v[live]
    if slots.size < max(2, min_windows):
        return np.zeros((len(keywords), len(keywords)))
    m = np.stack([series(k, slots) for k in keywords]).astype(np.float64) / v
    m -= m.mean(axis=1, keepdims=True)
    norms = np.sqrt((m * m).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        c = (m @ m.T) / np.outer(norms, norms)
    return np.nan_to_num(c, nan=0.0, posinf=0.0, neginf=0.0)


#: A word that a trend's posts carry now and then is recognised by its count series following the
#: trend's (this correlation over the last 2n windows) as well as by shared posts: a sketch of 16
#: minimums cannot see 7 posts inside 100.
CARRIED_CORRELATION = 0.8

#: A keyword's sketch sees another's posts inside its own when it has fewer than this many times
#: their posts (the expected number of equal minimums, ``SKETCH_SIZE * |A| / |B|``, is 1 or more).
SKETCH_BLIND_RATIO = float(SKETCH_SIZE)


@dataclass
class _Hot:
    keyword: str
    count: int
    authors: int
    baseline: float
    score: float


#: At most this many keywords name a trend (its own, by how many of its posts they share).
MAX_TREND_KEYWORDS = 15

#: A group with this many single words held by exactly the same posts is a template (a campaign), not
#: a trend: as many as a post needs to be keyed by its content (:data:`trendlab.core.content.MIN_KEYWORDS`).
TEMPLATE_WORDS = MIN_KEYWORDS


def _is_template(names: Sequence[str], at: Mapping[str, int], share_of: np.ndarray,
                 counts_now: Mapping[str, int]) -> bool:
    """Whether :data:`TEMPLATE_WORDS` of the single words among ``names`` are held by the same posts."""
    words = [k for k in names if is_word(k)]
    if len(words) < TEMPLATE_WORDS:
        return False
    for a in words:
        same = sum(1 for b in words
                   if b == a or (counts_now[b] == counts_now[a] and share_of[at[a], at[b]] >= SAME_POSTS))
        if same >= TEMPLATE_WORDS:
            return True
    return False


#: Two keywords' sketches say "the same posts" when every minimum is equal (the share is then 1).
SAME_POSTS = 1.0 - 1e-9


#: A phrase names its trend when it holds at least this share of the posts of the trend's busiest word.
TOPIC_PHRASE_SHARE = 0.5


def _topic(names: Sequence[str], counts: Mapping[str, int]) -> str:
    """A trend's topic: its phrase (a keyword of two words) with the most posts when that phrase is
    what the trend's posts say (at least :data:`TOPIC_PHRASE_SHARE` of its busiest word's posts: "war
    plans", not a pair that a few posts happen to write), else its first keyword when that is a word,
    else its busiest word."""
    phrases = [k for k in names if " " in k]
    if phrases:
        best = max(phrases, key=lambda k: (counts.get(k, 0), -phrases.index(k)))
        busiest = max((counts.get(k, 0) for k in names if " " not in k), default=0)
        if counts.get(best, 0) >= TOPIC_PHRASE_SHARE * busiest:
            return best
    if " " in names[0]:  # an alert of a phrase that does not name its trend: the trend's busiest word
        words = [k for k in names if " " not in k]
        if words:
            return max(words, key=lambda k: (counts.get(k, 0), -words.index(k)))
    return names[0]


class TrendDetector:
    """Incremental detector: feed it every window's counts in window order, get the alerts.

    ``process_window(window_end_ms, counts, volume)`` takes all :class:`WindowedKeywordCount` rows of one
    window end (rows of other keywords are implicitly 0) and the number of posts in that window (a
    window that is never fed held no post: a capture gap, which enters no baseline). Window ends must
    not go backwards. State is a few plain dicts and is picklable (Flink checkpoints it).
    """

    def __init__(self, params: DetectionParams | None = None) -> None:
        self.params = params or DetectionParams()
        spec = self.params.spec
        self._slide_ms = spec.slide_ms
        self._window_ms = spec.window_ms
        self._n = spec.windows_per_post
        # the baseline may reach back over windows without posts (a capture gap): up to 2H windows
        self._keep = max(self._n + 2 * self.params.baseline_windows, 2 * self._n)
        self.first_end_slot: int | None = None
        self.last_end_slot: int | None = None
        self.history: dict[str, dict[int, int]] = {}  # keyword -> {end_slot: count}
        self.contents: dict[str, dict[int, int]] = {}  # keyword -> {end_slot: unique_contents}
        self.volume: dict[int, int] = {}  # end_slot -> posts in the window
        self.last_hot: dict[str, int] = {}  # keyword -> last end slot it was hot
        self.trends: dict[str, tuple[int, list[str]]] = {}  # trend lead -> (opened end slot, keywords)
        self._sketches: dict[str, np.ndarray] = {}  # the current window's post sketches (not state)
        self._volume_known = True  # the current window came with its volume (not state)

    # -- the streaming entry point -----------------------------------------------------------------
    def process_window(self, window_end_ms: int, counts: Iterable[WindowedKeywordCount | Mapping],
                       volume: int | None = None) -> list[TrendAlert]:
        """``volume``: posts in the window (the engines' volume row); ``None`` counts the window as
        one unit, so that windows are weighed alike (counts alone, e.g. read back from a topic)."""
        e = int(window_end_ms) // self._slide_ms
        if self.last_end_slot is not None and e <= self.last_end_slot:
            raise ValueError(f"window_end {window_end_ms} is not after the previous window end")
        if self.first_end_slot is None:
            self.first_end_slot = e
        self.last_end_slot = e
        counts = list(counts)
        rows = [_as_row(r) for r in counts]
        self._sketches = {r[0]: s for r, s in zip(rows, (_sketch_of(c) for c in counts)) if s is not None}
        self.volume[e] = 1 if volume is None else int(volume)
        self._volume_known = volume is not None
        for kw, c, _a, u in rows:
            self.history.setdefault(kw, {})[e] = c
            self.contents.setdefault(kw, {})[e] = u
        alerts: list[TrendAlert] = []
        if rows and self.is_warm(e):
            kws = [r[0] for r in rows]
            cnt = np.array([r[1] for r in rows], dtype=np.int64)
            aut = np.array([r[2] for r in rows], dtype=np.int64)
            con = np.array([r[3] for r in rows], dtype=np.int64)
            expect = self._expected_of(kws, e)
            expect_c = self._expected_of(kws, e, self.contents)
            hot, score = hot_scores(cnt, aut, expect, self.params, contents=con, expected_contents=expect_c,
                                    threshold=score_threshold(len(rows), self.params))
            lam = np.maximum(expect, self.params.baseline_floor)
            hot_rows = [
                _Hot(kws[i], int(cnt[i]), int(aut[i]), float(lam[i]), float(score[i])) for i in np.flatnonzero(hot)
            ]
            alerts = self._open_episodes(e, hot_rows, self._series, self._volumes, self._expected_of,
                                         lambda k, _e: self._sketches.get(k))
        self._prune(e)
        return alerts

    # -- shared by both engines --------------------------------------------------------------------
    def is_warm(self, end_slot: int) -> bool:
        """The baseline is made of full windows of stream, and holds posts (not only a gap)."""
        return (self.first_end_slot is not None
                and end_slot - self.first_end_slot >= self.params.warmup_windows()
                and self._base_volume(end_slot) > 0)

    def _active(self, members: Sequence[str], e: int) -> bool:
        """A trend is still going while one of its keywords is in its episode (hot in the last
        ``cooldown_windows`` windows, at least the last ``n``)."""
        span = max(self.params.cooldown_windows, self._n)
        return any(e - self.last_hot.get(k, e - span - 1) <= span for k in members)

    def _open_episodes(self, e: int, hot: list[_Hot], series, volume, expected, sketch) -> list[TrendAlert]:
        """Episode bookkeeping and grouping for the hot keywords of window ``e``; ``series(keyword,
        slots)``: its counts there; ``volume(slots)``: the windows' volumes (0: no post, a gap);
        ``expected(keywords, e)``: their expected counts in window ``e`` (before the floor);
        ``sketch(keyword, e)``: a keyword's post sketch in the window (its minimums bring its posts'
        languages), or ``None``."""
        cooldown = self.params.cooldown_windows
        opening = []
        for h in hot:
            last = self.last_hot.get(h.keyword)
            if last is None or e - last > cooldown:
                opening.append(h)
            self.last_hot[h.keyword] = e
        if not opening:
            return []
        opening.sort(key=lambda h: (-h.score, h.keyword))
        start_ms, end_ms = e * self._slide_ms - self._window_ms, e * self._slide_ms
        # trends still going (a keyword still in its episode) that a new group may belong to
        recent = sorted(
            (opened, lead, members) for lead, (opened, members) in self.trends.items() if self._active(members, e)
        )
        # every keyword involved (opening now, or of a recent trend), the opening ones first: how many
        # posts they share in this window, and each one's rise over its expected count
        names_all = list(dict.fromkeys([h.keyword for h in opening] + [k for _, _, ms in recent for k in ms]))
        m = len(names_all)
        now = np.array([series(k, np.array([e]))[0] for k in names_all], dtype=np.float64)
        share_of = shared_shares([sketch(k, e) for k in names_all], now)
        # links trend on a board of their own: a link and a word are never one trend, nor carried by each other
        link_of = np.array([is_link(k) for k in names_all], dtype=bool)
        other_kind = link_of[:, None] != link_of[None, :]
        share_of[other_kind] = 0.0
        excess = now - np.asarray(expected(names_all, e), dtype=np.float64)
        at = {k: i for i, k in enumerate(names_all)}
        threshold, rise_share = self.params.group_cooccurrence, self.params.group_share

        def linked(a: int, b: int) -> bool:
            """Same trend: they share posts, and the smaller rise is at least ``group_share`` of the larger."""
            if share_of[a, b] < threshold or share_of[a, b] <= 0.0:
                return False
            low, high = sorted((excess[a], excess[b]))
            return rise_share <= 0.0 or (low > 0.0 and low >= rise_share * high)

        # A keyword that goes with another (shared posts, or a count series that follows it) rising more
        # than 1/group_share times as much is carried by that keyword's posts (a word a trend's posts carry
        # now and then): no alert, no trend of its own. It links nothing, so it cannot chain trends.
        corr = _correlations(names_all, series, np.arange(e - 2 * self._n + 1, e + 1), volume, self._n)
        corr[other_kind] = 0.0
        # ... but only where the sketches cannot tell: two stories starting in the same minutes have
        # count series that follow each other too. Without an equal minimum, a keyword is carried by
        # one whose series it follows only when that one has SKETCH_BLIND_RATIO times its posts or more
        # (even if all of its posts were the other's, their sketches would show less than one equal
        # minimum); below that, no equal minimum says they are other posts.
        blind = now[None, :] >= SKETCH_BLIND_RATIO * now[:, None]
        corr[(share_of <= 0.0) & ~blind] = 0.0
        # A phrase's posts are posts of each of its words: a phrase of a word rising more than
        # 1/group_share times as much ("album news" while "album" rises) is carried the same way.
        def word_rise(word: str) -> float:
            return float(series(word, np.array([e]))[0] - expected([word], e)[0])

        kept = [
            i for i in range(len(opening))
            if rise_share <= 0.0 or not (any(
                ((share_of[i, j] >= threshold and share_of[i, j] > 0.0) or corr[i, j] >= CARRIED_CORRELATION)
                and excess[i] < rise_share * excess[j]
                for j in range(m) if j != i
            ) or any(excess[i] < rise_share * word_rise(w) for w in phrase_words(names_all[i]) or ()))
        ]
        if not kept:
            return []
        # union-find over linked pairs
        parent = {i: i for i in kept}

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for x, i in enumerate(kept):
            for j in kept[x + 1:]:
                if linked(i, j):
                    ri, rj = find(i), find(j)
                    if ri != rj:
                        parent[max(ri, rj)] = min(ri, rj)
        groups: dict[int, list[_Hot]] = {}
        for i in kept:
            groups.setdefault(find(i), []).append(opening[i])
        counts_now = {k: int(c) for k, c in zip(names_all, now)}
        alerts = []
        for root in sorted(groups):
            members = groups[root]
            lead = members[0]
            names = [mb.keyword for mb in members]
            if _is_template(names, at, share_of, counts_now):
                continue  # a campaign at its start: no alert, no trend (its words are in their episodes)
            # a group joins the recent trend it shares the most posts with (one trend, never two)
            best, trend, joined = 0.0, lead.keyword, []
            for _opened, t_lead, t_members in recent:
                strength = max((share_of[at[a], at[b]] for a in names for b in t_members
                                if linked(at[a], at[b])), default=0.0)
                if strength > best:
                    best, trend, joined = strength, t_lead, [k for k in t_members if k not in names]
            if trend == lead.keyword:
                self.trends[trend] = (e, names)
            else:
                opened, t_members = self.trends[trend]
                self.trends[trend] = (opened, t_members + names)
            own = list(dict.fromkeys(names + joined))
            # the trend's keywords, the alert's own first, then by how central they are (posts shared)
            central = {k: sum(share_of[at[k], at[o]] for o in own if o != k) for k in own}
            related = sorted((k for k in own if k != lead.keyword), key=lambda k: (k not in names, -central[k], k))
            related = related[:MAX_TREND_KEYWORDS - 1]
            topic = _topic([lead.keyword, *related], counts_now)
            languages = language_shares([sketch(k, e) for k in names])
            alerts.append(
                TrendAlert(
                    keyword=lead.keyword,
                    window_start=_dt(start_ms),
                    window_end=_dt(end_ms),
                    count=lead.count,
                    unique_authors=lead.authors,
                    baseline=round(lead.baseline, 6),
                    score=round(lead.score, 6),
                    related_keywords=related,
                    trend=trend,
                    topic=topic,
                    display_name=display_name(topic),
                    kind="link" if is_link(lead.keyword) else "topic",
                    language=next(iter(languages)) if languages else None,
                    languages=languages,
                )
            )
        return alerts

    # -- internals ---------------------------------------------------------------------------------
    def _base_slots(self, e: int) -> tuple[int, int]:
        """The baseline of window ``e``: the slots ``lo … hi`` (``hi = e - n``) that hold the last
        ``baseline_windows`` windows with posts, reaching back over windows without any (a capture gap:
        missing data) to ``2 * baseline_windows`` windows at most."""
        H = self.params.baseline_windows
        hi = e - self._n
        cap = hi - 2 * H + 1
        found, s = 0, hi
        while s >= cap:
            if self.volume.get(s, 0) > 0:
                found += 1
                if found == H:
                    return s, hi
            s -= 1
        return cap, hi

    def _base_volume(self, e: int) -> int:
        lo, hi = self._base_slots(e)
        return _sum_slots(self.volume, lo, hi)

    def _expected_of(self, names: Sequence[str], e: int, table: Mapping[str, Mapping[int, int]] | None = None
                     ) -> np.ndarray:
        """The keywords' expected counts in window ``e`` (before the floor) from their ``table`` of window
        counts (default: the posts; ``self.contents``: the distinct contents, without a chance term); a
        phrase's at least its chance (:func:`phrase_chance`) when the window came with its volume."""
        lo, hi = self._base_slots(e)
        base_volume, volume = _sum_slots(self.volume, lo, hi), self.volume.get(e, 0)
        history = self.history if table is None else table

        def expect(keywords: Iterable[str]) -> np.ndarray:
            return expected_counts([_sum_slots(history.get(k), lo, hi) for k in keywords], base_volume, volume)

        own = expect(names)
        if table is not None or not self._volume_known:
            return own
        out, at = own, {k: i for i, k in enumerate(names)}
        for i, k in enumerate(names):
            words = phrase_words(k)
            if words is None:
                continue
            word_expected = [own[at[w]] if w in at else expect([w])[0] for w in words]
            if out is own:
                out = own.copy()
            out[i] = np.maximum(out[i], phrase_chance(word_expected, volume))
        return out

    def _volumes(self, slots: np.ndarray) -> np.ndarray:
        return np.array([self.volume.get(int(s), 0) for s in slots], dtype=np.float64)

    def _series(self, keyword: str, slots: np.ndarray) -> np.ndarray:
        hist = self.history.get(keyword, {})
        return np.array([hist.get(int(s), 0) for s in slots], dtype=np.float64)

    def _prune(self, e: int) -> None:
        oldest = e - self._keep + 1
        for table in (self.history, self.contents):
            for kw in list(table):
                hist = table[kw]
                for s in [s for s in hist if s < oldest]:
                    del hist[s]
                if not hist:
                    del table[kw]
        for s in [s for s in self.volume if s < oldest]:
            del self.volume[s]
        horizon = e - self.params.cooldown_windows - 1
        for kw in [k for k, s in self.last_hot.items() if s < horizon]:
            del self.last_hot[kw]
        for lead in [k for k, (_, members) in self.trends.items() if not self._active(members, e)]:
            del self.trends[lead]

    # -- state for Flink checkpoints -----------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {
            "first_end_slot": self.first_end_slot,
            "last_end_slot": self.last_end_slot,
            "history": {k: dict(v) for k, v in self.history.items()},
            "contents": {k: dict(v) for k, v in self.contents.items()},
            "volume": dict(self.volume),
            "last_hot": dict(self.last_hot),
            "trends": {k: [opened, list(members)] for k, (opened, members) in self.trends.items()},
        }

    @classmethod
    def restore(cls, params: DetectionParams, state: Mapping[str, Any]) -> TrendDetector:
        det = cls(params)
        det.first_end_slot = state.get("first_end_slot")
        det.last_end_slot = state.get("last_end_slot")
        det.history = {k: {int(s): int(c) for s, c in v.items()} for k, v in state.get("history", {}).items()}
        det.contents = {k: {int(s): int(c) for s, c in v.items()} for k, v in state.get("contents", {}).items()}
        det.volume = {int(s): int(v) for s, v in state.get("volume", {}).items()}
        det.last_hot = {k: int(v) for k, v in state.get("last_hot", {}).items()}
        det.trends = {k: (int(v[0]), list(v[1])) for k, v in state.get("trends", {}).items()}
        return det


def _sketch_of(row) -> np.ndarray | None:
    sketch = row.sketch if isinstance(row, WindowedKeywordCount) else row.get("sketch")
    return None if sketch is None else np.asarray(sketch, dtype=np.int64)


def display_name(topic: str) -> str:
    """How a trend is shown: its topic as written (hashtags and links as they are; words and phrases
    with capital initials, as names and headlines are written)."""
    if topic.startswith("#") or is_link(topic):
        return topic
    return " ".join(w[:1].upper() + w[1:] for w in topic.split(" "))


def _sum_slots(table: Mapping[int, int] | None, lo: int, hi: int) -> int:
    return sum(c for s, c in table.items() if lo <= s <= hi) if table else 0


def _as_row(r: WindowedKeywordCount | Mapping) -> tuple[str, int, int, int]:
    """(keyword, count, unique_authors, unique_contents); a row without contents counts every post as
    its own content."""
    if isinstance(r, WindowedKeywordCount):
        contents = r.unique_contents
        return r.keyword, int(r.count), int(r.unique_authors), int(r.count if contents is None else contents)
    contents = r.get("unique_contents")
    return (str(r["keyword"]), int(r["count"]), int(r["unique_authors"]),
            int(r["count"] if contents is None else contents))


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


# -- the vectorised path (replay) ---------------------------------------------------------------

def dense_baseline(counts: np.ndarray, params: DetectionParams) -> np.ndarray:
    """The sum of dense count series over each window's baseline windows, divided by ``H``: the last
    axis holds consecutive window ends from the stream's first; ``out[..., j] = sum(counts[...,
    j-n-H+1 .. j-n]) / H`` with zeros before the stream (``n`` windows per post, ``H =
    baseline_windows``). With the window volumes' own :func:`dense_baseline`, :func:`expected_counts`
    of the two (the ``H`` cancels) is the detector's expectation."""
    counts = np.asarray(counts, dtype=np.int64)
    n, H = params.n, params.baseline_windows
    E = counts.shape[-1]
    cs = np.zeros(counts.shape[:-1] + (E + 1,), dtype=np.int64)
    np.cumsum(counts, axis=-1, out=cs[..., 1:])
    # out[j] = cs[hi] - cs[lo] with hi = clip(j-n+1, 0, E), lo = clip(j-n-H+1, 0, E): by slices
    out = np.zeros(counts.shape, dtype=np.float64)
    a, b = min(n - 1, E), min(n + H - 1, E)  # before a: 0; a … b: a window still filling; then H wide
    out[..., a:b] = cs[..., 0:b - a]
    out[..., b:] = cs[..., b - n + 1:E - n + 1] - cs[..., b - n - H + 1:E - n - H + 1]
    out /= H
    return out


def window_volume_series(volume: pd.DataFrame | None, counts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(end_slots, posts)`` of a stream's windows: from ``volume`` (:func:`trendlab.core.windows.window_volume`)
    or, without it, one unit for every window that has a count (as :class:`TrendDetector` does)."""
    if volume is not None:
        return volume["end_slot"].to_numpy(dtype=np.int64), volume["volume"].to_numpy(dtype=np.int64)
    slots = np.unique(counts["end_slot"].to_numpy(dtype=np.int64))
    return slots, np.ones(slots.size, dtype=np.int64)


def detect_frame(counts: pd.DataFrame, keywords: np.ndarray | list[str], params: DetectionParams,
                 cache: dict | None = None, volume: pd.DataFrame | None = None,
                 sketches: ReplaySketches | None = None) -> list[TrendAlert]:
    """All alerts of a whole stream's window counts at once — same result as feeding every window
    to :class:`TrendDetector` in order (with its volume), much faster.

    ``counts`` has integer columns ``keyword_code, end_slot, count, unique_authors`` and, when the
    stream's contents were keyed, ``unique_contents`` (see :func:`trendlab.core.windows.window_counts`);
    ``keywords[code]`` is the keyword's text; ``volume`` has ``end_slot, volume`` (posts per window,
    :func:`trendlab.core.windows.window_volume`); ``sketches`` gives the keywords' post sketches for grouping
    (:class:`trendlab.core.cooccur.ReplaySketches`; without them no two keywords share posts). ``cache`` (a dict kept by the caller for one ``counts``
    frame, e.g. by a sweep) keeps the dense matrices and scores between calls whose parameters differ
    only in the thresholds applied after them.
    """
    det = TrendDetector(params)
    if counts.empty:
        return []
    key = (params.window, params.slide, params.min_count, params.min_authors, params.baseline_windows,
           params.baseline_floor, params.cooldown_windows)
    dense = cache.get(key) if cache is not None else None
    if dense is None:
        dense = _dense_counts(counts, params, volume, keywords)
        if cache is not None:
            if len(cache) >= 8:  # bounded: a few floor/baseline settings at a time
                cache.clear()
            cache[key] = dense
    if dense is False:
        return []
    # authors, contents and expected contents of the eligible cells only (aligned with ``cells``)
    e0, warm_from, cand, col_slot, C, A_cells, U_cells, V, base_volume, expect, expect_cells, expect_c_cells, \
        rows_per_col, cells, score = dense
    E = col_slot.size
    det.first_end_slot = e0
    # the hot test on the cells that pass the count and author tests (the others cannot be hot)
    col_of_cell = cells % E
    thresholds = _column_thresholds(rows_per_col, params)
    hot, score = hot_scores(C.ravel()[cells], A_cells, expect_cells, params, score,
                            contents=U_cells, expected_contents=expect_c_cells,
                            threshold=thresholds[col_of_cell])
    hot_cells, hot_score, hot_authors, hot_expect = cells[hot], score[hot], A_cells[hot], expect_cells[hot]
    row, col = np.divmod(hot_cells, E)
    warm = (col_slot[col] >= warm_from) & (C.ravel()[hot_cells] > 0) & (base_volume[col] > 0)
    kw_text = np.asarray(keywords, dtype=object)
    cand_kw = kw_text[cand]
    index = {kw: i for i, kw in enumerate(cand_kw)}

    def columns(slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cols = np.minimum(np.searchsorted(col_slot, slots), E - 1)
        return cols, col_slot[cols] == slots

    col_at = {slot: j for j, slot in enumerate(col_slot.tolist())}  # one slot's column, without a search

    # A keyword outside the candidates has no series: a stop word that a phrase holds ("world" of
    # "world cup") is never a keyword, and reads as TrendDetector reads a keyword it never saw: zeros.
    def series(keyword: str, slots: np.ndarray) -> np.ndarray:
        i = index.get(keyword)
        if slots.size == 1:  # the common call: one window
            j = col_at.get(int(slots[0]))
            return np.array([0.0 if j is None or i is None else C[i, j]], dtype=np.float64)
        out = np.zeros(slots.size, dtype=np.float64)
        if i is not None:
            cols, ok = columns(slots)
            out[ok] = C[i, cols[ok]]
        return out

    def volumes(slots: np.ndarray) -> np.ndarray:
        cols, ok = columns(slots)
        out = np.zeros(slots.size, dtype=np.float64)
        out[ok] = V[cols[ok]]
        return out

    def expected(names: Sequence[str], e: int) -> np.ndarray:
        j = col_at.get(int(e))
        out = np.zeros(len(names), dtype=np.float64)
        if j is not None:
            rows = np.array([index.get(k, -1) for k in names], dtype=np.int64)
            known = np.flatnonzero(rows >= 0)
            out[known] = expect.at(rows[known], np.full(known.size, j, dtype=np.int64))
        return out

    sketch_at: dict[tuple[int, int], np.ndarray | None] = {}  # (row, end slot): each one taken once

    def sketch(r: int, e: int) -> np.ndarray | None:
        key = (r, e)
        if key not in sketch_at:
            sketch_at[key] = sketches.get(int(cand[r]), e)
        return sketch_at[key]

    def sketch_kw(keyword: str, e: int) -> np.ndarray | None:
        r = index.get(keyword)
        return None if sketches is None or r is None else sketch(r, e)

    if sketches is not None:  # one pass over the occurrences for every keyword that is ever hot
        sketches.prepare(np.unique(cand[row[warm]]).tolist())
    floor = params.baseline_floor
    by_column: dict[int, list[_Hot]] = {}
    for r, c, z, a, x in zip(row[warm].tolist(), col[warm].tolist(), hot_score[warm].tolist(),
                             hot_authors[warm].tolist(), hot_expect[warm].tolist()):
        by_column.setdefault(c, []).append(_Hot(str(cand_kw[r]), int(C[r, c]), int(a), max(x, floor), z))
    alerts: list[TrendAlert] = []
    for c in sorted(by_column):
        hot_rows = sorted(by_column[c], key=lambda h: h.keyword)
        alerts.extend(det._open_episodes(int(col_slot[c]), hot_rows, series, volumes, expected, sketch_kw))
    return alerts


def _baseline_columns(V: np.ndarray, col_slot: np.ndarray, params: DetectionParams) -> tuple[np.ndarray, np.ndarray]:
    """For every column ``j``, the columns ``lo[j] … hi[j]`` (inclusive; empty when ``hi < lo``) of its
    baseline, as :meth:`TrendDetector._base_slots` chooses them: up to ``j - n``, the last
    ``baseline_windows`` windows with posts, reaching back no further than ``2 * baseline_windows``
    windows (in slots: columns cut from a long empty run hold no posts and count as such)."""
    n, H = params.n, params.baseline_windows
    E = V.size
    j = np.arange(E)
    hi = j - n  # columns are consecutive slots except inside long empty runs, longer than any look-back
    # hi as a slot, and the slot cap, mapped to columns
    hi_slot = np.where(hi >= 0, col_slot[np.maximum(hi, 0)], col_slot[0] - 1)
    cap = np.searchsorted(col_slot, col_slot - n - 2 * H + 1)
    valid = np.flatnonzero(V > 0)
    rank = np.searchsorted(valid, np.maximum(hi, -1), side="right")  # valid columns <= hi
    hth = np.where(rank >= H, valid[np.maximum(rank - H, 0)] if valid.size else 0, 0)
    lo = np.maximum(hth, cap)
    hi = np.where(hi_slot >= col_slot[0], hi, -1)
    return lo, hi


def _column_sums(M: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``M[..., lo[j]:hi[j]+1].sum(-1)`` for every column ``j`` (0 where empty), by a cumulative sum."""
    M = np.asarray(M, dtype=np.int64)
    cs = np.zeros(M.shape[:-1] + (M.shape[-1] + 1,), dtype=np.int64)
    np.cumsum(M, axis=-1, out=cs[..., 1:])
    ok = hi >= lo
    top, bottom = np.where(ok, hi + 1, 0), np.where(ok, lo, 0)
    return (cs[..., top] - cs[..., bottom]).astype(np.float64)


def _column_thresholds(rows_per_col: np.ndarray, params: DetectionParams) -> np.ndarray:
    """:func:`score_threshold` of every column (one inverse-normal per distinct keyword count)."""
    distinct, inverse = np.unique(rows_per_col, return_inverse=True)
    return score_threshold(distinct, params)[inverse]


def _dense_counts(counts: pd.DataFrame, params: DetectionParams, volume: pd.DataFrame | None,
                  keywords: np.ndarray | list[str] | None = None):
    """The dense matrices :func:`detect_frame` tests: ``(first end slot, first warm slot, candidate
    keyword codes, column slots, counts, the eligible cells' authors and contents, volume, baseline
    volume, expected counts (:class:`_Expected`), the eligible cells' expected counts and expected
    contents, keywords per column, the eligible cells, their scores)``, or ``False`` when no row can be
    hot."""
    keyword_code, end_slot, count, authors = (
        counts[c].to_numpy() for c in ("keyword_code", "end_slot", "count", "unique_authors"))
    contents = counts["unique_contents"].to_numpy() if "unique_contents" in counts else count
    vol_slot, vol = window_volume_series(volume, counts)
    e0 = int(min(end_slot.min(), vol_slot.min())) if vol_slot.size else int(end_slot.min())
    e_last = int(end_slot.max())
    warm_from = e0 + params.warmup_windows()
    # Rows that could be hot whatever their baseline: the only keywords worth a dense matrix.
    eligible = (count >= params.min_count) & (authors >= params.min_authors)
    is_cand = np.zeros(int(keyword_code.max()) + 1, dtype=bool)  # codes are small: no sort
    is_cand[keyword_code[eligible & (end_slot >= warm_from)]] = True
    cand = np.flatnonzero(is_cand)
    if cand.size == 0:
        return False
    row_of = np.cumsum(is_cand) - 1
    row_of[~is_cand] = -1
    row = row_of[keyword_code]
    sub = np.flatnonzero(row >= 0)  # the candidates' rows (positions: gathers, not masks, from here)
    row, sub_end = row[sub], end_slot[sub]
    # Columns: the candidates' end slots, with every run of empty slots longer than any look-back
    # (baseline, cooldown, correlation) cut to that length, so memory follows the windows that hold
    # posts, not the span of the stream (a post a year after the others costs nothing).
    vol_slot, vol = vol_slot[vol_slot <= e_last], vol[vol_slot <= e_last]
    col_slot = _column_slots(np.concatenate([sub_end, vol_slot[vol_slot >= e0]]), e0, e_last,
                             params.n + 2 * params.baseline_windows + params.cooldown_windows + 2 * params.n + 2)
    E = col_slot.size
    check_memory(params.spec, 0, limit=None, dense_cells=cand.size * E)
    if short_range(e_last - e0, sub_end.size):  # slot → column by a table, else by a search
        col_of = np.zeros(e_last - e0 + 1, dtype=np.int64)
        col_of[col_slot - e0] = np.arange(E)
        col = col_of[sub_end - e0]
    else:
        col = np.searchsorted(col_slot, sub_end)
    flat = row * E + col
    C = np.zeros(cand.size * E, dtype=np.int32)  # a window's count: its posts
    U = np.zeros(cand.size * E, dtype=np.int64)
    C[flat] = count[sub]
    U[flat] = contents[sub]
    C, U = C.reshape(cand.size, E), U.reshape(cand.size, E)
    # posts per window and keywords per window, by column (columns cut from a long empty run hold none)
    V = np.zeros(E, dtype=np.int64)
    vcol = np.searchsorted(col_slot, vol_slot)
    present = (vcol < E) & (col_slot[np.minimum(vcol, E - 1)] == vol_slot)
    V[vcol[present]] = vol[present]
    if short_range(e_last - e0, end_slot.size):  # rows per slot, read at the columns' slots
        rows_per_col = np.bincount(end_slot - e0, minlength=e_last - e0 + 1)[col_slot - e0]
    else:
        all_cols = np.searchsorted(col_slot, end_slot)
        in_cols = (all_cols < E) & (col_slot[np.minimum(all_cols, E - 1)] == end_slot)
        rows_per_col = np.bincount(all_cols[in_cols], minlength=E)
    lo, hi = _baseline_columns(V, col_slot, params)
    base_volume = _column_sums(V, lo, hi)
    # the cells that pass the count and author tests (flat indices): only these can be hot,
    # so only these get an expected count and a score (and only their authors and contents are kept)
    pass_sub = eligible[sub]
    cells = flat[pass_sub]
    A_cells, U_cells = authors[sub][pass_sub], contents[sub][pass_sub]
    cell_row, cell_col = np.divmod(cells, E)
    # expected counts: from each row's cumulative sums, at the cells (and, for grouping, wherever asked)
    # (contents first, their cumulative sums in place: three matrices at most, two kept)
    expect_c_cells = _Expected(np.cumsum(U, axis=1, out=U), lo, hi, base_volume, V, None).at(cell_row, cell_col)
    del U
    expect = _Expected(np.cumsum(C, axis=1, dtype=np.int64), lo, hi, base_volume, V,
                       None if volume is None or keywords is None else np.asarray(keywords, dtype=object)[cand].tolist())
    expect_cells = expect.at(cell_row, cell_col)
    score = poisson_z(C.ravel()[cells], np.maximum(expect_cells, params.baseline_floor))
    return (e0, warm_from, cand, col_slot, C, A_cells, U_cells, V, base_volume, expect, expect_cells, expect_c_cells,
            rows_per_col, cells, score)


class _Expected:
    """:func:`expected_counts` of (row, column) pairs of the dense matrices, from the rows' cumulative
    sums (``cs[r, j]``: the sum of row ``r``'s columns up to ``j``), each column's baseline columns ``lo … hi``
    (:func:`_baseline_columns`), baseline volume and volume. With the rows' keywords (``names``), a
    phrase's is at least its chance (:func:`phrase_chance`) when its words are rows too (a word that is no
    row is never a keyword alone, "world" of "world tour", or never near the tests, and then neither is the
    phrase); without them (``None``), no chance term."""

    def __init__(self, cs: np.ndarray, lo: np.ndarray, hi: np.ndarray, base_volume: np.ndarray, V: np.ndarray,
                 names: list[str] | None) -> None:
        self.cs, self.lo, self.hi, self.base_volume, self.V = cs, lo, hi, base_volume, V
        # per phrase length k: every row's words' rows (rows that are no phrase of k words: -1)
        self._size = np.zeros(cs.shape[0], dtype=np.int64)
        self._words: dict[int, np.ndarray] = {}
        at = {k: i for i, k in enumerate(names or ())}
        for r, k in enumerate(names or ()):
            rows = [at.get(w) for w in phrase_words(k) or ()]
            if rows and None not in rows:
                self._size[r] = len(rows)
                self._words.setdefault(len(rows), np.full((cs.shape[0], len(rows)), -1, dtype=np.int64))[r] = rows

    def _own(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        lo, hi = self.lo[cols], self.hi[cols]
        ok = hi >= lo
        top = np.where(ok, self.cs[rows, np.maximum(hi, 0)], 0)
        below = np.where(ok & (lo > 0), self.cs[rows, np.maximum(lo - 1, 0)], 0)
        base = (top - below).astype(np.float64)
        return expected_counts(base, self.base_volume[cols], self.V[cols])

    def at(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        out = self._own(rows, cols)
        for size, table in self._words.items():
            ks = np.flatnonzero(self._size[rows] == size)
            if ks.size:
                words, c = table[rows[ks]], cols[ks]
                chance = phrase_chance([self._own(words[:, w], c) for w in range(size)], self.V[c])
                out[ks] = np.maximum(out[ks], chance)
        return out


def _column_slots(end_slots: np.ndarray, first: int, last: int, keep: int) -> np.ndarray:
    """Every slot from ``first`` to ``last``, except that a run of slots without a count longer than
    ``keep`` keeps only its first ``keep`` (all zero, like the ones left out)."""
    if short_range(last - first, end_slots.size):  # the slots with a count, without a sort
        present = np.zeros(last - first + 1, dtype=bool)
        present[end_slots - first] = True
        present[[0, -1]] = True
        occupied = np.flatnonzero(present) + first
    else:  # a stream with long gaps (a post a year after the others)
        occupied = np.unique(np.concatenate([end_slots, [first, last]]))
    gaps = np.diff(occupied) - 1  # empty slots after each occupied one
    if not (gaps > keep).any():
        return np.arange(first, last + 1, dtype=np.int64)
    run = np.minimum(gaps, keep)
    lengths = np.append(run + 1, 1)
    starts = np.repeat(occupied, lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return (starts + offsets).astype(np.int64)
