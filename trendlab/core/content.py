"""What one voice is: a post's **content key**, so that a copy-paste campaign counts once.

Many accounts posting one template with small edits (other @mentions, a swapped word, hashtags in
another order, a link or an emoji more) are one voice, not many: the window counts carry, besides
``count`` and ``unique_authors``, ``unique_contents``, the number of distinct content keys among the
keyword's posts, and detection asks that a rise be made of distinct contents
(:func:`trendlab.core.detect.hot_scores`). The key is a pure function of the post's keywords and its
author, so both engines compute it the same way, post by post, with no state:

* A post with at least :data:`MIN_KEYWORDS` keywords (a paragraph: what a template is) is keyed by
  the **bottom-2 MinHash** of its keyword set: the two smallest :func:`keyword_hash` values among its
  keywords. Mentions, links, emoji and punctuation are not keywords, and a set has no order, so those
  edits cannot change the key; a swapped word changes it only when the word is one of the two smallest
  (for a 30-keyword template with two swapped slots, about one post in eight), so a campaign of
  hundreds of posts a window has a handful of keys. Two posts of people writing their own words share
  a key only when both of their two smallest words agree, which for two different texts of 8+ keywords
  is rare even when they share the story's name (each shared word is one of the two smallest of a
  post with odds of about 2 in the post's size).
* A shorter post is keyed by its **author**: short posts cannot be told from people writing the same
  few words ("#SuperBowl halftime!"), so they are counted as their authors' voices, never merged
  across authors.

**Words only.** A post's phrases (its adjacent word pairs, keywords that contain a space; see
:mod:`trendlab.core.extract`) are made of its words, so they add nothing a template's words do not say, and
they would let a swapped word change two more keys: the key reads a post's single words (and
hashtags) only. :data:`MIN_KEYWORDS` counts those, and the MinHash is taken over those
(:func:`keyword_hashes` gives a phrase :data:`PHRASE_HASH`, above every word's hash: it never wins).
A post's links (:mod:`trendlab.core.links`, keywords too) are left out the same way: a campaign that
changes its links is still one voice.

``keyword_hash`` is CRC-32 of the keyword's UTF-8 bytes (31 bits kept): stable across processes, Python
versions and engines, unlike ``hash()``. The replay engine computes keys for a whole stream at once
(:func:`post_content_codes`); the Flink job's table function calls :func:`content_key` per post.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from trendlab.core.kernels import native_module
from trendlab.core.links import LINK_PREFIX

__all__ = ["MIN_KEYWORDS", "PHRASE_HASH", "is_word", "keyword_hash", "content_key", "keyword_hashes", "post_content_codes"]

#: Posts with at least this many keywords are keyed by their content; shorter ones by their author.
MIN_KEYWORDS = 8

_MASK = 0x7FFFFFFF
#: what :func:`keyword_hashes` gives a phrase: above every word's hash, so never one of the two smallest
PHRASE_HASH = _MASK + 2


def is_word(keyword: str) -> bool:
    """Whether a keyword is a word or a hashtag: not a phrase, not a link (:mod:`trendlab.core.links`). Only
    words make a content key."""
    return " " not in keyword and not keyword.startswith(LINK_PREFIX)


def keyword_hash(keyword: str) -> int:
    """The keyword's 31-bit hash: CRC-32 of its UTF-8 bytes (a lone surrogate as ``surrogatepass``)."""
    return zlib.crc32(keyword.encode("utf-8", "surrogatepass")) & _MASK


def content_key(keywords: Sequence[str], author: str) -> str:
    """A post's content key (the Flink job's column; :func:`post_content_codes` is the same for a stream).

    ``"c<h1>.<h2>"`` (its two smallest keyword hashes, ascending) for a post with at least
    :data:`MIN_KEYWORDS` words (phrases are not counted nor hashed), else ``"a" + author``."""
    words = [k for k in keywords if is_word(k)]
    if len(words) < MIN_KEYWORDS:
        return "a" + author
    first = second = _MASK + 1
    for keyword in words:
        h = keyword_hash(keyword)
        if h < first:
            first, second = h, first
        elif first < h < second:
            second = h
    return f"c{first}.{second}"


def keyword_hashes(keywords: Sequence[str]) -> np.ndarray:
    """:func:`keyword_hash` of every keyword (int64), e.g. of a stream's keyword table; a phrase's is
    :data:`PHRASE_HASH` (it never counts toward a content key)."""
    native = native_module()
    if native is not None:  # the same numbers from the compiled kernel
        return np.frombuffer(native.keyword_hashes(list(keywords), PHRASE_HASH), dtype=np.int64)
    return np.fromiter((keyword_hash(k) if is_word(k) else PHRASE_HASH for k in keywords), dtype=np.int64,
                       count=len(keywords))


