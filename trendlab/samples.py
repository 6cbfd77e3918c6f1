"""Labelled synthetic Bluesky streams: Jetstream JSON lines plus the trends hidden in them.

``generate(out_dir, hours=2, rate=5, seed=42)`` writes ``out_dir/posts.jsonl`` (one Jetstream event
per line, in event-time order) and ``out_dir/labels.json`` (the injected trends and the decoys), and
returns a :class:`SampleSummary`. :class:`SampleStream` is the same stream as an iterator of event
dicts, for streams too large to keep or for feeding Kafka directly::

    stream = SampleStream(hours=1, rate=5, seed=7)
    stream.labels                      # the labels.json dict
    for event in stream: ...           # Jetstream event dicts, time_us increasing

What is in the stream
---------------------
* **Background posts**: Poisson arrivals at ``rate`` posts/s with a mild diurnal wave (±12 % over a
  day, peak at 21:00 UTC). Languages en 60 %, ja 15 %, pt 10 %, de 5 %, es 5 %, fr/ko 3 % and 2 %
  English-looking posts without ``langs``; a few en posts omit ``langs`` too. Text is made of
  content words drawn with Zipf-like weights from :mod:`trendlab.vocab`, glued with the language's
  function words, plus hashtags (``#tag`` facets), @mentions of handles with dots (mention facets),
  links with and without a scheme (link facets), emoji, image embeds and replies (~30 %). Authors
  have a log-normal activity: a few heavy posters, many light ones, each with a home language.
* **Non-post events** (``non_post_share`` of all events, default 0.5): likes, reposts, follows,
  blocks, profile updates, deletes and ``identity`` / ``account`` events.
* **Trends** (labelled, after a 40 minute warm-up, ~3.5 per hour): ``new_hashtag`` (a new hashtag
  with 2-3 companion words posted together), ``rising_common`` (an already common word whose rate
  jumps 4-6x), ``weak`` (a less common word rising 3-4x: modest counts) and ``non_english``
  (ja, pt, es, de groups). Each ramps up abruptly, over 0.5-1.5 minutes (breaking news), lasts 10-40
  minutes in all, comes from many distinct authors, and its words co-occur in the same posts. Posts
  of a hashtag burst carry few other words, spread evenly over the vocabulary; posts of a rising or
  weak word are otherwise ordinary posts (Zipf weights), so they lift other words only by their
  share of the language's posts.
* **Decoys** (labelled, must not alert): ``spam_author`` (one account posting the same pitch every
  few seconds for 20-50 minutes), ``steady_common`` (the most common word, all the time) and
  ``steady_hashtag`` (``#nowplaying`` from many authors, all the time).

Every label keyword is exactly what :class:`trendlab.extract.KeywordExtractor` outputs for the
posts that carry it; trend words never occur in the background except the ``rising_common`` and
``weak`` words, which are background words by definition. Output is byte-identical for a seed.
"""

from __future__ import annotations

import argparse
import gzip
import math
import os
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from trendlab import vocab
from trendlab.errors import ConfigError
from trendlab.labels import Labels, TrendLabel
from trendlab.models import format_time, parse_time

__all__ = [
    "DEFAULT_START",
    "SampleStream",
    "SampleSummary",
    "add_cli",
    "generate",
    "iter_events",
]

LABELS_VERSION = 1
DEFAULT_START = "2025-02-09T20:00:00Z"
WARMUP_MINUTES = 40
TRENDS_PER_HOUR = 3.5

#: Language shares of posts. ``""`` = English-looking text without ``langs``.
LANG_SHARES: dict[str, float] = {"en": 0.60, "ja": 0.15, "pt": 0.10, "de": 0.05, "es": 0.05,
                                 "fr": 0.02, "ko": 0.01, "": 0.02}
#: Share of posts in a language that omit ``langs`` anyway.
LANGS_MISSING = {"en": 0.04, "ja": 0.02, "pt": 0.03, "de": 0.03, "es": 0.03, "fr": 0.03, "ko": 0.03}

#: Non-post event mix (relative weights).
NON_POST_MIX = {"like": 0.55, "repost": 0.09, "follow": 0.12, "block": 0.01, "profile": 0.02,
                "delete": 0.15, "identity": 0.035, "account": 0.025}

DIURNAL_AMPLITUDE = 0.12
DIURNAL_PEAK_HOUR_UTC = 21.0
REPLY_SHARE = 0.30
STEADY_HASHTAG_SHARE = 0.06  # of en posts

# -- trend and decoy material ---------------------------------------------------------------------
# (hashtag as typed, companion words). Label keywords: "#" + hashtag.lower(), then the companions.
# None of these words occurs in trendlab.vocab (a unit test checks it).

