"""What a window is, and how keyword occurrences become window counts.

The semantics (docs/architecture.md, "One definition, two engines"), defined here once:

* **Event time** of a post: its Jetstream ``time_us`` when present, else its ``createdAt``
  (:attr:`trendlab.core.models.PostData.event_time_us`). Engines work in milliseconds.
* **Windows** are sliding (Flink ``HOP``) windows of length ``window`` every ``slide``; ``window`` is a
  whole multiple of ``slide``; windows are aligned to multiples of ``slide`` since the Unix epoch (UTC)
  and half-open ``[start, end)``. A post counts in every window that contains its event time, so it
  is in ``window / slide`` windows.
* ``count`` is the number of posts in the window that contain the keyword (a post counts once per
  keyword); ``unique_authors`` is the number of distinct author DIDs among them. Only windows with
  ``count >= 1`` exist, and for a phrase (a keyword of two words) or a link (:mod:`trendlab.core.links`)
  only those with ``count >=`` :data:`MIN_PHRASE_COUNT`: most word pairs and links of a day are
  written once, and one written once in a window says nothing a trend needs (a day's window counts
  would otherwise grow sevenfold).

A window is identified by its **end slot** ``e = window_end // slide``: the post at time ``t`` lies in
the windows whose end slots are ``t // slide + 1 … t // slide + window // slide``.

:func:`window_counts` aggregates integer-coded occurrences with numpy (the replay engine); the Flink
job expresses the same thing as a ``HOP`` window TVF (:func:`trendlab.flink.sql.window_counts_view`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trendlab.errors import ConfigError
from trendlab.core.links import LINK_PREFIX

__all__ = [
    "DEFAULT_SLIDE",
    "DEFAULT_WINDOW",
    "WindowShapeError",
    "WindowSpec",
    "parse_duration",
    "format_duration",
    "window_counts",
    "window_volume",
    "phrase_codes",
    "MIN_PHRASE_COUNT",
    "post_window_counts",
    "windows_of",
    "check_memory",
]

#: The one default window shape (the tuned one, shipped in ``params.yaml``): every default in trendlab
#: (``DetectionParams``, ``WindowSpec``, ``evaluate``, plots) is this one; ``WINDOW_SIZE_MINUTES`` and
#: ``TRENDLAB_SLIDE_MINUTES`` override it in one place, :func:`trendlab.params_files.load_params`.
DEFAULT_WINDOW = "6m"
DEFAULT_SLIDE = "1m"

#: A phrase's window count exists from this many posts (a word's from one): both engines.
MIN_PHRASE_COUNT = 2


class WindowShapeError(ConfigError):
    """``window`` is not a whole multiple of ``slide`` (``trendlab tune`` skips such grid points)."""


_DURATION_RE = re.compile(r"^\s*(\d+)\s*(ms|s|m|min|h)?\s*$", re.IGNORECASE)
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "min": 60_000, "h": 3_600_000}


def parse_duration(value: str | int | float, name: str = "duration", default_unit: str = "m") -> int:
    """``"10m"``, ``"90s"``, ``"1h"``, ``"500ms"`` or a bare number (in ``default_unit``) → milliseconds.

    Raises :class:`~trendlab.errors.ConfigError` with a one-line message naming ``name`` for anything else, zero or negative.
    """
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a duration like 10m, 60s or 1h, got {value!r}")
    if isinstance(value, (int, float)):
        if value != int(value):
            raise ConfigError(f"{name} must be a whole number of {default_unit}, got {value!r}")
        ms = int(value) * _UNIT_MS[default_unit]
    else:
        match = _DURATION_RE.match(str(value))
        if not match:
            raise ConfigError(f"{name} must be a duration like 10m, 60s or 1h, got {value!r}")
        ms = int(match.group(1)) * _UNIT_MS[(match.group(2) or default_unit).lower()]
    if ms <= 0:
        raise ConfigError(f"{name} must be positive, got {value!r}")
    return ms


def format_duration(ms: int) -> str:
    """Milliseconds → the shortest exact form (``600000`` → ``"10m"``)."""
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


@dataclass(frozen=True)
class WindowSpec:
    """Sliding windows of ``window_ms`` every ``slide_ms``; ``window_ms`` a whole multiple of ``slide_ms``."""

    window_ms: int = parse_duration(DEFAULT_WINDOW, "window")
    slide_ms: int = parse_duration(DEFAULT_SLIDE, "slide")

    def __post_init__(self) -> None:
        for name in ("window_ms", "slide_ms"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"{name.removesuffix('_ms')} must be a positive duration, got {value!r}")
        if self.slide_ms % 1000:
            raise ConfigError(f"slide must be a whole number of seconds, got {self.slide_ms} ms")
        if self.window_ms % self.slide_ms:
            raise WindowShapeError(
                f"window ({format_duration(self.window_ms)}) must be a whole multiple of "
                f"slide ({format_duration(self.slide_ms)})"
            )

    @classmethod
    def parse(cls, window: str | int = DEFAULT_WINDOW, slide: str | int = DEFAULT_SLIDE) -> WindowSpec:
        return cls(parse_duration(window, "window"), parse_duration(slide, "slide"))

    @property
    def windows_per_post(self) -> int:
        """How many windows contain each instant (``window / slide``)."""
        return self.window_ms // self.slide_ms

    def end_slots(self, event_ms: int) -> range:
        """End slots of the windows that contain ``event_ms``."""
        first = event_ms // self.slide_ms + 1
        return range(first, first + self.windows_per_post)

    def bounds(self, end_slot: int) -> tuple[int, int]:
        """``(window_start_ms, window_end_ms)`` of the window with this end slot."""
        end = end_slot * self.slide_ms
        return end - self.window_ms, end

    def __str__(self) -> str:
        return f"window {format_duration(self.window_ms)} every {format_duration(self.slide_ms)}"


def windows_of(event_ms: int, spec: WindowSpec) -> list[tuple[int, int]]:
    """All ``(start_ms, end_ms)`` windows containing ``event_ms`` (the reference definition)."""
    return [spec.bounds(e) for e in spec.end_slots(event_ms)]


def window_counts(
    keyword_codes: np.ndarray,
    author_codes: np.ndarray,
    event_ms: np.ndarray,
    spec: WindowSpec,
    content_codes: np.ndarray | None = None,
) -> pd.DataFrame:
    """Aggregate occurrences into sliding-window counts.

    Each input position is one (post, keyword) occurrence — already unique per post and keyword —
    with the post's integer-coded author and event time in ms. Returns a frame with integer columns
    ``keyword_code, end_slot, count, unique_authors``, sorted by ``end_slot, keyword_code``; with the
    posts' integer-coded content keys (:mod:`trendlab.core.content`), also ``unique_contents``: the same
    distinct count over contents instead of authors.

    Memory stays bounded whatever the stream's length: when spreading every occurrence over its
    ``window / slide`` windows at once would take more than :data:`CHUNK_BYTES`, the end slots are
    taken in consecutive runs, each aggregated from just the occurrences its windows hold (the run's
    slots plus one window before), so a day's stream costs a chunk's arrays at a time, not the day's.
    """
    if content_codes is not None:  # the same rows in the same order, distinct over contents
        frame = window_counts(keyword_codes, author_codes, event_ms, spec)
        frame["unique_contents"] = window_counts(keyword_codes, content_codes, event_ms, spec)["unique_authors"].to_numpy()
        return frame
    kw = np.asarray(keyword_codes, dtype=np.int64)
    au = np.asarray(author_codes, dtype=np.int64)
    ts = np.asarray(event_ms, dtype=np.int64)
    if kw.size == 0:
        return _empty_counts()
    n = spec.windows_per_post
    rel = ts // spec.slide_ms  # the post's slot: it lies in end slots slot+1 … slot+n
    base = int(rel.min())
    rel -= base  # small, non-negative (in place: one array of the stream's length, not two)
    width = int(rel.max()) + n + 2  # end slots 0 … rel+n, plus one for the difference arrays
    check_memory(spec, _densest_window(rel, n), (int(kw.max()) + 1) * (int(au.max()) + 1) * width)
    max_occurrences = max(1, CHUNK_BYTES // (n * _BYTES_PER_CELL))
    if kw.size <= max_occurrences:
        return _block_counts(kw, au, rel, n, base)
    frame = _chunked_counts(kw, au, rel, n, max_occurrences)
    frame["end_slot"] += base
    return frame


_COLUMNS = ("keyword_code", "end_slot", "count", "unique_authors")


def post_window_counts(
    keyword_codes: np.ndarray,
    post_index: np.ndarray,
    post_ms: np.ndarray,
    post_authors: np.ndarray,
    spec: WindowSpec,
    post_contents: np.ndarray | None = None,
    min_count: np.ndarray | None = None,
) -> pd.DataFrame:
    """:func:`window_counts` of occurrences that name their post instead of repeating its columns: the
    same rows as ``window_counts(keyword_codes, post_authors[post_index], post_ms[post_index], spec,
    post_contents[post_index])``, without the rows whose count is below ``min_count[keyword_code]``
    (a phrase's least count, :data:`MIN_PHRASE_COUNT`; ``None``: every row).

    A stream's occurrences are several per post (words and phrases): keeping the post's time, author
    and content once per post, and the occurrences as (keyword, post) int32 pairs, is a third of the
    memory of five int64 columns per occurrence. The compiled kernel (``trendlab_native``) counts
    occurrences, distinct authors and distinct contents in one pass, straight from these columns,
    in memory linear in the occurrences (no chunks needed); without it, the columns are expanded
    and :func:`window_counts` runs (the same rows)."""
    kw = np.asarray(keyword_codes)
    post = np.asarray(post_index)
    ts = np.asarray(post_ms, dtype=np.int64)
    columns = list(_COLUMNS) + (["unique_contents"] if post_contents is not None else [])
    if kw.size == 0:
        return pd.DataFrame({c: np.array([], dtype=np.int64) for c in columns})
    per_keyword = np.bincount(kw)
    least = np.ones(per_keyword.size, dtype=np.int32)
    if min_count is not None:
        least = np.maximum(np.asarray(min_count, dtype=np.int32)[: per_keyword.size], 1)
    # a keyword seen fewer times in the whole stream than its least count makes no row: its
    # occurrences are left out before anything is counted (most of a day's word pairs)
    kept_keyword = per_keyword >= least
    from trendlab.core.kernels import native_module

    native = native_module()
    if native is None:
        keep = kept_keyword[kw]
        if not keep.all():
            kw, post = kw[keep], post[keep]
        frame = window_counts(kw, np.asarray(post_authors)[post], ts[post], spec,
                              None if post_contents is None else np.asarray(post_contents)[post])
        if min_count is not None and not frame.empty:
            ok = frame["count"].to_numpy() >= least[frame["keyword_code"].to_numpy()]
            if not ok.all():
                frame = frame[ok].reset_index(drop=True)
        return frame
    authors = np.ascontiguousarray(post_authors, dtype=np.int32)
    contents = None if post_contents is None else np.ascontiguousarray(post_contents, dtype=np.int32)
    kw32, post32 = np.ascontiguousarray(kw, dtype=np.int32), np.ascontiguousarray(post, dtype=np.int32)
    _check_posts(kw32, post32, ts, authors, contents, kept_keyword, spec)
    slots = ts // spec.slide_ms
    base = int(slots.min())
    slots -= base
    out = np.frombuffer(native.post_window_counts(kw32, post32, slots, authors, contents,
                                                  np.ascontiguousarray(least, dtype=np.int32),
                                                  spec.windows_per_post), dtype=np.int64)
    out = out.reshape(len(columns), -1)
    out[1] += base
    return pd.DataFrame(out.T, columns=columns, copy=False)  # one block, no copy


#: occurrences at a time when :func:`_check_posts` counts the kept ones per post (bounded temporaries)
_CHECK_BLOCK = 1 << 22


def _check_posts(kw, post, ts, authors, contents, kept_keyword, spec: WindowSpec) -> None:
    """The refusals :func:`window_counts` makes (:func:`check_memory`) for the occurrences of the kept
    keywords, computed from the per-post columns: the same numbers, so the same window shapes are
    refused with the same line."""
    posts = ts.size
    if kept_keyword.all():
        per_post = np.bincount(post, minlength=posts)
    else:
        per_post = np.zeros(posts, dtype=np.int64)
        for lo in range(0, kw.size, _CHECK_BLOCK):
            block = post[lo:lo + _CHECK_BLOCK][kept_keyword[kw[lo:lo + _CHECK_BLOCK]]]
            per_post += np.bincount(block, minlength=posts)
    held = per_post > 0
    if not held.any():
        return
    weights = per_post[held]
    n = spec.windows_per_post
    rel = ts[held] // spec.slide_ms
    rel -= int(rel.min())
    total = int(weights.sum())
    if not short_range(int(rel.max()), total):
        slots, inverse = np.unique(rel, return_inverse=True)
        per = np.bincount(inverse, weights=weights).astype(np.int64)
        cum = np.concatenate(([0], np.cumsum(per)))
        first = np.searchsorted(slots, slots - n + 1)
        densest = int((cum[1:] - cum[first]).max())
    else:
        per_slot = np.bincount(rel, weights=weights).astype(np.int64)
        if per_slot.size <= n:
            densest = int(per_slot.sum())
        else:
            cum = np.concatenate(([0], np.cumsum(per_slot)))
            densest = int((cum[n:] - cum[:-n]).max())
    width = int(rel.max()) + n + 2
    keywords = int(np.flatnonzero(kept_keyword).max()) + 1
    check_memory(spec, densest, keywords * (int(authors[held].max()) + 1) * width)
    if contents is not None:
        check_memory(spec, densest, keywords * (int(contents[held].max()) + 1) * width)


def phrase_codes(keywords) -> np.ndarray:
    """A mask over keyword codes: which keywords are phrases (two words joined by a space) or links
    (:mod:`trendlab.core.links`): the keywords whose windows exist from :data:`MIN_PHRASE_COUNT` posts."""
    return np.fromiter((" " in k or k.startswith(LINK_PREFIX) for k in keywords), dtype=bool, count=len(keywords))


def drop_rare_phrases(frame: pd.DataFrame, is_phrase: np.ndarray) -> pd.DataFrame:
    """The window counts without phrase windows below :data:`MIN_PHRASE_COUNT` (see the module doc)."""
    if not is_phrase.any() or frame.empty:
        return frame
    codes = frame["keyword_code"].to_numpy()
    keep = ~is_phrase[codes] | (frame["count"].to_numpy() >= MIN_PHRASE_COUNT)
    return frame if keep.all() else frame[keep].reset_index(drop=True)


def window_volume(event_ms: np.ndarray, author_codes: np.ndarray, spec: WindowSpec) -> pd.DataFrame:
    """The stream's volume per window: integer columns ``end_slot, volume`` for every window holding a
    post, ``volume`` being the distinct authors who posted in it (one entry per post: its event time in
    ms and its integer-coded author; every post, with keywords or without). Detection weighs a keyword's
    counts by it: a window the stream did not fill (a capture gap) is missing data, not a drop, and a
    stream-wide bump is not a rise of each word. Authors, not posts, so that one account posting
    hundreds of times does not make every other word look rarer."""
    ts = np.asarray(event_ms, dtype=np.int64)
    if ts.size == 0:
        return pd.DataFrame({"end_slot": np.array([], dtype=np.int64), "volume": np.array([], dtype=np.int64)})
    frame = post_window_counts(np.zeros(ts.size, dtype=np.int32), np.arange(ts.size, dtype=np.int32), ts,
                               author_codes, spec)
    return pd.DataFrame({"end_slot": frame["end_slot"].to_numpy(), "volume": frame["unique_authors"].to_numpy()})


def _empty_counts() -> pd.DataFrame:
    return pd.DataFrame({c: np.array([], dtype=np.int64) for c in _COLUMNS})


def short_range(span: int, values: int) -> bool:
    """A table over ``span`` slots costs no more than sorting ``values`` of them (else: a stream with
    long gaps, a post years after the others, and a sort is the cheaper way)."""
    return span <= 8 * values + 4096


def _densest_window(rel: np.ndarray, n: int) -> int:
    """The most occurrences any one window holds (what one chunk must hold at least)."""
    if not short_range(int(rel.max()), rel.size):  # few slots over a long span: no table
        slots, per = np.unique(rel, return_counts=True)
        cum = np.concatenate(([0], np.cumsum(per)))
        first = np.searchsorted(slots, slots - n + 1)  # the window of n slots ending at each slot
        return int((cum[1:] - cum[first]).max())
    per_slot = np.bincount(rel)
    if per_slot.size <= n:
        return int(per_slot.sum())
    cum = np.concatenate(([0], np.cumsum(per_slot)))
    return int((cum[n:] - cum[:-n]).max())


def _compact(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct codes (ascending) and each code's index among them: ``np.unique(codes,
    return_inverse=True)`` in linear time (codes are small non-negative integers; no sort)."""
    present = np.zeros(int(codes.max()) + 1, dtype=bool)
    present[codes] = True
    index = np.cumsum(present, dtype=np.int64) - 1
    return np.flatnonzero(present), index[codes]


def _block_counts(kw: np.ndarray, au: np.ndarray, rel: np.ndarray, n: int, base: int = 0) -> pd.DataFrame:
    """All windows of these occurrences (``rel`` >= 0; end slots reported plus ``base``), keyword and
    author codes compacted to the ones present (a chunk of a long stream holds few of the stream's
    codes: small dense arrays and keys)."""
    from trendlab.core.kernels import native_module

    native = native_module()
    if native is not None:  # the same rows from the compiled kernel: a sliding window per keyword
        columns = np.frombuffer(native.window_counts(kw.astype(np.int64, copy=False).tobytes(),
                                                     au.astype(np.int64, copy=False).tobytes(),
                                                     rel.astype(np.int64, copy=False).tobytes(), n),
                                dtype=np.int64).reshape(len(_COLUMNS), -1)
        columns[1] += base
        return pd.DataFrame(columns.T, columns=list(_COLUMNS), copy=False)  # one block, no copy
    codes, local_kw = _compact(kw)
    _, local_au = _compact(au)
    width = int(rel.max()) + n + 2
    if codes.size * width <= DENSE_CELLS:
        frame = _window_counts_dense(local_kw, local_au, rel, n, codes.size, width)
    else:
        frame = _window_counts_sparse(local_kw, local_au, rel, n)
    frame["keyword_code"] = codes[frame["keyword_code"].to_numpy()]
    if base:
        frame["end_slot"] += base
    return frame


def _chunked_counts(kw: np.ndarray, au: np.ndarray, rel: np.ndarray, n: int, max_occurrences: int) -> pd.DataFrame:
    """Runs of end slots [lo, hi), each from the occurrences in slots lo-n … hi-1 (about
    ``max_occurrences`` of them; at least one end slot a run)."""
    in_order = bool(np.all(rel[1:] >= rel[:-1]))  # a recorded stream usually is: no sort, no copies
    order = None if in_order else np.argsort(rel, kind="stable")
    sorted_rel = rel if order is None else rel[order]
    total = sorted_rel.size
    last_end = int(sorted_rel[-1]) + n
    frames = []
    lo = int(sorted_rel[0]) + 1
    while lo <= last_end:
        i0 = int(np.searchsorted(sorted_rel, lo - n, side="left"))
        j = i0 + max_occurrences
        hi = last_end + 1 if j >= total else max(lo + 1, int(sorted_rel[j]) + 1)
        i1 = int(np.searchsorted(sorted_rel, hi - 1, side="right"))
        take = slice(i0, i1) if order is None else order[i0:i1]
        if i1 > i0:
            first = int(sorted_rel[i0])
            part = _block_counts(kw[take], au[take], rel[take] - first, n)
            part["end_slot"] += first
            ends = part["end_slot"].to_numpy()
            frames.append(part[(ends >= lo) & (ends < hi)])
        lo = hi
    frame = pd.concat(frames, ignore_index=True) if frames else _empty_counts()
    return frame.reset_index(drop=True)


#: up to this many (keyword × end slot) cells the aggregation uses dense arrays (fast); beyond, sorting
DENSE_CELLS = 20_000_000
#: bytes per (occurrence × window) the sparse aggregation holds at its peak (keys, sorts, inverses)
_BYTES_PER_CELL = 64
#: the aggregation's working memory at a time: beyond it, end slots are aggregated in runs
CHUNK_BYTES = 256 << 20


def memory_limit_bytes() -> int:
    """The replay's memory budget for one aggregation (``TRENDLAB_REPLAY_MEMORY_MB``)."""
    from trendlab.config import replay_memory_limit_bytes

    return replay_memory_limit_bytes()


def _size(nbytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if nbytes < 1024 or unit == "PiB":
            return f"{nbytes:,.1f} {unit}" if unit != "B" else f"{nbytes:,.0f} B"
        nbytes /= 1024
    return ""  # pragma: no cover


def check_memory(spec: WindowSpec, occurrences: int, key_space: int = 0, limit: int | None = None,
                 dense_cells: int = 0) -> None:
    """Refuse (one line, :class:`~trendlab.errors.ConfigError`) a window shape whose arrays would not
    fit, before anything is allocated: each occurrence is spread over ``window / slide`` windows, and the
    aggregation holds at least the ``occurrences`` of one window at a time.
    ``key_space`` (keywords × authors × slots) must fit the int64 keys of the aggregation;
    ``dense_cells`` (keywords × windows) is the detector's matrix."""
    from trendlab.errors import ConfigError

    limit = memory_limit_bytes() if limit is None else limit
    dense = float(dense_cells) * _BYTES_PER_CELL
    if dense > limit:
        raise ConfigError(
            f"trend detection over {dense_cells:,} keyword windows ({format_duration(spec.window_ms)} every "
            f"{format_duration(spec.slide_ms)}) would need {_size(dense)}, more than TRENDLAB_REPLAY_MEMORY_MB "
            f"({_size(limit)}); use a longer slide or a shorter stream")
    need = float(occurrences) * spec.windows_per_post * _BYTES_PER_CELL
    if need > limit:
        raise ConfigError(
            f"window ({format_duration(spec.window_ms)}) every slide ({format_duration(spec.slide_ms)}) puts each "
            f"post in {spec.windows_per_post:,} windows: the {occurrences:,} keyword occurrences of the fullest "
            f"window would need {_size(need)}, more than TRENDLAB_REPLAY_MEMORY_MB ({_size(limit)}); use a longer "
            "slide or a shorter window")
    if key_space >= 2**62:
        raise ConfigError(
            f"the stream spans too many slides of {format_duration(spec.slide_ms)} for its keywords and authors "
            "(the window keys would overflow); use a longer slide or a shorter stream")


def _window_counts_dense(kw, au, rel, n, n_kw, width) -> pd.DataFrame:
    # counts: occurrences per (keyword, slot); a window ending at slot e sums slots e-n … e-1
    per_slot = np.bincount(kw * width + rel, minlength=n_kw * width).reshape(n_kw, width)
    cum = np.zeros((n_kw, width + 1), dtype=np.int64)
    np.cumsum(per_slot, axis=1, out=cum[:, 1:])
    ends = np.arange(width)
    counts = cum[:, ends] - cum[:, np.maximum(ends - n, 0)]
    # distinct authors: each (keyword, author) covers the union of [slot+1, slot+n] over its posts;
    # add +1 over the part of each interval the previous one of the same pair did not cover.
    n_au = int(au.max()) + 1
    trip = np.unique((kw * n_au + au) * width + rel)
    pair, t_rel = np.divmod(trip, width)
    prev_rel = np.empty_like(t_rel)
    prev_rel[0] = -(n + 1)
    prev_rel[1:] = np.where(pair[1:] == pair[:-1], t_rel[:-1], -(n + 1))
    start = np.maximum(t_rel + 1, prev_rel + n + 1)
    stop = t_rel + n + 1  # exclusive
    row = (pair // n_au) * width
    keep = start < stop
    diff = np.bincount(row[keep] + start[keep], minlength=n_kw * width) - np.bincount(
        row[keep] + stop[keep], minlength=n_kw * width)
    authors = np.cumsum(diff.reshape(n_kw, width), axis=1)
    end_idx, kw_idx = np.nonzero(counts.T > 0)  # sorted by end slot, then keyword
    return pd.DataFrame({
        "keyword_code": kw_idx.astype(np.int64),
        "end_slot": end_idx.astype(np.int64),
        "count": counts[kw_idx, end_idx].astype(np.int64),
        "unique_authors": authors[kw_idx, end_idx].astype(np.int64),
    })


def _window_counts_sparse(kw, au, rel, n) -> pd.DataFrame:
    n_rel = int(rel.max()) + 1 + n
    n_au = int(au.max()) + 1
    # counts: occurrences per (keyword, slot), then spread each over its n windows.
    key = kw * n_rel + rel
    uk, cnt = np.unique(key, return_counts=True)
    k_kw, k_rel = np.divmod(uk, n_rel)
    offsets = np.arange(1, n + 1, dtype=np.int64)
    end_key = (k_kw * n_rel + k_rel)[:, None] + offsets[None, :]
    ek, inv = np.unique(end_key.ravel(), return_inverse=True)
    counts = np.bincount(inv, weights=np.repeat(cnt, n)).astype(np.int64)
    # distinct authors: unique (keyword, author, slot), spread, unique again, count per window.
    trip = np.unique((kw * n_au + au) * n_rel + rel)
    t_kwau, t_rel = np.divmod(trip, n_rel)
    spread = np.unique(((t_kwau * n_rel + t_rel)[:, None] + offsets[None, :]).ravel())
    s_kwau, s_end = np.divmod(spread, n_rel)
    sk, s_cnt = np.unique((s_kwau // n_au) * n_rel + s_end, return_counts=True)
    assert sk.size == ek.size  # the same (keyword, end) keys, both sorted
    out_kw, out_end = np.divmod(ek, n_rel)
    frame = pd.DataFrame({
        "keyword_code": out_kw,
        "end_slot": out_end,
        "count": counts,
        "unique_authors": s_cnt.astype(np.int64),
    })
    return frame.sort_values(["end_slot", "keyword_code"], kind="stable").reset_index(drop=True)
