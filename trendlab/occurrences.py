"""A stream file → its posts and their integer-coded keyword occurrences: what windows and detection need.

* :func:`read_posts` parses Jetstream or flat PostData JSON lines through the one total parser
  (:mod:`trendlab.core.parse`); non-post events are skipped, dead letters are counted and kept
  (``PostTable.dead_letters``), never fatal.
* :func:`extract_stream` runs :class:`~trendlab.core.extract.KeywordExtractor` once per post, on every core,
  and integer-codes keywords and authors; :func:`read_occurrences` does both in the worker processes,
  part of the file each, so no texts cross the process boundary.
* :func:`load_stream` picks the right path for a file or an already read :class:`PostTable`.

:mod:`trendlab.replay` turns the occurrences into window counts and alerts.
"""

from __future__ import annotations

import atexit
import gc
import itertools
import mmap
import os
import sys
import threading
import time
from datetime import datetime, timezone
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
import multiprocessing as mp

import numpy as np
from tqdm.auto import tqdm

import pandas as pd

from trendlab.core.content import PHRASE_HASH, keyword_hashes, post_content_codes, string_hashes
from trendlab.core.cooccur import ReplaySketches, post_hashes
from trendlab.core.extract import KeywordExtractor
from trendlab.core.kernels import native_module
from trendlab.core.langtags import langs_code
from trendlab.core.links import post_links
from trendlab.core.models import PostData
from trendlab.core.parse import DeadLetter, Limits, MessageParser, cap_phrases, word_count
from trendlab.core.windows import MIN_PHRASE_COUNT, WindowSpec, phrase_codes, post_window_counts, window_volume
from trendlab.env_defaults import parser_limits
from trendlab.postfile import ReadCounts, check_input, read_line_blocks