EN_NEW_GROUPS: list[tuple[str, list[str]]] = [
    ("SuperBowlLIX", ["halftime", "kendrick", "touchdown"]),
    ("SolarStorm", ["aurora", "geomagnetic"]),
    ("ServerOutage", ["outage", "downtime"]),
    ("Earthquake", ["magnitude", "epicenter", "tremor"]),
    ("NewAlbumFriday", ["tracklist", "preorder"]),
    ("TrailerDrop", ["teaser", "sequel"]),
    ("Blizzard2025", ["whiteout", "snowdrifts"]),
    ("ChessOlympiad", ["grandmaster", "checkmate"]),
    ("MarchMadness", ["bracket", "buzzer"]),
    ("ComicCon", ["cosplay", "autographs"]),
    ("HeatDome", ["heatwave", "scorching"]),
    ("AppleEvent", ["keynote", "iphone"]),
    ("PlanetParade", ["telescope", "jupiter"]),
    ("RocketLaunch", ["liftoff", "booster", "countdown"]),
    ("TrainDerailment", ["derailment", "evacuation"]),
    ("GoldenGlobes", ["nominees", "acceptance"]),
]

# (language, hashtag, companions). ja companions are nouns joined with particles (と/や).
NON_EN_GROUPS: dict[str, list[tuple[str, list[str]]]] = {
    "ja": [
        ("地震", ["震度", "津波"]),
        ("箱根駅伝", ["区間", "駅伝"]),
        ("大雪", ["積雪", "通行"]),
        ("台風", ["暴風", "警報"]),
        ("流星群", ["流星", "観測"]),
        ("株価", ["暴落", "日経"]),
        ("花粉症", ["花粉", "くしゃみ"]),
    ],
    "pt": [
        ("Carnaval2025", ["desfile", "sambódromo", "fantasia"]),
        ("BBB25", ["paredão", "eliminação"]),
        ("Enchentes", ["alagamento", "desabrigados"]),
    ],
    "es": [
        ("ElClásico", ["golazo", "remontada"]),
        ("Terremoto", ["sismo", "epicentro"]),
        ("Eurovisión", ["benidorm", "votación"]),
    ],
    "de": [
        ("Bundestagswahl", ["hochrechnung", "wahlbeteiligung"]),
        ("Tatort", ["kommissar", "krimi"]),
        ("Glatteis", ["unfälle", "streusalz"]),
    ],
}

#: The order in which trend kinds are scheduled (cycled): a short stream gets one of each first.
TREND_CYCLE: list[tuple[str, str]] = [
    ("new_hashtag", "en"), ("non_english", "ja"), ("rising_common", "en"), ("weak", "en"),
    ("non_english", "pt"), ("new_hashtag", "en"), ("non_english", "es"), ("weak", "en"),
    ("rising_common", "en"), ("non_english", "de"), ("new_hashtag", "en"), ("non_english", "ja"),
]

# Spam decoys: (hashtag, handle, texts). Every text extracts to exactly the decoy keywords.
SPAM_CAMPAIGNS: list[tuple[str, str, list[str], list[str]]] = [
    ("CryptoMoon", "moonpump-official.bsky.social",
     ["#CryptoMoon airdrop: claim your tokens", "claim your #CryptoMoon tokens before the airdrop ends",
      "#CryptoMoon airdrop tokens, claim now"],
     ["#cryptomoon", "airdrop", "claim", "tokens"]),
    ("FollowTrain", "growfast4u.bsky.social",
     ["#FollowTrain gain followers fast, guaranteed", "guaranteed followers: join the #FollowTrain",
      "#FollowTrain followers guaranteed, gain fast"],
     ["#followtrain", "gain", "followers", "fast", "guaranteed"]),
    ("MegaGiveaway", "prize-palace.bsky.social",
     ["#MegaGiveaway win a console, repost to enter", "repost to enter the #MegaGiveaway console prize",
      "#MegaGiveaway console prize, repost and win"],
     ["#megagiveaway", "win", "console", "repost", "enter", "prize"]),
]
# The labels list every keyword the spam posts produce; none of them occurs in the background.

STEADY_HASHTAG = "NowPlaying"

_B32 = "234567abcdefghijklmnopqrstuvwxyz"  # atproto TID alphabet (sortable base32)


# -- public records -------------------------------------------------------------------------------

@dataclass(slots=True)
class SampleSummary:
    """What :func:`generate` wrote."""

    posts_path: Path
    labels_path: Path
    events: int
    posts: int
    bytes: int
    seconds: float
    trends: list[TrendLabel] = field(default_factory=list)
    decoys: list[TrendLabel] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"{self.events} events ({self.posts} posts), {len(self.trends)} trends, "
                f"{len(self.decoys)} decoys, {self.bytes / 1e6:.1f} MB -> {self.posts_path} "
                f"in {self.seconds:.1f}s")


# -- vocabulary ------------------------------------------------------------------------------------

