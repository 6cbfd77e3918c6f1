"""Which keywords share posts: a MinHash sketch of each keyword's posts in each window.

Grouping alerting keywords into one trend asks whether they appear *in the same posts* during the
burst (TwitterMonitor's test), not whether their counts rise at the same time (after a capture gap,
or in any busy minute, everything rises at once). Neither engine keeps posts per window, so each
(keyword, window) row carries a sketch of its posts: for ``K`` = :data:`SKETCH_SIZE` hash functions
``h_i(p) = (a_i * post_hash(p) + b_i) mod P``, the minimum of ``h_i`` over the window's posts that hold
the keyword. Minimums merge across slices, so the Flink job computes them with ``MIN`` in its ``HOP``
aggregate (:func:`sql_columns`); the replay engine computes the same numbers from its occurrences
(:class:`ReplaySketches`). From two keywords' sketches and counts:

* the share of equal minimums estimates the Jaccard index ``J`` of their post sets;
* ``|A ∩ B| = J (|A| + |B|) / (1 + J)``, and :func:`shared_share` is ``|A ∩ B| / min(|A|, |B|)``: the
  share of the smaller keyword's posts that also hold the other ("the share of the burst's posts
  holding both"). A story's words share it well above 0.2; two stories of the same minutes, or a
  common word and a story, share close to none.

A post's hash (:func:`post_hash`) is a pure function of its author and words (the sum of their CRC
hashes, modulo P), the same in both engines; two posts of one author with the same keywords are one
post to the sketch, which changes nothing a grouping decision needs.

A sketch value also carries its post's language tags: ``h_i(p) << CODE_BITS | langs_code(p)``
(:mod:`trendlab.core.langtags`). The minimum is still the post with the least ``h_i``, equal values are
still the same post, and the minimums are a sample of the keyword's posts with their languages (an
alert's ``languages``). Values stay below ``2**55``, inside a BIGINT.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trendlab.core.content import PHRASE_HASH, is_word, keyword_hash, post_blocks
from trendlab.core.langtags import CODE_BITS

__all__ = ["SKETCH_SIZE", "P", "post_hash", "post_hashes", "sketch_of", "shared_share", "sql_columns",
           "ReplaySketches"]

#: Hash functions per sketch: the share estimate's error is about 0.1 at a true share of 0.3.
SKETCH_SIZE = 16
#: The modulus of the hash functions (a prime; products stay below 2**62, inside a BIGINT).
P = 2_147_483_647
_rng = np.random.default_rng(20261207)  # fixed constants: part of the definition
A = tuple(int(x) for x in _rng.integers(1, P, SKETCH_SIZE))
B = tuple(int(x) for x in _rng.integers(0, P, SKETCH_SIZE))
_A = np.array(A, dtype=np.int64)
_B = np.array(B, dtype=np.int64)


def post_hash(author: str, keywords: Sequence[str]) -> int:
    """A post's hash for the sketches: (CRC of the author + the CRCs of its words) mod P (its phrases
    are made of its words and add nothing; its links are left out as the content key leaves them)."""
    return (keyword_hash(author) + sum(keyword_hash(k) for k in keywords if is_word(k))) % P


def post_hashes(keyword_code: np.ndarray, lengths: np.ndarray, hashes: np.ndarray,
                author_hashes: np.ndarray) -> np.ndarray:
    """:func:`post_hash` of every post of a stream, vectorised (``hashes[code]``: the keywords' CRCs as
    :func:`trendlab.core.content.keyword_hashes` gives them, phrases as ``PHRASE_HASH``, which add nothing
    here; ``author_hashes``: each post's author's CRC)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = np.asarray(author_hashes, dtype=np.int64).copy()
    keyword_code = np.asarray(keyword_code)
    hashes = np.asarray(hashes, dtype=np.int64)
    hashes = np.where(hashes == PHRASE_HASH, 0, hashes)
    for post_lo, post_hi, occ_lo, occ_hi in post_blocks(lengths):  # a run of posts at a time
        part = lengths[post_lo:post_hi]
        nonempty = part > 0
        if nonempty.any():
            h = hashes[keyword_code[occ_lo:occ_hi]]
            total[post_lo:post_hi][nonempty] += np.add.reduceat(h, (np.cumsum(part) - part)[nonempty])
    return total % P


def sketch_of(post_hashes_: np.ndarray, post_langs: np.ndarray | None = None) -> np.ndarray:
    """The sketch of a set of posts: ``K`` minimums (int64); ``post_langs``: their language codes
    (:func:`trendlab.core.langtags.langs_code`; none: 0)."""
    langs = None if post_langs is None else np.asarray(post_langs, dtype=np.int64)
    return _values(np.asarray(post_hashes_, dtype=np.int64), langs).min(axis=0)


def _values(h: np.ndarray, langs: np.ndarray | None) -> np.ndarray:
    """The ``K`` sketch values of each post (a row each): ``h_i(p) << CODE_BITS | langs_code(p)``."""
    values = ((h[:, None] * _A[None, :] + _B[None, :]) % P) << CODE_BITS
    if langs is not None:
        values |= langs[:, None]
    return values


def shared_share(sketch_a: Sequence[int], count_a: int, sketch_b: Sequence[int], count_b: int) -> float:
    """``|A ∩ B| / min(|A|, |B|)`` estimated from two sketches and the two post counts."""
    return float(shared_shares([sketch_a, sketch_b], [count_a, count_b])[0, 1])


