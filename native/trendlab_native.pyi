"""trendlab's compiled kernels (native/src/lib.rs): every entry, typed.

Imported by one module only, :mod:`trendlab.core.kernels` (the door), which refuses a build whose
``KERNEL_VERSION`` is not its own. Each entry is the twin of a Python definition;
``tests/unit/test_kernel_twins.py`` pairs them in one table and runs both on the same inputs.
"""

from collections.abc import Callable, Sequence
from os import PathLike
from typing import Any, Protocol

#: The version of this interface; trendlab.core.kernels.KERNEL_VERSION must equal it.
KERNEL_VERSION: int
#: The Unicode version the tokeniser's character tables were generated from (native/gen_tables.py).
UNICODE_VERSION: str

class KernelRules(Protocol):
    """What every kernel class takes first (trendlab.core.kernels.KernelRules), read by attribute."""

    min_length: int
    max_length: int
    #: language key → (stop words, those a phrase may hold, ja tagged, zh tagged, evidence mask, evidence needed, tagged)
    language: Callable[[str, int], tuple[frozenset[str], frozenset[str], bool, bool, int, int, bool]]
    #: a Japanese run → MeCab's text output
    ja: Callable[[str], str]
    #: a Chinese run → jieba's words
    zh: Callable[[str], list[str]]
    #: a text → the text the rules read (trendlab.core.extract.prepare)
    prepare: Callable[[str], str]
    #: (library path, tagger arguments) of the MeCab to call directly, or None
    mecab: tuple[str, Sequence[str]] | None
    #: evidence word → mask over trendlab.core.extract.EVIDENCE_LANGS
    evidence: dict[str, int]
    #: language tag → its number (trendlab.core.langtags.LANG_CODES), for a post's language code
    lang_codes: dict[str, int]

def tokens(text: str) -> list[str] | None:
    """trendlab.core.extract._TOKEN_RE.findall(text); None for a text that is not valid Unicode."""

def union(lists: Sequence[Sequence[str]]) -> tuple[list[str], list[bytes]]:
    """The strings of the lists coded in order of first appearance: (distinct strings, per list an
    int64 array as bytes mapping its strings to their codes)."""

def window_counts(keyword_codes: bytes, author_codes: bytes, slots: bytes, n: int) -> bytearray:
    """trendlab.core.windows' aggregation of int64 occurrences (native-endian bytes): one int64
    bytearray holding the columns keyword_code, end_slot, count, unique_authors one after another."""

def post_window_counts(keyword_codes: Any, post_index: Any, post_slots: Any, post_authors: Any,
                       post_contents: Any | None, min_count: Any, n: int) -> bytearray:
    """trendlab.core.windows.post_window_counts in one pass: occurrences as (keyword, post) int32
    buffers with each post's end slot (int64), author and content (int32) once per post, and a least
    count per keyword (a phrase's or a link's); the columns keyword_code, end_slot, count,
    unique_authors, unique_contents as int64, one after another."""

def keyword_hashes(strings: list[str], phrase_hash: int | None = None) -> bytes:
    """trendlab.core.content.keyword_hash of each string as native-endian int64 bytes; with
    ``phrase_hash``, a phrase or a link (no content-key word) gets that value instead."""

def normalise_url(uri: str) -> str | None:
    """trendlab.core.links.normalise_url: a link's keyword, or None when it is no https/http link."""

def post_links(uris: list[str], text: str) -> list[str]:
    """trendlab.core.links.post_links: a post's links (facets and embeds, then its text) as keywords."""

class Extractor:
    """KeywordExtractor.extract's rules."""

    def __init__(self, rules: KernelRules) -> None: ...
    def extract(self, text: str, key: str) -> list[str] | None:
        """The keywords of ``text`` for the languages of ``key``; None for text that is not valid Unicode."""
    def prepare(self, text: str) -> str:
        """trendlab.core.extract.prepare as the kernel does it."""

class Scanner:
    """A post file's lines → coded occurrences (trendlab.occurrences' Python reader)."""

    def __init__(self, rules: KernelRules, fallback: Callable[..., Any], max_bytes: int, max_keywords: int,
                 earliest_us: int, latest_us: int) -> None: ...
    def restart(self, fallback: Callable[..., Any], latest_us: int) -> None:
        """Start over for another part or file (same rules): what was read is let go, the languages
        looked up are kept."""
    def feed(self, block: list[tuple[int, bytes, int]]) -> None:
        """One block of (number, line, size) from trendlab.postfile.read_line_blocks."""
    def scan_file(self, path: str | PathLike[str], start: int = 0, end: int | None = None) -> int:
        """The lines of an uncompressed file that start in [start, end); returns how many."""
    def result(self) -> dict[str, Any]:
        """lines, skipped, python_lines, dead_letters, keywords, authors and the int64 arrays (bytes)
        event_ms, author_code, keyword_code, lengths and lang_code (trendlab.core.langtags.langs_code;
        fallback gives (author, event_ms, keywords, language code) for a post)."""

class Parser:
    """One message at a time, for the Flink job's table function (trendlab.core.parse.MessageParser)."""

    def __init__(self, rules: KernelRules, max_bytes: int, max_keywords: int, earliest_us: int,
                 ahead_us: int) -> None: ...
    def post(self, raw: object) -> bool | tuple[str, list[str], int] | None:
        """False for a non-post event, (author, keywords, language code) for a post, None when Python
        must decide."""