def _trend_words() -> dict[str, set[str]]:
    """Words reserved for trends and spam decoys, per language (lower-case): the background never
    uses them."""
    out: dict[str, set[str]] = {"en": set()}
    for tag, words in EN_NEW_GROUPS:
        out["en"] |= {tag.lower(), *words}
    for lang, groups in NON_EN_GROUPS.items():
        out.setdefault(lang, set())
        for tag, words in groups:
            out[lang] |= {tag.lower(), *words}
    for _tag, _handle, _texts, keywords in SPAM_CAMPAIGNS:
        out["en"] |= {k.lstrip("#") for k in keywords}
    return out


@dataclass(slots=True)
class _Language:
    code: str
    content: list[str]
    cum_weights: list[float]
    function: list[str]
    hashtags: list[str]
    tag_cum_weights: list[float]
    #: probability that a word drawn from ``content`` is each word (for baseline rates)
    probs: np.ndarray


def _zipf_weights(n: int, s: float = 1.0, q: float = 4.0) -> np.ndarray:
    w = 1.0 / (np.arange(n) + q) ** s
    return w / w.sum()


def _dedupe(words: list[str]) -> list[str]:
    return list(dict.fromkeys(words))


@lru_cache(maxsize=1)
def _languages() -> dict[str, _Language]:
    """The per-language vocabularies, filtered through the keyword extractor so that every content
    word extracts as itself and every function word as nothing."""
    from trendlab.extract import KeywordExtractor

    ex = KeywordExtractor()
    reserved = _trend_words()
    raw = {
        "en": (vocab.EN_CONTENT, vocab.EN_FUNCTION, vocab.EN_HASHTAGS),
        "pt": (vocab.PT_CONTENT, vocab.PT_FUNCTION, vocab.PT_HASHTAGS),
        "es": (vocab.ES_CONTENT, vocab.ES_FUNCTION, vocab.ES_HASHTAGS),
        "de": (vocab.DE_CONTENT, vocab.DE_FUNCTION, vocab.DE_HASHTAGS),
        "fr": (vocab.FR_CONTENT, vocab.FR_FUNCTION, ["#musique", "#photographie", "#chats"]),
        "ko": (vocab.KO_CONTENT, vocab.KO_FUNCTION, ["#일상", "#고양이"]),
        "ja": (vocab.JA_NOUNS, vocab.JA_PARTICLES, vocab.JA_HASHTAGS),
    }
    langs: dict[str, _Language] = {}
    for code, (content, function, tags) in raw.items():
        banned = reserved.get(code, set()) | {STEADY_HASHTAG.lower()}
        if code == "ja":
            words = [w for w in _dedupe(content) if w not in banned and ex.extract(f"の{w}が", ["ja"]) == [w]]
            func = list(function)
        else:
            words = [w for w in _dedupe(content) if w not in banned and ex.extract(w, [code]) == [w]]
            func = [w for w in _dedupe(function) if not ex.extract(w, [code])]
        tags = [t for t in _dedupe(tags) if t[1:].lower() not in banned]
        probs = _zipf_weights(len(words))
        langs[code] = _Language(
            code=code, content=words, cum_weights=list(np.cumsum(probs)), function=func,
            hashtags=tags, tag_cum_weights=list(np.cumsum(_zipf_weights(len(tags), 1.0, 1.0))), probs=probs,
        )
    return langs


@lru_cache(maxsize=1)
def _ja_predicates() -> list[str]:
    from trendlab.extract import KeywordExtractor

    ex = KeywordExtractor()
    return [p for p in vocab.JA_PREDICATES if not ex.extract("猫が" + p, ["ja"])]


#: Content words per post: 1 + Poisson(CONTENT_MEAN); used for the analytic baseline too.
CONTENT_MEAN = 4.0


def _presence_probability(p: np.ndarray | float) -> np.ndarray | float:
    """P(a word with per-draw probability p occurs in a post of 1 + Poisson(mu) content draws)."""
    return 1.0 - (1.0 - p) * np.exp(-CONTENT_MEAN * p)


# -- random identifiers ---------------------------------------------------------------------------

_B32_PAIRS = [a + b for a in _B32 for b in _B32]      # 10 bits -> two characters
_B32_BYTES = bytes(ord(_B32[b & 31]) for b in range(256))  # a random byte -> one character


def _tid(us: int, clock: int) -> str:
    """An atproto TID (13 sortable base32 characters) for a time in microseconds."""
    v = (us << 10) | (clock & 0x3FF)
    p = _B32_PAIRS
    return (_B32[(v >> 60) & 31] + p[(v >> 50) & 1023] + p[(v >> 40) & 1023] + p[(v >> 30) & 1023]
            + p[(v >> 20) & 1023] + p[(v >> 10) & 1023] + p[v & 1023])