__all__ = ["Occurrences", "PostTable", "extract_keyword_lists", "extract_stream", "load_stream", "read_and_extract",
           "read_occurrences", "read_posts"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

_PARALLEL_MIN_POSTS = 5_000
#: below this file size parsing and extraction stay in one process (worker overhead would dominate)
_PARALLEL_MIN_BYTES = 2_000_000


# -- reading ------------------------------------------------------------------------------------

@dataclass
class PostTable:
    """The posts of a stream, column-wise, plus what the one reader counted on the way
    (:class:`trendlab.postfile.ReadCounts`: lines, posts, skipped non-post events, dead letters)."""

    uri: list[str]
    author: list[str]
    text: list[str]
    langs: list[tuple[str, ...]]
    event_ms: np.ndarray
    read: ReadCounts = field(default_factory=ReadCounts)
    #: the input line number of each post (for the dead letter of a post over the keyword cap)
    line: list[int] = field(default_factory=list)
    #: each post's links as written (:attr:`trendlab.core.models.PostData.links`; ``()`` for most posts)
    links: list[tuple[str, ...]] = field(default_factory=list)
    #: each post's language tags as a code (:func:`trendlab.core.langtags.langs_code` of
    #: :attr:`trendlab.core.models.PostData.languages`; every tag, where ``langs`` holds the first)
    tag_codes: list[int] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return self.read.lines

    @property
    def non_posts(self) -> int:
        return self.read.skipped

    @property
    def dead_letters(self) -> list[tuple[int, DeadLetter]]:
        """Every line that is not a usable post: (line number, dead letter); nothing is lost."""
        return self.read.dead_letters

    @property
    def malformed(self) -> int:
        return self.read.malformed

    @property
    def malformed_examples(self) -> list[tuple[int, str]]:
        """The first ten dead letters: (line number, reason)."""
        return [(n, dl.reason) for n, dl in self.dead_letters[:10]]

    def __len__(self) -> int:
        # event_ms has one entry per post in every table, also in the lean ones of load_stream (which
        # keep no texts: a day's stream would not fit in memory otherwise)
        return len(self.event_ms) if len(self.event_ms) or not self.text else len(self.text)

    def report(self) -> str:
        return self.read.report()

    def drop(self, rows: Sequence[int]) -> None:
        """Remove posts (rows) from the table, e.g. those over the keyword cap."""
        gone = set(rows)
        n = len(self.text)
        keep = [i for i in range(n) if i not in gone]
        for name in ("uri", "author", "text", "langs", "line", "links", "tag_codes"):
            column = getattr(self, name)
            if len(column) == n:  # every column of the table, not only those before ``text``
                setattr(self, name, [column[i] for i in keep])
        self.event_ms = self.event_ms[np.asarray(keep, dtype=np.int64)]
        self.read.posts -= len(gone)


def _parse_into(table: PostTable, times: list[int], path: Path, parser: MessageParser,
                byte_range: tuple[int, int] | None = None, bar=None) -> None:
    """Read posts into ``table`` through the one reader (the one place that decides post / skip / dead letter)."""
    # The cyclic garbage collector would run again and again over the growing table while millions
    # of short-lived dicts are made (3x slower); nothing here makes reference cycles.
    with _no_gc():
        _parse_lines(table, times, path, parser, byte_range, bar)


@contextmanager
def _no_gc():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _parse_lines(table: PostTable, times: list[int], path: Path, parser: MessageParser, byte_range, bar) -> None:
    """The reader's blocks of lines through the parser: the hot loop of replay, so it walks
    :func:`~trendlab.postfile.read_line_blocks` itself (one generator step per block, not per line)
    and counts exactly as :func:`~trendlab.postfile.read_messages` does."""
    uri, author, text, langs, line_no, links = table.uri, table.author, table.text, table.langs, table.line, table.links
    tag_codes = table.tag_codes
    counts = table.read
    dead = counts.dead_letters
    limit = parser.limits.max_message_bytes
    parse = parser.__call__  # bound once: the loop runs per line
    skipped = 0
    for block in read_line_blocks(path, limit, byte_range):
        counts.lines += len(block)
        if bar is not None:
            bar.update(sum(size + 1 for _, _, size in block))
        for number, line, size in block:
            post = parse(line) if size <= limit else parser.oversized(size, line)
            if post.__class__ is not PostData:
                if post.__class__ is DeadLetter:
                    dead.append((number, post))
                else:
                    skipped += 1
                continue
            uri.append(post.uri)
            author.append(post.author_did)
            text.append(post.text)
            langs.append((post.language,) if post.language else ())
            tag_codes.append(langs_code(post.languages))
            line_no.append(number)
            links.append(tuple(post.links) if post.links else ())
            times.append(post.event_time_us // 1000)
    counts.skipped += skipped
    counts.posts = counts.lines - counts.skipped - len(dead)


def _empty_table() -> PostTable:
    return PostTable([], [], [], [], np.empty(0, dtype=np.int64))


def _file_parser(limits: Limits | None = None) -> MessageParser:
    """One parser per file read: one *now* for the whole file (see trendlab.core.parse); ``limits``
    ``None``: the environment's (:func:`trendlab.env_defaults.parser_limits`)."""
    return MessageParser(limits or parser_limits(), now_us=time.time_ns() // 1000)


def read_posts(path: str | Path, progress: bool | None = None, parser: MessageParser | None = None,
               *, limits: Limits | None = None) -> PostTable:
    """Read a Jetstream or flat PostData JSON-lines file (``.gz``/``.zst`` too) through the one reader
    (``parser``, else one with ``limits``, else the environment's limits)."""
    path = check_input(path)
    size = path.stat().st_size
    table = _empty_table()
    times: list[int] = []
    show = (size > 20_000_000) if progress is None else progress
    with tqdm(total=size, unit="B", unit_scale=True, desc="read", disable=not show, file=sys.stderr) as bar:
        _parse_into(table, times, path, parser or _file_parser(limits), bar=bar)
    table.event_ms = np.asarray(times, dtype=np.int64)
    return table


def _read_extract_range(args: tuple[str, int, int, KeywordExtractor, MessageParser]
                        ) -> tuple[PostTable, list[list[str]], int]:
    """One part of a file: its posts (lines numbered from 1 within the part), their keywords, and how
    many lines the part holds."""
    path, start, end, extractor, parser = args
    table = _empty_table()
    times: list[int] = []
    _parse_into(table, times, Path(path), parser, byte_range=(start, end))
    table.event_ms = np.asarray(times, dtype=np.int64)
    with open(path, "rb") as fh:
        fh.seek(start)
        lines = _count_lines(fh, end - start)
    with _no_gc():
        return table, [extractor.extract(t, l or None) for t, l in zip(table.text, table.langs)], lines


def _count_lines(fh, size: int) -> int:
    """Lines in the next ``size`` bytes of ``fh`` (cut at a line end), reading 1 MB at a time."""
    lines = 0
    last = b"\n"
    while size > 0:
        block = fh.read(min(size, 1 << 20))
        if not block:
            break
        lines += block.count(b"\n")
        last = block[-1:]
        size -= len(block)
    return lines + (last != b"\n")


_POOL: dict[int, ProcessPoolExecutor] = {}


def _worker_pool(workers: int, extractor: KeywordExtractor) -> ProcessPoolExecutor:
    """Worker processes, started once per process and reused by every later replay and sweep (a
    notebook session pays the start-up once). Forked after loading stop words and MeCab, so workers
    start warm."""
    pool = _POOL.get(workers)
    if pool is None:
        for lang in ("en", "ja", "pt", "de", "es"):
            extractor.extract("warm 東京で", (lang,))  # kana: MeCab, not jieba (slow to load, rarely needed)
        pool = _POOL[workers] = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork"))
        atexit.register(pool.shutdown, wait=False, cancel_futures=True)
    return pool


def _pool_map(workers: int, extractor: KeywordExtractor, fn, jobs) -> Iterator:
    """``fn`` over ``jobs`` on the one worker pool, results in order; a pool whose worker died is
    dropped, so the next call starts a fresh one."""
    try:
        yield from _worker_pool(workers, extractor).map(fn, jobs)
    except BrokenProcessPool:
        _POOL.pop(workers, None)
        raise


def read_and_extract(
    path: str | Path,
    extractor: KeywordExtractor | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    *,
    limits: Limits | None = None,
) -> tuple[PostTable, list[list[str]]]:
    """Read a stream file and extract every post's keywords, each worker process taking a part of
    the file (parse + extract on every core). Same result as ``read_posts`` + ``extract_keyword_lists``.
    ``limits``: the parser's (``None``: the environment's)."""
    path = check_input(path)
    extractor = extractor or KeywordExtractor()
    workers = workers or os.cpu_count() or 1
    parser = _file_parser(limits)
    size = path.stat().st_size
    if not _parallel(path, workers):
        table = read_posts(path, progress=progress, parser=parser)
        lists = extract_keyword_lists(table.text, table.langs, extractor,
                                      1 if size < _PARALLEL_MIN_BYTES else workers, progress)
        return _keyword_cap(table, lists, parser)
    results = _map_parts(path, _read_extract_range, extractor, parser, workers, progress)
    table = _empty_table()
    lists: list[list[str]] = []
    times_parts = []
    lines_before = 0
    for part, kws, part_lines in results:
        table.uri += part.uri
        table.author += part.author
        table.text += part.text
        table.langs += part.langs
        table.line += [lines_before + n for n in part.line]
        table.links += part.links
        table.tag_codes += part.tag_codes
        times_parts.append(part.event_ms)
        table.read.add(part.read, lines_before)
        lines_before += part_lines
        lists += kws
    table.event_ms = np.concatenate(times_parts) if times_parts else np.empty(0, dtype=np.int64)
    return _keyword_cap(table, lists, parser)


#: a part of a file is at most this many bytes (the workers' memory stays bounded on a day's stream)
_PART_MAX_BYTES = 64 << 20
#: the smallest part is 1/(workers × this) of the file, and at least :data:`_PART_MIN_BYTES`
_TAIL_PARTS_PER_WORKER = 16
#: a part costs its worker a few ms besides its lines (sending it, coding its result, merging it): on
#: the long sample (13 MB, 2 cores) 12 parts of ~1 MB read in 0.054 s, 2 equal parts in 0.047 s (a
#: file under ``workers`` × this is cut into ``workers`` equal parts)
_PART_MIN_BYTES = 8 << 20


def _map_parts(path: Path, fn, extractor: KeywordExtractor, parser: MessageParser, workers: int,
               progress: bool | None) -> list:
    """``fn((path, start, end, extractor, parser))`` for parts of the file cut at line ends, on the
    worker processes, in file order."""
    size = path.stat().st_size
    bounds = [0]
    # Guided: large parts first, shrinking towards the end (each a share of what is left, down to a
    # floor), so a worker that finishes early takes the small tail parts and all finish together
    # (parts of equal bytes take unequal times: Japanese posts cost MeCab).
    smallest = max(size // (workers * _TAIL_PARTS_PER_WORKER), min(_PART_MIN_BYTES, -(-size // workers)))
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        while True:  # cut at line ends, without reading the file into memory
            step = min(_PART_MAX_BYTES, max((size - bounds[-1]) // (2 * workers), smallest))
            cut = data.find(b"\n", bounds[-1] + step - 1) if bounds[-1] + step < size else -1
            if cut < 0:
                break
            bounds.append(cut + 1)
    bounds.append(size)
    jobs = [(str(path), a, b, extractor, parser) for a, b in zip(bounds, bounds[1:]) if b > a]
    show = size > 20_000_000 if progress is None else progress
    results = []
    with _no_gc(), tqdm(total=len(jobs), unit="part", desc="read+extract", disable=not show, file=sys.stderr) as bar:
        for res in _pool_map(workers, extractor, fn, jobs):
            results.append(res)
            bar.update(1)
    return results


def _parallel(path: Path, workers: int) -> bool:
    return not (path.suffix.lower() in (".gz", ".zst", ".zstd") or workers < 2
                or path.stat().st_size < _PARALLEL_MIN_BYTES or "fork" not in mp.get_all_start_methods())


@dataclass
class _Coded:
    """Keyword lists and authors integer-coded in order of first appearance (what a worker sends back
    instead of the lists of strings: a fraction of the bytes to pickle, and no texts)."""

    keywords: list[str]
    keyword_code: np.ndarray  # one entry per occurrence
    lengths: np.ndarray  # keywords per post
    authors: list[str]
    author_code: np.ndarray  # one entry per post
    #: each post's language tags' code (:func:`trendlab.core.langtags.langs_code`), int32
    lang_code: np.ndarray | None = None

    @classmethod
    def of(cls, lists: Sequence[list[str]], authors: Sequence[str], lang_codes: Sequence[int] | None = None
           ) -> _Coded:
        lengths = np.fromiter((len(k) for k in lists), dtype=np.int64, count=len(lists))
        with _no_gc():  # codes in order of first appearance; a dict is ~10x faster than np.unique on str
            kw_index: dict[str, int] = {}
            kw_code = np.fromiter(
                (kw_index.setdefault(k, len(kw_index)) for k in itertools.chain.from_iterable(lists)),
                dtype=np.int64, count=int(lengths.sum()),
            )
            au_index: dict[str, int] = {}
            au_code = np.fromiter((au_index.setdefault(a, len(au_index)) for a in authors),
                                  dtype=np.int64, count=len(authors))
        codes = None if lang_codes is None or len(lang_codes) != len(lists) else np.asarray(lang_codes, dtype=np.int32)
        return cls(list(kw_index), kw_code, lengths, list(au_index), au_code, codes)

    @classmethod
    def merge(cls, parts: Sequence[_Coded]) -> _Coded:
        """One coding of consecutive parts: the same codes as :meth:`of` over their concatenation."""
        if len(parts) == 1:
            return parts[0]
        native = native_module()
        if native is not None:  # the same codes, from the compiled kernel
            keywords, kw_maps = native.union([p.keywords for p in parts])
            authors, au_maps = native.union([p.authors for p in parts])
            kw_maps = [np.frombuffer(m, dtype=np.int64) for m in kw_maps]
            au_maps = [np.frombuffer(m, dtype=np.int64) for m in au_maps]
        else:
            kw_index: dict[str, int] = {}
            au_index: dict[str, int] = {}
            kw_maps, au_maps = [], []
            for part in parts:
                kw_maps.append(np.fromiter((kw_index.setdefault(k, len(kw_index)) for k in part.keywords),
                                           dtype=np.int64, count=len(part.keywords)))
                au_maps.append(np.fromiter((au_index.setdefault(a, len(au_index)) for a in part.authors),
                                           dtype=np.int64, count=len(part.authors)))
            keywords, authors = list(kw_index), list(au_index)
        # into one int32 array each, a part at a time, each part's own codes let go once mapped (a
        # day's occurrences are tens of millions: no concatenation of int64 copies)
        kw_code = np.empty(sum(p.keyword_code.size for p in parts), dtype=np.int32)
        au_code = np.empty(sum(p.author_code.size for p in parts), dtype=np.int32)
        kw_at = au_at = 0
        for part, kw_map, au_map in zip(parts, kw_maps, au_maps):
            kw_code[kw_at:kw_at + part.keyword_code.size] = kw_map[part.keyword_code]
            au_code[au_at:au_at + part.author_code.size] = au_map[part.author_code]
            kw_at += part.keyword_code.size
            au_at += part.author_code.size
            part.keyword_code = part.author_code = _RELEASED
        codes = None if any(p.lang_code is None for p in parts) else np.concatenate([p.lang_code for p in parts])
        return cls(keywords, kw_code, _concat([p.lengths for p in parts]), authors, au_code, codes)

    def occurrences(self, event_ms: np.ndarray) -> Occurrences:
        """The occurrences as (keyword, post) int32 pairs, with each post's time, author, content key
        and sketch hash once per post (:class:`Occurrences`)."""
        posts = len(self.lengths)
        keyword_code = self.keyword_code.astype(np.int32, copy=False)
        author_code = self.author_code.astype(np.int32, copy=False)
        post_index = np.repeat(np.arange(posts, dtype=np.int32), self.lengths)
        hashes = keyword_hashes(self.keywords)
        contents = post_content_codes(keyword_code, self.lengths, hashes, author_code)
        author_crc = string_hashes(self.authors)
        posts_hash = post_hashes(keyword_code, self.lengths, hashes, author_crc[author_code])
        return Occurrences(
            keywords=np.array(self.keywords, dtype=object),
            authors=np.array(self.authors, dtype=object),
            keyword_code=keyword_code,
            post_index=post_index,
            post_event_ms=np.asarray(event_ms, dtype=np.int64),
            post_author_code=author_code,
            posts=posts,
            post_content_code=contents.astype(np.int32),
            post_hash=posts_hash,
            post_langs=self.lang_code,
            phrase=hashes == PHRASE_HASH,
        )


#: what a merged part's codes become (they live on in the merged arrays)
_RELEASED = np.empty(0, dtype=np.int64)


def _concat(arrays: Sequence[np.ndarray]) -> np.ndarray:
    return np.concatenate(arrays) if len(arrays) else np.empty(0, dtype=np.int64)


def _read_code_range(args: tuple[str, int, int, KeywordExtractor, MessageParser]) -> tuple[PostTable, _Coded, int]:
    """One part of a file read, extracted, capped and coded in the worker; the table comes back
    without its texts (only event times and what the reader counted)."""
    path, start, end, extractor, parser = args
    if end - start >= _TRIM_PART_BYTES:
        release_freed_memory()  # what the worker's previous (large) part left in its heap
    native = extractor._native() and native_module()
    if native:
        return _scan_code_range(native, Path(path), (start, end), extractor, parser)
    table, lists, lines = _read_extract_range(args)
    table, lists = _keyword_cap(table, lists, parser)
    coded = _Coded.of(lists, table.author, table.tag_codes)
    return PostTable([], [], [], [], table.event_ms, table.read), coded, lines


def _scan_code_range(native, path: Path, byte_range: tuple[int, int] | None, extractor: KeywordExtractor,
                     parser: MessageParser) -> tuple[PostTable, _Coded, int]:
    """:func:`_read_code_range` with the compiled scanner (``trendlab_native.Scanner``): it reads the
    lines that are plainly a Jetstream post creation or a non-post event itself, and hands every
    other line, in order, to ``fallback``: the one total parser and the extractor; same outcome,
    line for line."""
    limits = parser.limits

    def fallback(number: int, line: bytes, size: int):
        out = parser.post_keywords(line, extractor, size)
        if out is None or out.__class__ is DeadLetter:
            return out
        post, keywords = out
        return post.author_did, post.event_time_us // 1000, keywords, langs_code(post.languages)

    scanner = _scanner(native, extractor, limits, fallback, parser.latest_us())
    with _no_gc():
        if path.suffix.lower() in (".gz", ".zst", ".zstd"):  # decompressed by the one reader
            for block in read_line_blocks(path, limits.max_message_bytes, byte_range):
                scanner.feed(block)
            lines = 0
        else:  # the scanner reads the lines itself, as read_line_blocks does
            lines = scanner.scan_file(path, *(byte_range or (0, None)))
        out = scanner.result()
        scanner.restart(None, 0)  # what it read is copied out: let it go now (the scanner is kept)
    read = ReadCounts(lines=out["lines"], skipped=out["skipped"], dead_letters=out["dead_letters"])
    read.posts = read.lines - read.skipped - read.malformed
    event_ms = np.frombuffer(out["event_ms"], dtype=np.int64)
    coded = _Coded(out["keywords"], np.frombuffer(out["keyword_code"], dtype=np.int64),
                   np.frombuffer(out["lengths"], dtype=np.int64), out["authors"],
                   np.frombuffer(out["author_code"], dtype=np.int64),
                   np.frombuffer(out["lang_code"], dtype=np.int64).astype(np.int32))
    return PostTable([], [], [], [], event_ms, read), coded, lines


#: this process's scanner per thread, with the rules it was made for (the languages it has looked up
#: are kept from one part or file to the next: each one costs a Python call and a stop-word table)
_SCANNERS: dict[int, tuple[tuple, object]] = {}


def _scanner(native, extractor: KeywordExtractor, limits: Limits, fallback, latest_us: int):
    """A ``trendlab_native.Scanner`` for these rules and limits, empty: the one this thread used last
    (restarted) when it was made for the same ones, else a new one."""
    key = (extractor.min_length, extractor.max_length, extractor.extra_stopwords,
           limits.max_message_bytes, limits.max_keywords, limits.min_event_time_us, id(native))
    thread = threading.get_ident()
    kept = _SCANNERS.get(thread)
    if kept is not None and kept[0] == key:
        kept[1].restart(fallback, latest_us)
        return kept[1]
    scanner = native.Scanner(extractor.kernel_rules(), fallback, limits.max_message_bytes, limits.max_keywords,
                             limits.min_event_time_us, latest_us)
    _SCANNERS[thread] = (key, scanner)
    return scanner


def read_occurrences(
    path: str | Path,
    extractor: KeywordExtractor | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    *,
    limits: Limits | None = None,
) -> tuple[PostTable, Occurrences]:
    """A stream file → what the reader counted (a table of event times, without texts) and the
    integer-coded keyword occurrences. Same occurrences as ``read_and_extract`` + ``extract_stream``;
    the workers code their part, so the lists of strings never cross a process boundary and the texts
    are never held all at once. ``limits``: the parser's (``None``: the environment's)."""
    path = check_input(path)
    extractor = extractor or KeywordExtractor()
    workers = workers or os.cpu_count() or 1
    if not _parallel(path, workers):
        native = extractor._native() and native_module()
        if native:  # the compiled scanner in one process beats fan-out
            table, coded, _ = _scan_code_range(native, path, None, extractor, _file_parser(limits))
            return table, coded.occurrences(table.event_ms)
        table, lists = read_and_extract(path, extractor, workers, progress, limits=limits)
        return table, extract_stream(table, keyword_lists=lists)
    results = _map_parts(path, _read_code_range, extractor, _file_parser(limits), workers, progress)
    table = _empty_table()
    lines_before = 0
    for part, _, part_lines in results:
        table.read.add(part.read, lines_before)
        lines_before += part_lines
    table.event_ms = _concat([part.event_ms for part, _, _ in results])
    coded = _Coded.merge([c for _, c, _ in results])
    del results  # the parts' codes (merged above) are not held while the occurrences are built
    occ = coded.occurrences(table.event_ms)
    del coded
    if table.event_ms.size >= _TRIM_POSTS:
        release_freed_memory()
    return table, occ


#: a worker part (bytes) / a stream (posts) from which the freed heap is handed back (a day's stream:
#: the parts' pickled results and keyword lists, freed by now, held ~250 MB of the replay's heap)
_TRIM_PART_BYTES = 16 << 20
_TRIM_POSTS = 500_000


def release_freed_memory() -> None:
    """Hand the heap's free pages back to the system (glibc's ``malloc_trim``; nothing elsewhere). The
    allocator keeps what a large read freed (pickled parts, keyword lists) for later use, which would
    count in the process's resident memory through everything after it."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


_TRIM: list = []


def _malloc_trim():
    if not _TRIM:
        try:
            import ctypes

            _TRIM.append(ctypes.CDLL("libc.so.6").malloc_trim if sys.platform.startswith("linux") else None)
        except (OSError, AttributeError):
            _TRIM.append(None)
    return _TRIM[0]


def _keyword_cap(table: PostTable, lists: list[list[str]], parser: MessageParser
                 ) -> tuple[PostTable, list[list[str]]]:
    """The extractor's keywords made the posts' keywords, as :meth:`MessageParser.post_keywords` makes
    them for one message: posts with more words than ``TRENDLAB_MAX_KEYWORDS`` become dead letters,
    the others keep that many phrases at most (:meth:`MessageParser.keyword_cap`, :func:`cap_phrases`)
    and get their links (:func:`trendlab.core.links.post_links`) last."""
    table, lists = _cap(table, lists, parser)
    texts = table.text
    for i, uris in enumerate(table.links):
        if uris or "://" in texts[i]:
            found = post_links(uris, texts[i])
            if found:
                lists[i] = lists[i] + found
    return table, lists


def _cap(table: PostTable, lists: list[list[str]], parser: MessageParser) -> tuple[PostTable, list[list[str]]]:
    cap = parser.limits.max_keywords
    long = [i for i, kws in enumerate(lists) if len(kws) > cap]
    if not long:
        return table, lists
    over = [i for i in long if word_count(lists[i]) > cap]
    for i in long:
        lists[i] = cap_phrases(lists[i], cap)
    if not over:
        return table, lists
    posts = [PostData(table.uri[i], table.author[i], table.text[i], _EPOCH) for i in over]
    letters = [(table.line[i], parser.keyword_cap(post, lists[i])) for i, post in zip(over, posts)]
    table.read.dead_letters = sorted(table.read.dead_letters + letters, key=lambda x: x[0])
    table.drop(over)
    gone = set(over)
    return table, [kws for i, kws in enumerate(lists) if i not in gone]


# -- extraction ---------------------------------------------------------------------------------

@dataclass
class Occurrences:
    """(post, keyword) occurrences, integer-coded: what windows and detection need.

    One entry per occurrence holds only its keyword and its post (int32 each); what belongs to the
    post (time, author, content key, sketch hash) is kept once per post. A day's stream has tens of
    millions of occurrences (words and phrases, several per post): five int64 columns per occurrence
    were most of replay's memory. ``author_code``, ``event_ms`` and ``content_code`` give the
    per-occurrence view when asked (a new array each time)."""

    keywords: np.ndarray  # code -> keyword text (object array)
    authors: np.ndarray  # code -> author DID
    keyword_code: np.ndarray  # one entry per occurrence (int32)
    post_index: np.ndarray  # which post (row of the PostTable) the occurrence comes from (int32)
    #: every post's event time (ms) and author code, keywords or not: the windows' volume
    post_event_ms: np.ndarray
    post_author_code: np.ndarray
    posts: int = 0
    #: each post's content key, integer-coded (:mod:`trendlab.core.content`); ``None``: every post its own
    post_content_code: np.ndarray | None = None
    #: each post's hash for co-occurrence sketches (:func:`trendlab.core.cooccur.post_hash`)
    post_hash: np.ndarray | None = None
    #: each post's language tags' code for the sketches (:func:`trendlab.core.langtags.langs_code`; ``None``: 0)
    post_langs: np.ndarray | None = None
    #: which keyword codes are phrases (``None``: found from the keywords when needed)
    phrase: np.ndarray | None = None

    @property
    def author_code(self) -> np.ndarray:
        return self.post_author_code[self.post_index]

    @property
    def event_ms(self) -> np.ndarray:
        return self.post_event_ms[self.post_index]

    @property
    def content_code(self) -> np.ndarray | None:
        return None if self.post_content_code is None else self.post_content_code[self.post_index]

    def is_phrase(self) -> np.ndarray:
        if self.phrase is None or self.phrase.size != len(self.keywords):
            self.phrase = phrase_codes(self.keywords)
        return self.phrase

    def sketches(self, spec: WindowSpec) -> ReplaySketches | None:
        """The keywords' post sketches for grouping (:class:`trendlab.core.cooccur.ReplaySketches`)."""
        if self.post_hash is None:
            return None
        return ReplaySketches(self.keyword_code, self.post_event_ms, self.post_hash, spec.slide_ms,
                              spec.windows_per_post, post_index=self.post_index, post_langs=self.post_langs)

    def window_counts(self, spec: WindowSpec) -> pd.DataFrame:
        """Window counts with distinct authors and contents (:func:`trendlab.core.windows.post_window_counts`,
        the rows of :func:`trendlab.core.windows.window_counts`); a phrase's windows from
        :data:`~trendlab.core.windows.MIN_PHRASE_COUNT` posts. The occurrences of a phrase written fewer
        times than that in the whole stream can make no window: they are left out before the
        aggregation (most of a day's pairs), which changes no row."""
        least = np.where(self.is_phrase(), MIN_PHRASE_COUNT, 1).astype(np.int32)
        return post_window_counts(self.keyword_code, self.post_index, self.post_event_ms, self.post_author_code,
                                  spec, self.post_content_code, least)

    def window_volume(self, spec: WindowSpec) -> pd.DataFrame:
        """Distinct authors per window (:func:`trendlab.core.windows.window_volume`), from every post."""
        return window_volume(self.post_event_ms, self.post_author_code, spec)

    def __len__(self) -> int:
        return int(self.keyword_code.size)


def _extract_chunk(args: tuple[KeywordExtractor, list[str], list[tuple[str, ...]]]) -> list[list[str]]:
    extractor, texts, langs = args
    with _no_gc():
        return [extractor.extract(t, l or None) for t, l in zip(texts, langs)]


def _chunks(seq: Sequence, size: int) -> Iterator[Sequence]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def extract_keyword_lists(
    texts: Sequence[str],
    langs: Sequence[tuple[str, ...]],
    extractor: KeywordExtractor | None = None,
    workers: int | None = None,
    progress: bool | None = None,
) -> list[list[str]]:
    """``extractor.extract`` for every post, on ``workers`` processes (default: every core)."""
    extractor = extractor or KeywordExtractor()
    workers = workers or os.cpu_count() or 1
    show = len(texts) > 50_000 if progress is None else progress
    chunk = 4096
    jobs = [(extractor, list(t), list(l)) for t, l in zip(_chunks(texts, chunk), _chunks(langs, chunk))]
    with tqdm(total=len(texts), unit="post", desc="extract", disable=not show, file=sys.stderr) as bar:
        out: list[list[str]] = []
        if workers > 1 and len(texts) >= _PARALLEL_MIN_POSTS and "fork" in mp.get_all_start_methods():
            for part in _pool_map(workers, extractor, _extract_chunk, jobs):  # the one pool
                out.extend(part)
                bar.update(len(part))
        else:
            for job in jobs:
                part = _extract_chunk(job)
                out.extend(part)
                bar.update(len(part))
    return out


def extract_stream(
    table: PostTable,
    extractor: KeywordExtractor | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    keyword_lists: list[list[str]] | None = None,
    *,
    limits: Limits | None = None,
) -> Occurrences:
    """Integer-coded occurrences of a table's posts (``keyword_lists`` when already extracted, as
    :func:`read_and_extract` gives them). Extracted here, a post's keywords are what every other path
    makes of it: the keyword cap (``limits``, else the environment's; a post over it becomes a dead
    letter and leaves ``table``) and its links last, so a table read by :func:`read_posts` counts what
    replay and the Flink job count."""
    if keyword_lists is None:
        lists = extract_keyword_lists(table.text, table.langs, extractor, workers, progress)
        table, keyword_lists = _keyword_cap(table, lists, _file_parser(limits))
    return _Coded.of(keyword_lists, table.author, table.tag_codes).occurrences(table.event_ms)



def load_stream(
    source: str | Path | PostTable,
    extractor: KeywordExtractor | None = None,
    workers: int | None = None,
    progress: bool | None = None,
    *,
    texts: bool = True,
    limits: Limits | None = None,
) -> tuple[PostTable, Occurrences]:
    """A stream file (or table) → its posts and their integer-coded keyword occurrences.

    ``texts=False`` (replay, tune): the table may come back without texts, URIs and authors (only event
    times and what the reader counted; :func:`read_occurrences`), faster and in a fraction of the memory.
    ``limits``: what the parser accepts when a file is read (``None``: :func:`trendlab.env_defaults.parser_limits`)."""
    if isinstance(source, PostTable):
        return source, extract_stream(source, extractor, workers, progress)
    if not texts:
        return read_occurrences(source, extractor, workers, progress, limits=limits)
    table, lists = read_and_extract(source, extractor, workers, progress, limits=limits)
    return table, extract_stream(table, keyword_lists=lists)