def shared_shares(sketches: Sequence[Sequence[int] | None], counts: Sequence[float]) -> np.ndarray:
    """:func:`shared_share` of every pair of keywords at once (0 on the diagonal, and for a keyword
    without a sketch or posts): the Jaccard estimate ``J`` (the share of equal minimums) gives
    ``|A ∩ B| = J (|A| + |B|) / (1 + J)``, over the smaller of the two counts, at most 1."""
    m = len(sketches)
    out = np.zeros((m, m), dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    have = [i for i, sk in enumerate(sketches) if sk is not None and counts[i] > 0]
    if len(have) < 2:
        return out
    S = np.stack([np.asarray(sketches[i]) for i in have])
    j = (S[:, None, :] == S[None, :, :]).sum(axis=-1) / S.shape[1]
    c = counts[have]
    both = j * (c[:, None] + c[None, :]) / (1.0 + j)
    share = np.minimum(1.0, both / np.minimum(c[:, None], c[None, :]))
    np.fill_diagonal(share, 0.0)
    out[np.ix_(have, have)] = share
    return out


def sql_columns(post_hash_column: str = "post_hash", post_langs_column: str = "post_langs") -> list[str]:
    """The job's aggregate columns ``mh0 … mh{K-1}``: the same minimums in Flink SQL (``* 2**CODE_BITS +``
    the code: a shift and an OR of a code below ``2**CODE_BITS``). ``MOD`` has its second operand's type
    (an INT literal), so it is cast to BIGINT before the shift."""
    return [f"MIN(CAST(MOD({post_hash_column} * {a} + {b}, {P}) AS BIGINT) * {1 << CODE_BITS} + {post_langs_column})"
            f" AS mh{i}" for i, (a, b) in enumerate(zip(A, B))]


#: occurrences at a time whose K hash values :meth:`ReplaySketches.prepare` computes
_SKETCH_BLOCK = 1 << 17

#: the sketch's column names in the job's rows
SKETCH_COLUMNS = tuple(f"mh{i}" for i in range(SKETCH_SIZE))


class ReplaySketches:
    """The sketches of chosen keywords in chosen windows, from a stream's occurrences (the replay
    engine computes only the ones grouping asks for: the keywords that are hot at some window)."""

    def __init__(self, keyword_code: np.ndarray, event_ms: np.ndarray, post_hash_: np.ndarray,
                 slide_ms: int, n: int, post_index: np.ndarray | None = None,
                 post_langs: np.ndarray | None = None) -> None:
        """One entry per occurrence in ``keyword_code``; ``event_ms``, ``post_hash_`` and ``post_langs``
        (language codes; none: 0) one per occurrence too, or, with ``post_index`` (each occurrence's
        post), one per post."""
        self._kw = np.asarray(keyword_code)
        self._post = None if post_index is None else np.asarray(post_index)
        self._slot = np.asarray(event_ms, dtype=np.int64) // slide_ms
        self._hash = np.asarray(post_hash_, dtype=np.int64)
        self._langs = None if post_langs is None else np.asarray(post_langs, dtype=np.int64)
        self._n = n
        self._codes = int(self._kw.max()) + 1 if self._kw.size else 0
        self._per_slot: dict[int, pd.DataFrame] = {}

    def prepare(self, codes: Sequence[int]) -> None:
        """Per keyword of ``codes``, its sketch per slot (one pass over the occurrences)."""
        codes = sorted({int(c) for c in codes} - set(self._per_slot))
        if not codes:
            return
        wanted = np.zeros(max(max(codes) + 1, self._codes), dtype=bool)
        wanted[codes] = True
        mask = wanted[self._kw]
        kw = self._kw[mask].astype(np.int64)
        langs = self._langs
        if self._post is None:
            slot, h = self._slot[mask], self._hash[mask]
            tags = None if langs is None else langs[mask]
        else:
            post = self._post[mask]
            slot, h = self._slot[post], self._hash[post]
            tags = None if langs is None else langs[post]
        for code in codes:
            self._per_slot[code] = None
        if not kw.size:
            return
        order = np.lexsort((slot, kw))
        kw, slot, h = kw[order], slot[order], h[order]
        tags = None if tags is None else tags[order]
        del order, mask
        # one row per (keyword, slot): the minimums of its posts, K hash values per occurrence computed
        # for a run of rows at a time (a day's hot words have millions of occurrences: K int64 each at
        # once would be gigabytes)
        starts = np.flatnonzero(np.r_[True, (kw[1:] != kw[:-1]) | (slot[1:] != slot[:-1])])
        ends = np.append(starts[1:], kw.size)
        mins = np.empty((starts.size, SKETCH_SIZE), dtype=np.int64)
        i = 0
        while i < starts.size:
            j = max(i + 1, int(np.searchsorted(ends, starts[i] + _SKETCH_BLOCK, side="right")))
            lo, hi = int(starts[i]), int(ends[j - 1])
            values = _values(h[lo:hi], None if tags is None else tags[lo:hi])
            mins[i:j] = np.minimum.reduceat(values, starts[i:j] - lo, axis=0)
            i = j
        row_kw, row_slot = kw[starts], slot[starts]
        bounds = np.flatnonzero(np.r_[True, row_kw[1:] != row_kw[:-1], True])
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            self._per_slot[int(row_kw[lo])] = (row_slot[lo:hi], mins[lo:hi])

    def get(self, code: int, end_slot: int) -> np.ndarray | None:
        """The sketch of keyword ``code`` in the window with this end slot (posts in slots
        ``end_slot - n … end_slot - 1``), or ``None`` without posts."""
        code = int(code)
        if code not in self._per_slot:
            self.prepare([code])
        per = self._per_slot[code]
        if per is None:
            return None
        slots, mins = per
        lo, hi = np.searchsorted(slots, [end_slot - self._n, end_slot])
        return None if hi <= lo else mins[lo:hi].min(axis=0)