def string_hashes(strings: Sequence[str]) -> np.ndarray:
    """:func:`keyword_hash` of every string (int64), phrases included (e.g. of a stream's authors)."""
    native = native_module()
    if native is not None:
        return np.frombuffer(native.keyword_hashes(list(strings)), dtype=np.int64)
    return np.fromiter((keyword_hash(s) for s in strings), dtype=np.int64, count=len(strings))


def post_content_codes(keyword_code: np.ndarray, lengths: np.ndarray, hashes: np.ndarray,
                       author_code: np.ndarray) -> np.ndarray:
    """Per post, a small integer code of its content key: equal codes ⇔ equal :func:`content_key`.

    ``keyword_code`` holds the posts' keywords back to back (``lengths[i]`` for post ``i``; a post's
    keywords are distinct), ``hashes[code]`` is :func:`keyword_hash` of keyword ``code``, and
    ``author_code`` is each post's author code. A keyword whose hash is :data:`PHRASE_HASH` (a phrase)
    is not counted toward :data:`MIN_KEYWORDS` and never wins the minimum, as in :func:`content_key`.
    Vectorised: segmented sums and minimums, no per-post Python, a run of posts at a time
    (:func:`post_blocks`: the per-occurrence temporaries stay small on a day's stream).
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    author_code = np.asarray(author_code, dtype=np.int64)
    hashes = np.asarray(hashes, dtype=np.int64)
    keyword_code = np.asarray(keyword_code)
    phrases = bool((hashes == PHRASE_HASH).any())
    keys = np.empty(lengths.size, dtype=np.int64)
    for post_lo, post_hi, occ_lo, occ_hi in post_blocks(lengths):
        keys[post_lo:post_hi] = _content_keys(keyword_code[occ_lo:occ_hi], lengths[post_lo:post_hi], hashes,
                                              author_code[post_lo:post_hi], phrases)
    _, codes = np.unique(keys, return_inverse=True)
    return codes.astype(np.int64, copy=False)


#: occurrences at a time in the per-post computations (their per-occurrence temporaries stay this small)
BLOCK_OCCURRENCES = 1 << 22


def post_blocks(lengths: np.ndarray, block: int | None = None):
    """Consecutive runs of posts ``(post_lo, post_hi, occurrence_lo, occurrence_hi)`` of about
    ``block`` occurrences each (at least one post a run), for per-post results computed a run at a time."""
    block = block or BLOCK_OCCURRENCES
    ends = np.cumsum(lengths)
    total = int(ends[-1]) if ends.size else 0
    post_lo = occ_lo = 0
    while post_lo < lengths.size:
        post_hi = max(post_lo + 1, int(np.searchsorted(ends, occ_lo + block, side="right")))
        occ_hi = int(ends[post_hi - 1])
        yield post_lo, post_hi, occ_lo, occ_hi
        post_lo, occ_lo = post_hi, occ_hi
    assert occ_lo == total


def _content_keys(keyword_code: np.ndarray, lengths: np.ndarray, hashes: np.ndarray,
                  author_code: np.ndarray, phrases: bool) -> np.ndarray:
    """The content keys (int64, before coding) of consecutive posts: an author's code (>= 0) or a
    long post's negative MinHash key."""
    posts = lengths.size
    keys = author_code.copy()  # short posts: the author (>= 0)
    nonempty = lengths > 0  # their keywords lie back to back: one segment each
    seg = (np.cumsum(lengths) - lengths)[nonempty]
    h = None
    if phrases:  # count the words of each post (phrases do not count)
        h = hashes[np.asarray(keyword_code, dtype=np.int64)]
        words = np.zeros(posts, dtype=np.int64)
        if seg.size:
            words[nonempty] = np.add.reduceat(h != PHRASE_HASH, seg, dtype=np.int64)
    else:
        words = lengths
    long_posts = words >= MIN_KEYWORDS
    if long_posts.any():
        if h is None:
            h = hashes[np.asarray(keyword_code, dtype=np.int64)]
        first = np.zeros(posts, dtype=np.int64)
        first[nonempty] = np.minimum.reduceat(h, seg)
        # the second smallest: the smallest hash above the first (two keywords hashing alike count
        # once, as in content_key; none above: MASK + 1 there and here, phrases included)
        above = np.where(h > np.repeat(first, lengths), np.minimum(h, _MASK + 1), _MASK + 1)
        second = np.zeros(posts, dtype=np.int64)
        second[nonempty] = np.minimum.reduceat(above, seg)
        # long posts get negative keys, authors' codes are >= 0: the two never meet
        keys[long_posts] = -((first[long_posts] << 32) | second[long_posts]) - 1
    return keys
