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

from trendlab.samples import words as vocab
from trendlab.errors import ConfigError
from trendlab.labels import Gap, Labels, TrendLabel
from trendlab.core.models import format_time, parse_time
from trendlab.samples.ids import random_did
from trendlab.samples.vocabularies import (
    BOT_HANDLE_STEMS,
    CAMPAIGN_TEMPLATES,
    DIURNAL_AMPLITUDE,
    DIURNAL_PEAK_HOUR_UTC,
    EN_NEW_GROUPS,
    LANG_SHARES,
    LANG_SHARES_V2,
    LANGS_MISSING,
    LANGS_MISSING_V2,
    MISTAGGED_STOP_WORDS,
    NON_EN_GROUPS,
    NON_POST_MIX,
    REPLY_SPAM_TEMPLATES,
    SPAM_CAMPAIGNS,
    STEADY_GIANTS,
    STEADY_PHRASES,
    STEADY_HASHTAG,
    STORY_MATERIAL,
    TREND_CYCLE,
    languages,
    presence_probability,
    render_template,
    slot_options,
    template_texts,
)

#: Version 1: the stream of the committed samples (no real-network cases); 2: with them (default).
GENERATOR_VERSIONS = (1, 2)
GENERATOR_VERSION = 2
LABELS_VERSION = 1  # the version 1 stream (kept for the committed samples)
#: Below this rate (posts/s) a version 2 stream's trends are small organic bursts (7-12 posts).
LOW_RATE = 0.1
CAMPAIGN_PER_MIN = 35.0       # at rate >= 5 posts/s; proportionally fewer below
REPLY_SPAM_PER_MIN = 8.0      # at rate >= 4 posts/s
BUMP_SHARE = 0.35             # the top-of-hour bump: +35 % of the stream for one minute
# source codes of planned arrivals (``Arrivals.src``)
CAMPAIGN_SRC, REPLY_SPAM_SRC, BUMP_SRC = -1000, -2000, -3000
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
    n_posts: int | None = None      # an exact number of posts from distinct authors (small bursts)
    phrase: str | None = None       # stories: the name as typed ("season finale")
    story_words: tuple[str, ...] = ()
    story_q: tuple[float, ...] = ()  # stories: the share of the story's posts carrying each word


@dataclass(slots=True)
class PlannedSpam:
    label: TrendLabel
    author: int                # index into the author table
    hashtag: str               # as typed, without '#'
    texts: list[str]
    mean_gap_s: float


@dataclass(slots=True)
class PlannedCampaign:
    """A copy-paste campaign (``reply=False``) or reply spam (``reply=True``): many posts of one
    template from ``authors``, at ``per_min`` posts/min after a linear ramp of ``ramp_s`` seconds."""

    label: TrendLabel
    template: str
    hashtags: list[str]
    authors: np.ndarray
    per_min: float
    ramp_s: float
    reply: bool


