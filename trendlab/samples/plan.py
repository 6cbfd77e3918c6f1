"""The plan of a synthetic stream: authors, labelled trends and decoys, and every event's arrival.

:class:`SampleStream` decides *who* posts *when* and *why* (background, trend ``i``, spam ``j``, or a
non-post event), all with numpy and seeded generators; :mod:`trendlab.samples.events` turns that plan
into Jetstream event dicts. The plan's result is public: :attr:`SampleStream.arrivals`,
:attr:`SampleStream.trends`, :attr:`SampleStream.spams`, the author table and :attr:`SampleStream.langs`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from trendlab import vocab
from trendlab.errors import ConfigError
from trendlab.labels import Labels, TrendLabel
from trendlab.models import format_time, parse_time
from trendlab.samples.ids import random_did
from trendlab.samples.vocabularies import (
    DIURNAL_AMPLITUDE,
    DIURNAL_PEAK_HOUR_UTC,
    EN_NEW_GROUPS,
    LANG_SHARES,
    NON_EN_GROUPS,
    NON_POST_MIX,
    SPAM_CAMPAIGNS,
    STEADY_HASHTAG,
    TREND_CYCLE,
    languages,
    presence_probability,
)

LABELS_VERSION = 1
DEFAULT_START = "2025-02-09T20:00:00Z"
WARMUP_MINUTES = 40
TRENDS_PER_HOUR = 3.5


@dataclass(frozen=True, slots=True)
class Arrivals:
    """Every event of the stream in time order (parallel arrays): its time, whether it is a post,
    its source (0 background, ``i`` > 0 trend ``i``, ``-j`` spam ``j``), its language code index
    (posts) or non-post kind index, and its author index."""

    t_us: np.ndarray
    is_post: np.ndarray
    src: np.ndarray
    sub: np.ndarray
    actor: np.ndarray
    non_post_kinds: list[str]


# -- the plan: labels and arrival times ------------------------------------------------------------

@dataclass(slots=True)
class PlannedTrend:
    label: TrendLabel
    hashtag: str | None        # as typed, without '#'
    words: list[str]           # companions or the rising word
    peak: float                # injected posts/min at the peak
    ramp_up_s: float
    ramp_down_s: float


@dataclass(slots=True)
class PlannedSpam:
    label: TrendLabel
    author: int                # index into the author table
    hashtag: str               # as typed, without '#'
    texts: list[str]
    mean_gap_s: float


def _check_params(hours: Any, rate: Any, seed: Any, non_post_share: Any) -> tuple[float, float, int, float]:
    def number(name: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"{name} must be a number, got {value!r}")
        return float(value)

    hours_f = number("hours", hours)
    if hours_f <= 0:
        raise ConfigError(f"hours must be positive, got {hours!r}")
    if hours_f > 24 * 14:
        raise ConfigError(f"hours must be at most {24 * 14} (two weeks), got {hours!r}")
    rate_f = number("rate", rate)
    if rate_f <= 0:
        raise ConfigError(f"rate must be positive (posts per second), got {rate!r}")
    if rate_f > 2000:
        raise ConfigError(f"rate must be at most 2000 posts per second, got {rate!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    share = number("non_post_share", non_post_share)
    if not 0 <= share < 0.95:
        raise ConfigError(f"non_post_share must be in [0, 0.95), got {non_post_share!r}")
    return hours_f, rate_f, seed, share


class SampleStream:
    """A seeded synthetic Jetstream stream and its labels. Iterating yields event dicts in
    event-time order; iterating again yields the same events."""

    def __init__(self, hours: float = 2.0, rate: float = 5.0, seed: int = 42,
                 start: str | datetime = DEFAULT_START, non_post_share: float = 0.5) -> None:
        self.hours, self.rate, self.seed, self.non_post_share = _check_params(hours, rate, seed, non_post_share)
        try:
            start_dt = parse_time(start, "start")
        except ValueError as exc:
            raise ConfigError(f"start must be an ISO 8601 time, got {start!r}") from exc
        self.start = start_dt.replace(microsecond=0)
        self.duration_s = int(round(self.hours * 3600))
        self.end = self.start + timedelta(seconds=self.duration_s)
        self.start_us = int(self.start.timestamp()) * 1_000_000
        self.langs = languages()
        seeds = np.random.SeedSequence(self.seed).spawn(6)
        self._rng_authors, self._rng_plan, self._rng_bg, self._rng_burst, self._rng_np, self._rng_mix = (
            np.random.default_rng(s) for s in seeds)
        self._make_authors()
        self._plan()
        self._make_arrivals()

    # -- authors -----------------------------------------------------------------------------
    def _make_authors(self) -> None:
        rng = self._rng_authors
        expected_posts = self.rate * self.duration_s
        n = int(min(200_000, max(400, expected_posts * 0.45)))
        codes = list(LANG_SHARES)
        shares = np.array([LANG_SHARES[c] for c in codes])
        home = rng.choice(len(codes), size=n, p=shares / shares.sum())
        activity = rng.lognormal(0.0, 1.4, size=n)
        rnd = random.Random(self.seed * 1_000_003 + 17)
        self.author_dids = [random_did(rnd) for _ in range(n)]
        handles = []
        for i in range(n):
            stem = rnd.choice(vocab.HANDLE_STEMS)
            r = rnd.random()
            if r < 0.75:
                handles.append(f"{stem}{rnd.randrange(1000) if rnd.random() < 0.6 else ''}.bsky.social")
            elif r < 0.9:
                handles.append(f"{stem}.{rnd.choice(vocab.CUSTOM_HANDLE_DOMAINS)}")
            else:
                handles.append(f"{stem}.{rnd.choice(vocab.DOMAINS)}")
        self.author_handles = handles
        self.author_lang = [codes[i] for i in home]
        self._activity = activity
        # per-language pools (the "" pool posts English-looking text without langs)
        self._pools: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for k, code in enumerate(codes):
            idx = np.flatnonzero(home == k)
            if idx.size == 0:
                idx = np.arange(n)
            w = activity[idx]
            self._pools[code] = (idx, w / w.sum())
        self._all_p = activity / activity.sum()

    # -- labels ------------------------------------------------------------------------------
    def _rate_at(self, t_s: float) -> float:
        """Background posts/s at ``t_s`` seconds into the stream."""
        hour = (self.start_us / 3.6e9 + t_s / 3600.0) % 24.0
        return self.rate * (1.0 + DIURNAL_AMPLITUDE * math.sin(2 * math.pi * (hour - DIURNAL_PEAK_HOUR_UTC + 6) / 24))

    def _en_word_rate(self, t_s: float) -> np.ndarray:
        """Expected background posts/min containing each en content word at ``t_s``."""
        en = self.langs["en"]
        en_posts = self._rate_at(t_s) * 60 * (LANG_SHARES["en"] + LANG_SHARES[""])
        return en_posts * presence_probability(en.probs)

    def _plan(self) -> None:
        rng = self._rng_plan
        en = self.langs["en"]
        T = self.duration_s
        at = lambda s: self.start + timedelta(seconds=int(round(s)))  # noqa: E731

        # decoys that run all the time
        self._steady_word = en.content[0]
        self.decoys: list[TrendLabel] = [
            TrendLabel("d1", "steady_common", (self._steady_word,), self.start, self.end),
            TrendLabel("d2", "steady_hashtag", ("#" + STEADY_HASHTAG.lower(),), self.start, self.end),
        ]
        labelled_en = {self._steady_word}

        # trends
        warm = WARMUP_MINUTES * 60
        last_start = T - 12 * 60
        n = int(math.floor(TRENDS_PER_HOUR * (self.hours - WARMUP_MINUTES / 60) + 0.5)) if last_start > warm else 0
        self.trends: list[PlannedTrend] = []
        used_groups: dict[str, int] = {}
        total_per_min = self.rate * 60
        slot = (last_start - warm) / max(n, 1)
        for i in range(n):
            kind, lang = TREND_CYCLE[i % len(TREND_CYCLE)]
            t0 = float(round(warm + i * slot + rng.uniform(0, 0.6 * slot)))  # whole seconds
            dur = float(round(min(rng.uniform(10, 40) * 60, T - t0 - 60)))
            ramp_up = rng.uniform(0.5, 1.5) * 60  # breaking news: abrupt onset
            ramp_down = rng.uniform(2, min(6.0, max(2.0, (dur - ramp_up) / 60 - 2))) * 60
            mid = t0 + dur / 2
            hashtag: str | None = None
            if kind in ("new_hashtag", "non_english"):
                groups = EN_NEW_GROUPS if kind == "new_hashtag" else NON_EN_GROUPS[lang]
                k = used_groups.get(lang, 0)
                used_groups[lang] = k + 1
                tag, words = groups[k % len(groups)]
                if k >= len(groups):  # pools exhausted on very long streams: a numbered variant
                    tag = f"{tag}{k // len(groups) + 1}"
                hashtag, words = tag, list(words)
                share = rng.uniform(0.04, 0.08) if kind == "new_hashtag" else rng.uniform(0.03, 0.06)
                peak = max(15.0, total_per_min * share)
                keywords = ["#" + tag.lower(), *words]
                peak_rate = peak
            else:
                rates = self._en_word_rate(mid)
                en_per_min = self._rate_at(mid) * 60 * (LANG_SHARES["en"] + LANG_SHARES[""])
                if kind == "rising_common":
                    target, factor = max(1.5, 0.035 * en_per_min), rng.uniform(4.0, 6.0)
                else:
                    target, factor = max(1.5, 0.012 * en_per_min), rng.uniform(3.0, 4.0)
                candidates = [j for j, w in enumerate(en.content) if w not in labelled_en]
                order = sorted(candidates, key=lambda j: abs(math.log(rates[j] / target)))
                j = int(order[int(rng.integers(0, min(3, len(order))))])
                words = [en.content[j]]
                peak = rates[j] * (factor - 1)
                peak_rate = rates[j] * factor
                keywords = list(words)
            labelled_en |= set(words) if lang == "en" else set()
            label = TrendLabel(f"t{i + 1}", kind, tuple(keywords), at(t0), at(t0 + dur), lang, float(peak_rate))
            self.trends.append(PlannedTrend(label, hashtag, words, float(peak), ramp_up, ramp_down))
        self.labelled_en = frozenset(labelled_en)

        # spam decoys: about one per two hours, after the warm-up when there is room
        self.spams: list[PlannedSpam] = []
        n_spam = max(1, int(round(self.hours / 2))) if T > warm + 15 * 60 else 0
        spam_slot = (T - warm - 15 * 60) / max(n_spam, 1)
        for i in range(n_spam):
            tag, handle, texts, keywords = SPAM_CAMPAIGNS[i % len(SPAM_CAMPAIGNS)]
            t0 = float(round(warm + 5 * 60 + i * spam_slot + rng.uniform(0, 0.3 * spam_slot)))
            dur = float(round(min(rng.uniform(20, 50) * 60, T - t0 - 60)))
            self.author_dids.append(random_did(random.Random(self.seed * 31 + i)))
            self.author_handles.append(handle)
            self.author_lang.append("en")
            self.spams.append(PlannedSpam(
                TrendLabel(f"d{len(self.decoys) + 1}", "spam_author", tuple(keywords), at(t0), at(t0 + dur)),
                len(self.author_dids) - 1, tag, texts, float(rng.uniform(6, 15))))
            self.decoys.append(self.spams[-1].label)

    @property
    def labels(self) -> dict[str, Any]:
        """The ``labels.json`` mapping (:meth:`trendlab.labels.Labels.to_dict` of :attr:`label_set`)."""
        return self.label_set.to_dict()

    @property
    def label_set(self) -> Labels:
        return Labels(
            trends=tuple(t.label for t in self.trends), decoys=tuple(self.decoys), start=self.start, end=self.end,
            generator={"seed": self.seed, "hours": self.hours, "rate": self.rate, "start": format_time(self.start),
                       "end": format_time(self.end), "version": LABELS_VERSION},
        )

    # -- arrivals ----------------------------------------------------------------------------
    def _per_second_rate(self) -> np.ndarray:
        hours = (self.start_us / 3.6e9 + np.arange(self.duration_s) / 3600.0) % 24.0
        return self.rate * (1.0 + DIURNAL_AMPLITUDE * np.sin(2 * np.pi * (hours - DIURNAL_PEAK_HOUR_UTC + 6) / 24))

    @staticmethod
    def _poisson_times(rng: np.random.Generator, per_second: np.ndarray, offset_s: float = 0.0) -> np.ndarray:
        counts = rng.poisson(per_second)
        secs = np.repeat(np.arange(per_second.size, dtype=np.float64), counts)
        return (offset_s + secs + rng.random(secs.size)) * 1e6

    def _make_arrivals(self) -> None:
        codes = list(LANG_SHARES)
        # background posts
        bg_t = self._poisson_times(self._rng_bg, self._per_second_rate())
        n_bg = bg_t.size
        shares = np.array([LANG_SHARES[c] for c in codes])
        bg_lang = self._rng_bg.choice(len(codes), size=n_bg, p=shares / shares.sum()).astype(np.int16)
        bg_author = np.empty(n_bg, dtype=np.int64)
        for k, code in enumerate(codes):
            sel = np.flatnonzero(bg_lang == k)
            idx, p = self._pools[code]
            bg_author[sel] = idx[self._rng_bg.choice(idx.size, size=sel.size, p=p)]
        parts_t, parts_src, parts_lang, parts_author = [bg_t], [np.zeros(n_bg, np.int32)], [bg_lang], [bg_author]

        # trend posts: a ramp up, a plateau and a ramp down, sampled per second
        rng = self._rng_burst
        for i, tr in enumerate(self.trends):
            t0 = (tr.label.start - self.start).total_seconds()
            t1 = (tr.label.end - self.start).total_seconds()
            s = np.arange(int(t0), int(t1), dtype=np.float64) + 0.5
            shape = np.clip(np.minimum((s - t0) / tr.ramp_up_s, (t1 - s) / tr.ramp_down_s), 0.0, 1.0)
            per_second = tr.peak / 60.0 * shape
            times = self._poisson_times(rng, per_second, offset_s=int(t0))
            code = codes.index(tr.label.language)
            idx, p = self._pools[tr.label.language]
            # mostly ordinary people (uniform over the language's authors), some regular posters
            uniform = rng.random(times.size) < 0.8
            authors = np.where(uniform, idx[rng.integers(0, idx.size, times.size)],
                               idx[rng.choice(idx.size, size=times.size, p=p)])
            parts_t.append(times)
            parts_src.append(np.full(times.size, i + 1, np.int32))
            parts_lang.append(np.full(times.size, code, np.int16))
            parts_author.append(authors)

        # spam posts: one author, roughly every mean_gap_s seconds
        for j, sp in enumerate(self.spams):
            t0 = (sp.label.start - self.start).total_seconds()
            t1 = (sp.label.end - self.start).total_seconds()
            gaps = rng.exponential(sp.mean_gap_s, size=int((t1 - t0) / sp.mean_gap_s * 2) + 10)
            times = t0 + np.cumsum(gaps)
            times = times[times < t1] * 1e6
            parts_t.append(times)
            parts_src.append(np.full(times.size, -(j + 1), np.int32))
            parts_lang.append(np.full(times.size, codes.index("en"), np.int16))
            parts_author.append(np.full(times.size, sp.author, np.int64))

        post_t = np.concatenate(parts_t)
        n_posts = post_t.size
        # non-post events
        ratio = self.non_post_share / (1.0 - self.non_post_share)
        np_t = self._poisson_times(self._rng_np, self._per_second_rate() * ratio)
        n_np = np_t.size
        kinds = list(NON_POST_MIX)
        w = np.array([NON_POST_MIX[k] for k in kinds])
        np_kind = self._rng_np.choice(len(kinds), size=n_np, p=w / w.sum()).astype(np.int32)
        np_actor = self._rng_np.choice(len(self._all_p), size=n_np, p=self._all_p)

        t = np.concatenate([post_t, np_t])
        order = np.argsort(t, kind="stable")
        t_us = np.floor(t[order]).astype(np.int64) + self.start_us
        ar = np.arange(t_us.size, dtype=np.int64)
        t_us = np.maximum.accumulate(t_us - ar) + ar  # strictly increasing, moves ties by a few µs
        is_post = order < n_posts
        src = np.concatenate([np.concatenate(parts_src), np.full(n_np, 0, np.int32)])[order]
        sub = np.concatenate([np.concatenate(parts_lang).astype(np.int32), np_kind])[order]
        actor = np.concatenate([np.concatenate(parts_author), np_actor])[order]
        self.arrivals = Arrivals(t_us, is_post, src, sub, actor, kinds)
        self.n_events = int(t_us.size)
        self.n_posts = int(n_posts)

    def __len__(self) -> int:
        return self.n_events

    # -- events ------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[dict[str, Any]]:
        from trendlab.samples.events import EventBuilder

        return EventBuilder(self).events()


def iter_events(hours: float = 2.0, rate: float = 5.0, seed: int = 42, start: str | datetime = DEFAULT_START,
                non_post_share: float = 0.5) -> Iterator[dict[str, Any]]:
    """The events of ``SampleStream(...)`` (labels: ``SampleStream(...).labels``)."""
    return iter(SampleStream(hours, rate, seed, start, non_post_share))