def _b32(rnd: random.Random, nchars: int) -> str:
    return rnd.randbytes(nchars).translate(_B32_BYTES).decode("ascii")


def _cid(rnd: random.Random) -> str:
    return "bafyrei" + _b32(rnd, 52)


def _did(rnd: random.Random) -> str:
    return "did:plc:" + _b32(rnd, 24)


def _iso_ms(us: int) -> str:
    dt = datetime.fromtimestamp(us // 1_000_000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{(us // 1000) % 1000:03d}Z"


# -- the plan: labels and arrival times ------------------------------------------------------------

@dataclass(slots=True)
class _Trend:
    label: TrendLabel
    hashtag: str | None        # as typed, without '#'
    words: list[str]           # companions or the rising word
    peak: float                # injected posts/min at the peak
    ramp_up_s: float
    ramp_down_s: float


@dataclass(slots=True)
class _Spam:
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
        self._langs = _languages()
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
        self.author_dids = [_did(rnd) for _ in range(n)]
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
        en = self._langs["en"]
        en_posts = self._rate_at(t_s) * 60 * (LANG_SHARES["en"] + LANG_SHARES[""])
        return en_posts * _presence_probability(en.probs)

    def _plan(self) -> None:
        rng = self._rng_plan
        en = self._langs["en"]
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
        self.trends: list[_Trend] = []
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
            self.trends.append(_Trend(label, hashtag, words, float(peak), ramp_up, ramp_down))
        self._labelled_en = frozenset(labelled_en)

        # spam decoys: about one per two hours, after the warm-up when there is room
        self.spams: list[_Spam] = []
        n_spam = max(1, int(round(self.hours / 2))) if T > warm + 15 * 60 else 0
        spam_slot = (T - warm - 15 * 60) / max(n_spam, 1)
        for i in range(n_spam):
            tag, handle, texts, keywords = SPAM_CAMPAIGNS[i % len(SPAM_CAMPAIGNS)]
            t0 = float(round(warm + 5 * 60 + i * spam_slot + rng.uniform(0, 0.3 * spam_slot)))
            dur = float(round(min(rng.uniform(20, 50) * 60, T - t0 - 60)))
            self.author_dids.append(_did(random.Random(self.seed * 31 + i)))
            self.author_handles.append(handle)
            self.author_lang.append("en")
            self.spams.append(_Spam(
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
        self._np_kinds = kinds

        t = np.concatenate([post_t, np_t])
        order = np.argsort(t, kind="stable")
        t_us = np.floor(t[order]).astype(np.int64) + self.start_us
        ar = np.arange(t_us.size, dtype=np.int64)
        t_us = np.maximum.accumulate(t_us - ar) + ar  # strictly increasing, moves ties by a few µs
        is_post = order < n_posts
        src = np.concatenate([np.concatenate(parts_src), np.full(n_np, 0, np.int32)])[order]
        sub = np.concatenate([np.concatenate(parts_lang).astype(np.int32), np_kind])[order]
        actor = np.concatenate([np.concatenate(parts_author), np_actor])[order]
        self._t_us, self._is_post, self._src, self._sub, self._actor = t_us, is_post, src, sub, actor
        self.n_events = int(t_us.size)
        self.n_posts = int(n_posts)

    def __len__(self) -> int:
        return self.n_events

    # -- events ------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[dict[str, Any]]:
        return _EventBuilder(self).events()


def iter_events(hours: float = 2.0, rate: float = 5.0, seed: int = 42, start: str | datetime = DEFAULT_START,
                non_post_share: float = 0.5) -> Iterator[dict[str, Any]]:
    """The events of ``SampleStream(...)`` (labels: ``SampleStream(...).labels``)."""
    return iter(SampleStream(hours, rate, seed, start, non_post_share))


class _EventBuilder:
    """Turns the planned arrivals into Jetstream event dicts (the per-event Python part)."""

    def __init__(self, stream: SampleStream) -> None:
        self.s = stream
        self.rnd = random.Random(stream.seed * 2_654_435_761 % (2**61 - 1) + 3)
        self.langs = stream._langs
        self.codes = list(LANG_SHARES)
        self.recent: list[tuple[str, str]] = []   # (uri, cid) of recent posts, for replies and likes
        self.seq = 4_200_000_000 + stream.seed * 1000
        self.ja_predicates = _ja_predicates()
        self.labelled_en = stream._labelled_en

    # text pieces ------------------------------------------------------------------------------
    def _content(self, lang: _Language, k: int, burst: str | None) -> list[str]:
        """``k`` content words of ``lang`` for a background post (``burst`` None) or a post of a burst
        of that kind."""
        if burst in ("new_hashtag", "non_english"):
            # A post about a new hashtag is carried by the trend's own words; its few other words
            # spread over the whole vocabulary, so a burst in a small language does not lift that
            # language's common words (at 1 post/s a burst can outnumber the language's own posts).
            words = [self.rnd.choice(lang.content) for _ in range(k)]
        else:
            # Background posts, and the ordinary posts that mention a rising or weak word: Zipf
            # weights, so such a burst lifts every other word by the same small share (its share of
            # the language's posts) instead of lifting rare words most.
            words = self.rnd.choices(lang.content, cum_weights=lang.cum_weights, k=k)
        if burst and lang.code == "en":
            # burst posts never add to another labelled word's count
            words = [w for w in words if w not in self.labelled_en]
        return words

    def _latin_sentence(self, lang: _Language, words: list[str]) -> str:
        rnd = self.rnd
        tokens: list[str] = []
        for w in words:
            if lang.function and rnd.random() < 0.65:
                tokens.extend(rnd.sample(lang.function, k=1 if rnd.random() < 0.7 else 2))
            tokens.append(w)
        if lang.function and rnd.random() < 0.3:
            tokens.append(rnd.choice(lang.function))
        text = " ".join(tokens)
        text = text[:1].upper() + text[1:] if rnd.random() < 0.7 else text
        return text + rnd.choice(("", "", ".", ".", "!", "!!", "?", "...", " lol" if lang.code == "en" else "!"))

    def _ja_sentence(self, lang: _Language, words: list[str]) -> str:
        rnd = self.rnd
        out = []
        for w in words:
            out.append(w + rnd.choice(lang.function))
        out.append(rnd.choice(self.ja_predicates))
        return "".join(out) + rnd.choice(("", "", "。", "！", "…", "〜"))

    def _handle_for_mention(self) -> tuple[str, str]:
        j = self.rnd.randrange(len(self.s.author_dids))
        return self.s.author_handles[j], self.s.author_dids[j]

    def _link(self) -> tuple[str, str]:
        rnd = self.rnd
        host = rnd.choice(vocab.DOMAINS)
        path = "/" + "/".join(_b32(rnd, rnd.randint(4, 8)) for _ in range(rnd.randint(1, 3)))
        uri = f"https://{host}{path}"
        r = rnd.random()
        if r < 0.45:
            shown = uri if len(uri) < 40 else uri[:37] + "..."
        elif r < 0.85:
            shown = f"{host}{path}"
            shown = shown if len(shown) < 32 else shown[:29] + "..."
        else:
            shown, uri = host, f"https://{host}"
        return shown, uri

    # posts ------------------------------------------------------------------------------------
    def post(self, t_us: int, author: int, lang_code: str, src: int) -> dict[str, Any]:
        rnd = self.rnd
        s = self.s
        trend = s.trends[src - 1] if src > 0 else None
        spam = s.spams[-src - 1] if src < 0 else None
        text_lang = lang_code or "en"
        lang = self.langs[text_lang]
        ja = text_lang == "ja"
    
        parts: list[str] = []
        facets: list[dict[str, Any]] = []
        pos = 0

        def add(piece: str, feature: dict[str, Any] | None = None) -> None:
            nonlocal pos
            n = len(piece.encode("utf-8"))
            if feature is not None:
                facets.append({"index": {"byteStart": pos, "byteEnd": pos + n}, "features": [feature]})
            parts.append(piece)
            pos += n

        def tag(t: str) -> None:
            add("#" + t, {"$type": "app.bsky.richtext.facet#tag", "tag": t})

        if spam is not None:
            text = rnd.choice(spam.texts)
            typed = spam.hashtag
            head, _, tail = text.partition("#" + typed)
            add(rnd.choice(("🚀 ", "💰 ", "🔥 ", "")) + head)
            tag(typed)
            add(tail + " ")
            shown = "moonpump.xyz/" + _b32(rnd, 6)
            add(shown, {"$type": "app.bsky.richtext.facet#link", "uri": "https://" + shown})
            add(" " + rnd.choice(("🚀", "💎🙌", "!!!", "✅")))
            return self._post_event(t_us, author, "".join(parts), facets, ["en"], reply=False, embed=False)

        # leading mention (shout-outs, reply-style)
        if rnd.random() < 0.06:
            handle, did = self._handle_for_mention()
            add("@" + handle, {"$type": "app.bsky.richtext.facet#mention", "did": did})
            add(" ")

        burst = trend is not None
        if burst and trend.label.kind in ("new_hashtag", "non_english"):
            n_content = _poisson(rnd, 1.5)  # the trend's own words carry the post
        else:
            n_content = 1 + _poisson(rnd, CONTENT_MEAN)
        words = self._content(lang, n_content, trend.label.kind if burst else None)
        inline_tag: str | None = None
        trend_tags: list[str] = []
        extra_sentence: str | None = None
        if trend is not None:
            kind = trend.label.kind
            if kind in ("rising_common", "weak"):
                words.insert(rnd.randrange(len(words) + 1), trend.words[0])
            else:
                chosen = [w for w in trend.words if rnd.random() < 0.75]
                has_tag = rnd.random() < 0.9
                if not chosen or (not has_tag and len(chosen) < 2):
                    chosen = trend.words[:2] if not has_tag else trend.words[:1]
                if ja:
                    joiner = rnd.choice(("と", "や"))
                    extra_sentence = joiner.join(chosen) + rnd.choice(("が", "で", "の")) + rnd.choice(self.ja_predicates)
                else:
                    for w in chosen:
                        words.insert(rnd.randrange(len(words) + 1), w)
                if has_tag and trend.hashtag:
                    if not ja and rnd.random() < 0.3:
                        inline_tag = trend.hashtag
                    else:
                        trend_tags.append(trend.hashtag)

        # body: one or two sentences
        if ja:
            words = words[:4]
            cut = len(words) if len(words) < 3 else rnd.randrange(1, len(words))
            sentences = [self._ja_sentence(lang, words[:cut])]
            if cut < len(words):
                sentences.append(self._ja_sentence(lang, words[cut:]))
            if extra_sentence:
                sentences.insert(rnd.randrange(len(sentences) + 1), extra_sentence)
            body = "".join(sentences)
        else:
            cut = len(words) if len(words) < 5 or rnd.random() < 0.6 else rnd.randrange(2, len(words))
            body = self._latin_sentence(lang, words[:cut])
            if cut < len(words):
                body += " " + self._latin_sentence(lang, words[cut:])
        if inline_tag:
            # the hashtag replaces a space inside the body
            spaces = [i for i, ch in enumerate(body) if ch == " "]
            if spaces:
                i = rnd.choice(spaces)
                add(body[: i + 1])
                tag(inline_tag)
                add(body[i:])
            else:
                add(body + " ")
                tag(inline_tag)
        else:
            add(body)

        # a mention inside the text
        if rnd.random() < 0.05:
            handle, did = self._handle_for_mention()
            add(rnd.choice((" with ", " cc ", " h/t ")) if not ja else " ")
            add("@" + handle, {"$type": "app.bsky.richtext.facet#mention", "did": did})
        # a link
        linked = rnd.random() < 0.10
        if linked:
            shown, uri = self._link()
            add(" ")
            add(shown, {"$type": "app.bsky.richtext.facet#link", "uri": uri})
        # emoji
        if rnd.random() < 0.3:
            add("" if ja and not linked and not parts[-1][-1:].isascii() else " ")
            add("".join(rnd.choices(vocab.EMOJI, k=rnd.choice((1, 1, 1, 2, 3)))))
        # hashtags at the end
        tags = list(trend_tags)
        if rnd.random() < 0.10 and lang.hashtags:
            tags.extend(t[1:] for t in rnd.choices(lang.hashtags, cum_weights=lang.tag_cum_weights,
                                                   k=rnd.choice((1, 1, 2))))
        if text_lang == "en" and trend is None and rnd.random() < STEADY_HASHTAG_SHARE:
            tags.append(STEADY_HASHTAG if rnd.random() < 0.7 else STEADY_HASHTAG.lower())
        rnd.shuffle(tags)
        seen: set[str] = set()
        for t in tags:
            if t.lower() in seen:
                continue
            add("\n\n" if not seen and rnd.random() < 0.3 else " ")
            seen.add(t.lower())
            tag(t)

        if not lang_code:
            langs: list[str] | None = None
        elif rnd.random() < LANGS_MISSING.get(lang_code, 0.0):
            langs = None
        elif lang_code == "en" and rnd.random() < 0.02:
            langs = ["en", rnd.choice(("es", "de", "fr", "ja"))]
        else:
            langs = [lang_code]
        return self._post_event(t_us, author, "".join(parts), facets, langs,
                                reply=rnd.random() < (REPLY_SHARE if trend is None else 0.2),
                                embed=rnd.random() < 0.08)

    def _created_at(self, t_us: int) -> int:
        rnd = self.rnd
        r = rnd.random()
        if r < 0.02:          # client clock ahead of the relay
            return t_us + int(rnd.uniform(0.5, 90) * 1e6)
        if r < 0.025:         # posted from a draft / delayed delivery
            return t_us - int(rnd.uniform(60, 3 * 3600) * 1e6)
        return t_us - int(rnd.lognormvariate(-0.4, 0.8) * 1e6)

    def _post_event(self, t_us: int, author: int, text: str, facets: list[dict[str, Any]],
                    langs: list[str] | None, reply: bool, embed: bool) -> dict[str, Any]:
        rnd = self.rnd
        did = self.s.author_dids[author]
        created = self._created_at(t_us)
        rkey = _tid(created, rnd.randrange(1024))
        cid = _cid(rnd)
        record: dict[str, Any] = {"$type": "app.bsky.feed.post", "createdAt": _iso_ms(created)}
        if embed:
            w, h = rnd.choice(((1920, 1080), (1080, 1350), (1200, 1200), (828, 1792)))
            record["embed"] = {"$type": "app.bsky.embed.images", "images": [{
                "alt": "", "aspectRatio": {"height": h, "width": w},
                "image": {"$type": "blob", "ref": {"$link": "bafkrei" + _b32(rnd, 52)},
                          "mimeType": "image/jpeg", "size": rnd.randint(80_000, 900_000)}}]}
        if facets:
            record["facets"] = facets
        if langs is not None:
            record["langs"] = langs
        if reply and self.recent:
            parent = self.recent[rnd.randrange(len(self.recent))]
            root = parent if rnd.random() < 0.5 else self.recent[rnd.randrange(len(self.recent))]
            record["reply"] = {"parent": {"cid": parent[1], "uri": parent[0]},
                               "root": {"cid": root[1], "uri": root[0]}}
        record["text"] = text
        uri = f"at://{did}/app.bsky.feed.post/{rkey}"
        if len(self.recent) < 4096:
            self.recent.append((uri, cid))
        else:
            self.recent[rnd.randrange(4096)] = (uri, cid)
        return {"did": did, "time_us": t_us, "kind": "commit", "commit": {
            "rev": _tid(t_us, rnd.randrange(1024)), "operation": "create", "collection": "app.bsky.feed.post",
            "rkey": rkey, "record": record, "cid": cid}}

    # non-posts --------------------------------------------------------------------------------
    def non_post(self, t_us: int, actor: int, kind: str) -> dict[str, Any]:
        rnd = self.rnd
        s = self.s
        did = s.author_dids[actor]
        rev = _tid(t_us, rnd.randrange(1024))
        if kind in ("identity", "account"):
            self.seq += rnd.randint(1, 400)
            when = _iso_ms(t_us - rnd.randint(1000, 900_000))
            if kind == "identity":
                return {"did": did, "time_us": t_us, "kind": "identity",
                        "identity": {"did": did, "handle": s.author_handles[actor], "seq": self.seq, "time": when}}
            active = rnd.random() < 0.8
            account: dict[str, Any] = {"active": active, "did": did, "seq": self.seq, "time": when}
            if not active:
                account["status"] = rnd.choice(("deactivated", "takendown", "deleted"))
            return {"did": did, "time_us": t_us, "kind": "account", "account": account}
        if kind == "delete":
            coll = rnd.choice(("app.bsky.feed.like", "app.bsky.feed.like", "app.bsky.feed.post",
                               "app.bsky.graph.follow", "app.bsky.feed.repost"))
            return {"did": did, "time_us": t_us, "kind": "commit", "commit": {
                "rev": rev, "operation": "delete", "collection": coll,
                "rkey": _tid(t_us - rnd.randint(10**6, 10**11), rnd.randrange(1024))}}
        created = t_us - int(rnd.lognormvariate(-0.4, 0.8) * 1e6)
        if kind in ("like", "repost"):
            coll = "app.bsky.feed." + kind
            if self.recent:
                uri, cid = self.recent[rnd.randrange(len(self.recent))]
            else:
                uri, cid = f"at://{_did(rnd)}/app.bsky.feed.post/{_tid(t_us - 10**9, 0)}", _cid(rnd)
            record: dict[str, Any] = {"$type": coll, "createdAt": _iso_ms(created),
                                      "subject": {"cid": cid, "uri": uri}}
        elif kind in ("follow", "block"):
            coll = "app.bsky.graph." + kind
            record = {"$type": coll, "createdAt": _iso_ms(created),
                      "subject": s.author_dids[rnd.randrange(len(s.author_dids))]}
        else:  # profile update
            coll = "app.bsky.actor.profile"
            handle = s.author_handles[actor]
            record = {"$type": coll, "displayName": handle.split(".")[0].capitalize(),
                      "description": rnd.choice(("", "she/her", "he/him", "they/them", "views my own",
                                                 "artist", "dev", "🌈", "books & coffee"))}
            return {"did": did, "time_us": t_us, "kind": "commit", "commit": {
                "rev": rev, "operation": "update", "collection": coll, "rkey": "self",
                "record": record, "cid": _cid(rnd)}}
        return {"did": did, "time_us": t_us, "kind": "commit", "commit": {
            "rev": rev, "operation": "create", "collection": coll, "rkey": _tid(created, rnd.randrange(1024)),
            "record": record, "cid": _cid(rnd)}}

    def events(self) -> Iterator[dict[str, Any]]:
        s = self.s
        codes = self.codes
        kinds = s._np_kinds
        t_all = s._t_us.tolist()
        is_post = s._is_post.tolist()
        src = s._src.tolist()
        sub = s._sub.tolist()
        actor = s._actor.tolist()
        for i in range(len(t_all)):
            if is_post[i]:
                yield self.post(t_all[i], actor[i], codes[sub[i]], src[i])
            else:
                yield self.non_post(t_all[i], actor[i], kinds[sub[i]])


def _poisson(rnd: random.Random, mu: float) -> int:
    """A Poisson draw with Python's random (Knuth; mu is small)."""
    limit = math.exp(-mu)
    k, p = 0, rnd.random()
    while p > limit:
        k += 1
        p *= rnd.random()
    return k


# -- files ---------------------------------------------------------------------------------------

def sample_paths(out: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Where a sample goes: a directory gets ``posts.jsonl`` and ``labels.json``; a name ending in
    ``.jsonl`` or ``.jsonl.gz`` is the posts file itself (gzip-compressed for ``.gz``), its labels
    beside it (``NAME.labels.json``, or ``labels.json`` for ``posts.jsonl[.gz]``)."""
    path = Path(out)
    name = path.name
    if not name.endswith((".jsonl", ".jsonl.gz")):
        return path / "posts.jsonl", path / "labels.json"
    stem = name[: -len(".jsonl.gz")] if name.endswith(".gz") else name[: -len(".jsonl")]
    return path, path.with_name("labels.json" if stem == "posts" else f"{stem}.labels.json")


def generate(out_dir: str | os.PathLike[str], hours: float = 2.0, rate: float = 5.0, seed: int = 42,
             start: str | datetime = DEFAULT_START, non_post_share: float = 0.5,
             progress: bool | None = None) -> SampleSummary:
    """Write ``out_dir/posts.jsonl`` and ``out_dir/labels.json``. ``progress``: a tqdm bar (``None``:
    on large streams when stderr is a terminal)."""
    began = time.perf_counter()
    stream = SampleStream(hours, rate, seed, start, non_post_share)
    posts_path, labels_path = sample_paths(out_dir)
    posts_path.parent.mkdir(parents=True, exist_ok=True)
    if progress is None:
        progress = len(stream) > 50_000 and sys.stderr.isatty()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(stream), unit="event", unit_scale=True, desc="samples", leave=False)
    dumps = orjson.dumps
    written = 0
    with (gzip.open(posts_path, "wb") if posts_path.suffix == ".gz" else open(posts_path, "wb")) as fh:
        chunk: list[bytes] = []
        for event in stream:
            chunk.append(dumps(event))
            if len(chunk) == 8192:
                data = b"\n".join(chunk) + b"\n"
                fh.write(data)
                written += len(data)
                if bar is not None:
                    bar.update(len(chunk))
                chunk = []
        if chunk:
            data = b"\n".join(chunk) + b"\n"
            fh.write(data)
            written += len(data)
            if bar is not None:
                bar.update(len(chunk))
    if bar is not None:
        bar.close()
    stream.label_set.write(labels_path)
    return SampleSummary(posts_path, labels_path, len(stream), stream.n_posts, written,
                         time.perf_counter() - began, [t.label for t in stream.trends], list(stream.decoys))


# -- CLI -----------------------------------------------------------------------------------------

def cmd_generate(args: argparse.Namespace) -> int:
    summary = generate(args.out, hours=args.hours, rate=args.rate, seed=args.seed, start=args.start,
                       non_post_share=args.non_post_share, progress=None if not args.quiet else False)
    if not args.quiet:
        print(summary)
        for t in summary.trends:
            print(f"  {t.id} {t.kind:<13} {t.language} {format_time(t.start)}..{format_time(t.end)} "
                  f"peak {t.peak_rate:.1f}/min {' '.join(t.keywords)}")
        for d in summary.decoys:
            print(f"  {d.id} {d.kind:<13}    {format_time(d.start)}..{format_time(d.end)} {' '.join(d.keywords)}")
    return 0


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("samples", help="labelled synthetic Jetstream streams")
    ssub = p.add_subparsers(dest="samples_command", metavar="SUBCOMMAND")
    ssub.required = True
    g = ssub.add_parser("generate", help="write DIR/posts.jsonl (Jetstream JSON lines) and DIR/labels.json")
    g.add_argument("--out", required=True,
                   help="output directory (posts.jsonl + labels.json), or the posts file itself: NAME.jsonl, "
                        "or NAME.jsonl.gz to write it gzip-compressed (labels beside it)")
    g.add_argument("--hours", type=float, default=2.0, help="stream length in hours (default 2)")
    g.add_argument("--rate", type=float, default=5.0, help="mean background posts per second (default 5)")
    g.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    g.add_argument("--start", default=DEFAULT_START, help=f"stream start, ISO 8601 UTC (default {DEFAULT_START})")
    g.add_argument("--non-post-share", type=float, default=0.5,
                   help="share of events that are not posts: likes, follows, deletes... (default 0.5)")
    g.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    g.set_defaults(func=cmd_generate)