def template_keywords(template: str, hashtags: list[str] = ()) -> tuple[str, ...]:
    """What :class:`~trendlab.core.extract.KeywordExtractor` outputs for a template's words (every
    alternative) and its hashtags, in order of first appearance."""
    from trendlab.core.extract import KeywordExtractor

    ex = KeywordExtractor()
    out: dict[str, None] = {}
    for text in template_texts(template):
        out.update(dict.fromkeys(ex.extract(text, ["en"])))
    out.update(dict.fromkeys("#" + t.lower() for t in hashtags))
    return tuple(out)


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
                 start: str | datetime = DEFAULT_START, non_post_share: float = 0.5,
                 version: int = GENERATOR_VERSION, gaps: int | None = None) -> None:
        self.hours, self.rate, self.seed, self.non_post_share = _check_params(hours, rate, seed, non_post_share)
        if isinstance(version, bool) or version not in GENERATOR_VERSIONS:
            raise ConfigError(f"version must be one of {', '.join(map(str, GENERATOR_VERSIONS))}, got {version!r}")
        self.version = int(version)
        if gaps is not None and (isinstance(gaps, bool) or not isinstance(gaps, int) or not 0 <= gaps <= 2):
            raise ConfigError(f"gaps must be 0, 1 or 2, got {gaps!r}")
        if gaps and self.version == 1:
            raise ConfigError(f"gaps need generator version 2, got version {version!r}")
        self._gaps_asked = gaps
        self.lang_shares = LANG_SHARES if self.version == 1 else LANG_SHARES_V2
        self.langs_missing = LANGS_MISSING if self.version == 1 else LANGS_MISSING_V2
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
        self._rng_v2 = np.random.default_rng(np.random.SeedSequence([self.seed, 2]))
        self.gaps: list[tuple[float, float]] = []        # seconds into the stream, [start, end)
        self.bumps: list[float] = []                     # starts of the top-of-hour minutes
        self.campaigns: list[PlannedCampaign] = []       # campaigns and reply spam
        self.giants: list[tuple[str, float]] = []
        self._make_authors()
        self._plan()
        if self.version >= 2:
            self._plan_network()
        self._make_arrivals()

    # -- authors -----------------------------------------------------------------------------
    def _make_authors(self) -> None:
        rng = self._rng_authors
        expected_posts = self.rate * self.duration_s
        n = int(min(200_000, max(400, expected_posts * 0.45)))
        codes = list(self.lang_shares)
        shares = np.array([self.lang_shares[c] for c in codes])
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
        en_posts = self._rate_at(t_s) * 60 * (self.lang_shares["en"] + self.lang_shares[""])
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
        warm = WARMUP_MINUTES * 60
        low = self.version >= 2 and self.rate < LOW_RATE
        if self.version >= 2:
            # a warm-up long enough for ~60 background posts however low the rate
            warm = int(min(max(warm, 60 / self.rate), T / 2))
            self.warmup_s = warm
            self._plan_gaps(warm)
            # steady common words that label the return after a gap and the top-of-hour bump
            self._common_decoy_words = [w for w in en.content[1:] if w not in labelled_en][:6]
            labelled_en |= set(self._common_decoy_words)
        self.warmup_s = warm

        # trends
        last_start = T - 12 * 60
        per_hour = 1.0 if low else TRENDS_PER_HOUR
        n = int(math.floor(per_hour * (self.hours - warm / 3600) + 0.5)) if last_start > warm else 0
        self.trends: list[PlannedTrend] = []
        used_groups: dict[str, int] = {}
        total_per_min = self.rate * 60
        slot = (last_start - warm) / max(n, 1)
        for i in range(n):
            kind, lang = TREND_CYCLE[i % len(TREND_CYCLE)] if not low else ("small_burst", "en")
            t0 = float(round(warm + i * slot + rng.uniform(0, 0.6 * slot)))  # whole seconds
            if low:  # 7-12 posts from distinct authors over several minutes
                dur = float(round(min(rng.uniform(4, 10) * 60, T - t0 - 60)))
                t0 = self._clear_of_gaps(t0, dur)
                if t0 is None:
                    continue
                tag, words = EN_NEW_GROUPS[i % len(EN_NEW_GROUPS)]
                n_posts = int(rng.integers(7, 13))
                label = TrendLabel(f"t{len(self.trends) + 1}", kind, tuple(words), at(t0), at(t0 + dur), lang,
                                   float(n_posts / (dur / 60)))
                self.trends.append(PlannedTrend(label, None, list(words), n_posts / (dur / 60), 0.0, 0.0, n_posts))
                continue
            dur = float(round(min(rng.uniform(10, 40) * 60, T - t0 - 60)))
            if self.version >= 2:
                t0 = self._clear_of_gaps(t0, dur)
                if t0 is None:
                    continue
                dur = float(round(min(dur, T - t0 - 60)))
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
                en_per_min = self._rate_at(mid) * 60 * (self.lang_shares["en"] + self.lang_shares[""])
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
            label = TrendLabel(f"t{len(self.trends) + 1}", kind, tuple(keywords), at(t0), at(t0 + dur), lang,
                               float(peak_rate))
            self.trends.append(PlannedTrend(label, hashtag, words, float(peak), ramp_up, ramp_down))
        self._labelled = labelled_en
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
                len(self.author_dids) - 1, tag, texts,
                float(rng.uniform(6, 15)) * (max(1.0, 0.5 / self.rate) if self.version >= 2 else 1.0)))
            self.decoys.append(self.spams[-1].label)

    # -- version 2: what the real network carries ---------------------------------------------------
    def _plan_gaps(self, warm: float) -> None:
        """Whole-stream capture gaps: 2-20 minutes of nothing, after half the warm-up."""
        T = self.duration_s
        n = self._gaps_asked if self._gaps_asked is not None else (1 if T >= 90 * 60 else 0)
        lo, hi = warm / 2, T - 25 * 60
        if n == 0 or hi - lo < n * 10 * 60:
            return
        rng = self._rng_v2
        part = (hi - lo) / n
        for g in range(n):
            length = float(round(min(rng.uniform(2, 20) * 60, 0.4 * part)))
            g0 = float(round(lo + g * part + rng.uniform(0, 0.5 * part)))
            self.gaps.append((g0, g0 + length))

    def _clear_of_gaps(self, t0: float, dur: float) -> float | None:
        """``t0``, or a start 10 minutes after a gap that ``[t0 - 1 min, t0 + dur)`` touches; None
        when no such start leaves ``dur`` before the end."""
        for g0, g1 in self.gaps:
            if t0 < g1 + 600 and t0 + dur > g0 - 60:
                t0 = g1 + 600
        if t0 + min(dur, 4 * 60) > self.duration_s - 60 or any(
                t0 < g1 + 600 and t0 + dur > g0 - 60 for g0, g1 in self.gaps):
            return None
        return float(t0)

    def _new_author(self, rnd: random.Random, handle: str) -> int:
        self.author_dids.append(random_did(rnd))
        self.author_handles.append(handle)
        self.author_lang.append("en")
        return len(self.author_dids) - 1

    def _accounts(self, n: int, salt: int) -> np.ndarray:
        rnd = random.Random(self.seed * 7919 + salt)
        out = []
        for _ in range(n):
            stem = rnd.choice(vocab.HANDLE_STEMS)
            out.append(self._new_author(rnd, f"{stem}{rnd.randrange(10_000)}.bsky.social"))
        return np.array(out, dtype=np.int64)

    def _plan_network(self) -> None:
        """Campaigns, reply spam, giants, mis-tagged stop words, gaps, bumps and stories (labels)."""
        rng = self._rng_v2
        en = self.langs["en"]
        T = self.duration_s
        warm = self.warmup_s
        at = lambda s: self.start + timedelta(seconds=int(round(s)))  # noqa: E731
        decoys = self.decoys

        def decoy(kind: str, keywords: Any, t0: float, t1: float) -> TrendLabel:
            label = TrendLabel(f"d{len(decoys) + 1}", kind, tuple(keywords), at(t0), at(t1))
            decoys.append(label)
            return label

        # steady giants: names at a high steady rate all the time
        self.giants = list(STEADY_GIANTS)
        for name, _share in self.giants:
            decoy("steady_giant", [name.lower()], 0, T)
        # everyday phrases of common words, steady all the time
        decoy("steady_phrase", [phrase for phrase, _share in STEADY_PHRASES], 0, T)
        # English function words, which mis-tagged posts carry under another language's tag
        decoy("mistagged_stop_words", MISTAGGED_STOP_WORDS, 0, T)
        common = self._common_decoy_words
        if self.gaps:  # steady common words right after the (first) gap: no surge
            g1 = self.gaps[0][1]
            decoy("after_gap", common[:3], g1, min(T, g1 + 30 * 60))
        # the top-of-hour bump
        first = -(self.start_us // 1_000_000) % 3600
        self.bumps = [float(t) for t in range(first, T - 60, 3600)
                      if not any(g0 - 60 < t < g1 for g0, g1 in self.gaps)]
        if self.bumps:
            decoy("hourly_bump", common[3:6], self.bumps[0], self.bumps[-1] + 60)
            self._bots = np.array([self._new_author(random.Random(self.seed * 131 + k), f"{stem}.bsky.social")
                                   for k, stem in enumerate(BOT_HANDLE_STEMS * 7)], dtype=np.int64)

        # copy-paste campaigns: one from the start, one rising after the warm-up
        per_min = CAMPAIGN_PER_MIN * min(1.0, self.rate / 5)
        starts = [(0.0, 0.0)]
        if T - warm >= 30 * 60:
            starts.append((float(round(rng.uniform(warm * 0.8, max(warm * 0.8, T - 30 * 60)))),
                           float(rng.uniform(8, 15) * 60)))
        for j, (t0, ramp) in enumerate(starts):
            expected = per_min * (T - t0 - ramp / 2) / 60
            if expected < 10:
                continue
            template, tags = CAMPAIGN_TEMPLATES[j % len(CAMPAIGN_TEMPLATES)]
            authors = self._accounts(int(min(110, max(12, expected / 3))), 1000 + j)
            label = decoy("campaign", template_keywords(template, tags), t0, T)
            self.campaigns.append(PlannedCampaign(label, template, list(tags), authors, per_min, ramp, False))

        # reply spam: one plea sent as replies to many accounts, by a few authors or many
        per_min = REPLY_SPAM_PER_MIN * min(1.0, self.rate / 4)
        dur = min(rng.uniform(60, 100) * 60, T * 0.8)
        t0 = float(round(min(warm + 5 * 60, T - dur - 60) if T - dur - 60 > 0 else 0.0))
        if per_min * dur / 60 >= 10:
            template = REPLY_SPAM_TEMPLATES[int(rng.integers(len(REPLY_SPAM_TEMPLATES)))]
            n_auth = int(rng.integers(1, 4)) if rng.random() < 0.5 else 40
            authors = self._accounts(n_auth, 2000)
            label = decoy("reply_spam", template_keywords(template), t0, t0 + float(round(dur)))
            self.campaigns.append(PlannedCampaign(label, template, [], authors, per_min, 0.0, True))

        # real stories, two at a time: many authors, their own words, common words rising 6-15x
        if self.rate >= LOW_RATE and T - warm >= 40 * 60:
            n_pairs = max(1, int(round(self.hours / 3)))
            part = (T - warm - 35 * 60) / n_pairs
            materials = list(STORY_MATERIAL)
            order = rng.permutation(len(materials))
            used = 0
            for k in range(n_pairs):
                base = float(round(warm + k * part + rng.uniform(0, 0.5 * part)))
                for b in range(2):
                    t0 = base + (float(round(rng.uniform(0, 180))) if b else 0.0)
                    dur = float(round(min(rng.uniform(20, 35) * 60, T - t0 - 60)))
                    t0c = self._clear_of_gaps(t0, dur)
                    while used < len(materials):
                        phrase, cands = materials[order[used]]
                        used += 1
                        if not set(phrase.split()) & self._labelled:
                            break
                    else:
                        return
                    if t0c is None or dur < 12 * 60:
                        continue
                    self._plan_story(t0c, min(dur, T - t0c - 60), phrase, cands)
        self.labelled_en = frozenset(self._labelled)

    def _plan_story(self, t0: float, dur: float, phrase: str, candidates: list[str]) -> None:
        rng = self._rng_v2
        en = self.langs["en"]
        n_authors = int(np.clip(round(60 * self.rate), 40, 400))
        ramp_up, ramp_down = rng.uniform(1.5, 3) * 60, rng.uniform(3, 6) * 60
        peak = n_authors / ((dur - ramp_up / 2 - ramp_down / 2) / 60)  # story posts/min at the peak
        rates = self._en_word_rate(t0 + dur / 2)
        index = {w: j for j, w in enumerate(en.content)}
        phrase_words = phrase.split()
        pool = [w for w in candidates if w in index] + [w for w in en.content if w not in candidates]
        words, qs = [], []
        for w in pool:
            if w in self._labelled or w in phrase_words or len(words) >= 5:
                continue
            b = rates[index[w]]
            factor = rng.uniform(11, 14)  # 6-15x measured: a word's baseline is noisy at low counts
            q = (factor - 1) * b / peak
            if b >= 0.08 and 0.12 <= q <= 0.85:
                words.append(w)
                qs.append(float(q))
        if len(words) < 3:
            return
        # the phrase's own words are keywords too when the story lifts them 3x or more (a stop word that
        # the phrase holds, "world" in "world tour", is never one)
        keywords = [w for w in phrase_words if w in index and 1 + peak / max(rates[index[w]], 1e-9) >= 3] + words
        self._labelled |= set(words) | set(phrase_words)
        label = TrendLabel(f"t{len(self.trends) + 1}", "story", tuple(keywords),
                           self.start + timedelta(seconds=t0), self.start + timedelta(seconds=t0 + dur), "en",
                           float(peak), phrases=(phrase,))
        self.trends.append(PlannedTrend(label, None, list(phrase_words), float(peak), ramp_up, ramp_down,
                                        phrase=phrase, story_words=tuple(words), story_q=tuple(qs)))

    @property
    def labels(self) -> dict[str, Any]:
        """The ``labels.json`` mapping (:meth:`trendlab.labels.Labels.to_dict` of :attr:`label_set`)."""
        return self.label_set.to_dict()

    @property
    def label_set(self) -> Labels:
        return Labels(
            trends=tuple(t.label for t in self.trends), decoys=tuple(self.decoys), start=self.start, end=self.end,
            generator=self._generator_block(),
            gaps=tuple(Gap(self.start + timedelta(seconds=g0), self.start + timedelta(seconds=g1))
                       for g0, g1 in self.gaps),
        )

    def _generator_block(self) -> dict[str, Any]:
        block: dict[str, Any] = {"seed": self.seed, "hours": self.hours, "rate": self.rate,
                                 "start": format_time(self.start), "end": format_time(self.end)}
        if self.version == 1:
            return {**block, "version": LABELS_VERSION}
        return {**block, "version": self.version, "non_post_share": self.non_post_share, "gaps": len(self.gaps)}

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
        codes = list(self.lang_shares)
        # background posts
        bg_t = self._poisson_times(self._rng_bg, self._per_second_rate())
        n_bg = bg_t.size
        shares = np.array([self.lang_shares[c] for c in codes])
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
            code = codes.index(tr.label.language)
            idx, p = self._pools[tr.label.language]
            if tr.n_posts is not None:  # a small burst: exactly n posts from distinct authors
                times = np.sort(t0 + rng.random(tr.n_posts) * (t1 - t0)) * 1e6
                authors = idx[rng.choice(idx.size, size=tr.n_posts, replace=tr.n_posts > idx.size)]
            else:
                s = np.arange(int(t0), int(t1), dtype=np.float64) + 0.5
                shape = np.clip(np.minimum((s - t0) / tr.ramp_up_s, (t1 - s) / tr.ramp_down_s), 0.0, 1.0)
                per_second = tr.peak / 60.0 * shape
                times = self._poisson_times(rng, per_second, offset_s=int(t0))
                if tr.phrase is not None:  # a story: every post from another author
                    authors = idx[rng.choice(idx.size, size=times.size, replace=times.size > idx.size)]
                else:
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

        np_rate = self._per_second_rate()
        if self.version >= 2:
            self._network_arrivals(parts_t, parts_src, parts_lang, parts_author)
            bump = self._bump_mask()
            np_rate = np_rate * (1.0 + BUMP_SHARE * bump)
        post_t = np.concatenate(parts_t)
        n_posts = post_t.size
        # non-post events
        ratio = self.non_post_share / (1.0 - self.non_post_share)
        np_t = self._poisson_times(self._rng_np, np_rate * ratio)
        n_np = np_t.size
        kinds = list(NON_POST_MIX)
        w = np.array([NON_POST_MIX[k] for k in kinds])
        np_kind = self._rng_np.choice(len(kinds), size=n_np, p=w / w.sum()).astype(np.int32)
        np_actor = self._rng_np.choice(len(self._all_p), size=n_np, p=self._all_p)

        t = np.concatenate([post_t, np_t])
        if self.gaps:  # the whole stream is silent inside a gap
            keep = np.ones(t.size, dtype=bool)
            for g0, g1 in self.gaps:
                keep &= (t < g0 * 1e6) | (t >= g1 * 1e6)
            kept_posts = int(keep[:n_posts].sum())
            post_src = np.concatenate(parts_src)[keep[:n_posts]]
            post_lang = np.concatenate(parts_lang)[keep[:n_posts]]
            post_author = np.concatenate(parts_author)[keep[:n_posts]]
            np_kind, np_actor = np_kind[keep[n_posts:]], np_actor[keep[n_posts:]]
            t = t[keep]
            n_np = t.size - kept_posts
            n_posts = kept_posts
            parts_src, parts_lang, parts_author = [post_src], [post_lang], [post_author]
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

    def _bump_mask(self) -> np.ndarray:
        """1.0 in the seconds of a top-of-hour bump, else 0.0."""
        mask = np.zeros(self.duration_s)
        for b in self.bumps:
            mask[int(b):int(b) + 60] = 1.0
        return mask

    def _network_arrivals(self, parts_t: list, parts_src: list, parts_lang: list, parts_author: list) -> None:
        """Arrivals of the version 2 cases: campaigns and reply spam, and the bots of the bump."""
        rng = self._rng_v2
        en = list(self.lang_shares).index("en")
        for j, c in enumerate(self.campaigns):
            t0 = (c.label.start - self.start).total_seconds()
            t1 = (c.label.end - self.start).total_seconds()
            s = np.arange(int(t0), int(t1), dtype=np.float64) + 0.5
            shape = np.clip((s - t0) / c.ramp_s, 0.0, 1.0) if c.ramp_s > 0 else np.ones(s.size)
            times = self._poisson_times(rng, c.per_min / 60.0 * shape, offset_s=int(t0))
            parts_t.append(times)
            parts_src.append(np.full(times.size, CAMPAIGN_SRC - j, np.int32))
            parts_lang.append(np.full(times.size, en, np.int16))
            parts_author.append(c.authors[rng.integers(0, c.authors.size, times.size)])
        if self.bumps:
            # bots posting on the hour: ordinary-looking posts in every language, +35 % for a minute
            times = self._poisson_times(rng, self._per_second_rate() * BUMP_SHARE * self._bump_mask())
            codes = list(self.lang_shares)
            shares = np.array([self.lang_shares[c] for c in codes])
            parts_t.append(times)
            parts_src.append(np.full(times.size, BUMP_SRC, np.int32))
            parts_lang.append(rng.choice(len(codes), size=times.size, p=shares / shares.sum()).astype(np.int16))
            parts_author.append(self._bots[rng.integers(0, self._bots.size, times.size)])

    def __len__(self) -> int:
        return self.n_events

    # -- events ------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[dict[str, Any]]:
        from trendlab.samples.events import EventBuilder

        return EventBuilder(self).events()


def iter_events(hours: float = 2.0, rate: float = 5.0, seed: int = 42, start: str | datetime = DEFAULT_START,
                non_post_share: float = 0.5, version: int = GENERATOR_VERSION,
                gaps: int | None = None) -> Iterator[dict[str, Any]]:
    """The events of ``SampleStream(...)`` (labels: ``SampleStream(...).labels``)."""
    return iter(SampleStream(hours, rate, seed, start, non_post_share, version, gaps))
