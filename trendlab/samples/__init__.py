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
``version`` 2 (the default) is all of the below; ``version=1`` (``--generator-version 1``) is the
stream of the committed samples in ``data/samples``: no campaigns, reply spam, gaps, bumps, giants,
stories or mis-tags, 2 % + a few per cent untagged posts, and no low-rate bursts.

* **Background posts**: Poisson arrivals at ``rate`` posts/s with a mild diurnal wave (±12 % over a
  day, peak at 21:00 UTC). Languages en 58 %, ja 15 %, pt 10 %, de 5 %, es 5 %, fr 2 %, ko 1 % and 4 %
  English-looking posts without ``langs``; 5-8 % of each language's posts omit ``langs`` too (about
  10 % of all posts untagged), and 5 % of English posts are **mis-tagged** as de, fr, ar, pt, es, ja,
  it or nl. Text is made of content words drawn with Zipf-like weights from :mod:`trendlab.samples.words`,
  glued with the language's function words, plus hashtags (``#tag`` facets), @mentions of handles
  with dots (mention facets), links with and without a scheme (link facets), emoji, image embeds and
  replies (~30 %). Authors have a log-normal activity: a few heavy posters, many light ones, each
  with a home language. **Steady giants** (Trump 5 %, Musk 3 %, Gaza 2 % of English posts) run all
  the time.
* **Non-post events** (``non_post_share`` of all events, default 0.5): likes, reposts, follows,
  blocks, profile updates, deletes and ``identity`` / ``account`` events.
* **Top-of-hour bump**: on every hh:00, bots post ordinary-looking posts in every language for one
  minute, +35 % of the stream (non-post events too): every word rises by about a third.
* **Capture gaps** (``gaps``; default one in a stream of 1.5 hours or more): the whole stream,
  posts and non-posts, is silent for 2-20 minutes, then back at its normal rate. Listed in
  ``labels.json`` under ``"gaps"``; no trend starts within 10 minutes after a gap.
* **Trends** (labelled, after a warm-up of 40 minutes or ~60 background posts, whichever is longer):
  ``new_hashtag`` (a new hashtag with 2-3 companion words posted together), ``rising_common`` (an
  already common word whose rate jumps 4-6x), ``weak`` (a less common word rising 3-4x: modest
  counts) and ``non_english`` (ja, pt, es, de groups), ~3.5 per hour. Each ramps up abruptly, over
  0.5-1.5 minutes (breaking news), lasts 10-40 minutes in all, comes from many distinct authors, and
  its words co-occur in the same posts. Below 0.1 posts/s they are ``small_burst`` instead: ~1 per
  hour, 7-12 posts from distinct authors over 4-10 minutes (like hand-labelled bursts in a filtered
  feed). **Stories** (``story``, two at a time, starting within 3 minutes of each other, one pair per
  ~3 hours, from 0.1 posts/s): 40-400 distinct authors (60 per post/s of rate), one post each, each
  with the story's name (a 2-word phrase such as "winter storm", labelled under ``phrases``), a
  random subset of 3-5 story words and ordinary words. Story words are common background words chosen
  so that they rise ~11-14x over their own baselines (6-15x measured); the phrase's own words are
  keywords only when the story lifts them 3x or more ("world tour"'s "world" never: a stop word alone,
  it names the story only in its phrase).
* **Decoys** (labelled, must not alert): ``spam_author`` (one account posting the same pitch every
  few seconds for 20-50 minutes; rarer at low rates), ``steady_common`` (the most common word, all the
  time), ``steady_hashtag`` (``#nowplaying`` from many authors), ``steady_giant`` (each giant),
  ``steady_phrase`` (everyday phrases of words that are stop words alone: "good morning", "last
  night", "first time", "new music", "great job", in a steady share of ordinary English posts),
  ``mistagged_stop_words`` (the English function words that mis-tagged posts carry), ``after_gap``
  (three steady common words in the 30 minutes after the first gap), ``hourly_bump`` (three steady
  common words, over the bumps), ``campaign`` (copy-paste campaigns: 110 accounts posting one
  paragraph template with one or two words swapped, other @mentions, hashtags in another order,
  sometimes a link or emoji, at 35 posts/min at 5 posts/s and above, proportionally fewer below; one
  from the start, one rising from nothing over 8-15 minutes later on) and ``reply_spam`` (one plea
  sent as replies to other accounts' posts, by 1-3 authors or 40, for 60-100 minutes).

Every label keyword is exactly what :class:`trendlab.core.extract.KeywordExtractor` outputs for the
posts that carry it; trend, campaign, reply-spam and giant words never occur in the background; the
``rising_common``, ``weak``, story and common-decoy words are background words by definition.
Output is byte-identical for a seed (and version).
"""

from __future__ import annotations

import gzip
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import orjson

from trendlab.labels import Gap, TrendLabel
from trendlab.samples.plan import DEFAULT_START, GENERATOR_VERSION, SampleStream, iter_events
from trendlab.samples.vocabularies import EN_NEW_GROUPS, NON_EN_GROUPS, SPAM_CAMPAIGNS, STEADY_HASHTAG

__all__ = [
    "DEFAULT_START",
    "EN_NEW_GROUPS",
    "GENERATOR_VERSION",
    "NON_EN_GROUPS",
    "SPAM_CAMPAIGNS",
    "STEADY_HASHTAG",
    "SampleStream",
    "SampleSummary",
    "generate",
    "iter_events",
]


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
    gaps: list[Gap] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"{self.events} events ({self.posts} posts), {len(self.trends)} trends, "
                f"{len(self.decoys)} decoys, {self.bytes / 1e6:.1f} MB -> {self.posts_path} "
                f"in {self.seconds:.1f}s")


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
             progress: bool | None = None, version: int = GENERATOR_VERSION,
             gaps: int | None = None) -> SampleSummary:
    """Write ``out_dir/posts.jsonl`` and ``out_dir/labels.json``. ``progress``: a tqdm bar (``None``:
    on large streams when stderr is a terminal). ``version`` 1 makes the stream of the committed
    samples (no real-network cases); ``gaps``: capture gaps (version 2; default one in a stream of
    1.5 hours or more)."""
    began = time.perf_counter()
    stream = SampleStream(hours, rate, seed, start, non_post_share, version, gaps)
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
                         time.perf_counter() - began, [t.label for t in stream.trends], list(stream.decoys),
                         list(stream.label_set.gaps))
