"""Muted-words matching, as Bluesky's app matches a viewer's muted words, for the deny list and categories.

An entry is one of three kinds (:func:`parse_entry`):

``word``
    no space or punctuation inside (``spoiler``, ``#nsfw``): matches a whole word of the text, case- and
    width-insensitively (NFKC, casefold), with leading/trailing punctuation of the text's word ignored
    and the parts of a word joined by punctuation tried too (``spoiler`` matches ``"spoiler!"``,
    ``"(spoiler)"`` and ``"mega-spoiler"``'s part ``spoiler``, never ``"spoilers"``). A word of one
    character, or one written in a script without spaces between words (Chinese, Japanese, Korean,
    Thai), matches as a substring, as Bluesky does for those languages. ``#tag`` also matches ``tag``.
``phrase``
    holds a space or punctuation (``season finale``, ``a.b``): matches as a substring of the text
    (Bluesky's rule for phrases).
``pattern``
    written ``/…/``: a regular expression, searched case-insensitively. Its cost is bounded: at most
    :data:`MAX_PATTERN_CHARS` characters, no back-references, no repetition of something that itself
    repeats or has alternatives (``(a+)+``, ``(a|aa)*``: the patterns whose backtracking explodes), at
    most :data:`MAX_REPEATS` repetitions in all; each search also stops after :data:`MATCH_TIMEOUT_S`
    (then the entry counts as matched: a deny list fails closed). A refused pattern is one line:
    ``deny entry '/(a+)+/': a repeated group repeats inside (catastrophic backtracking)``.

Texts are normalised the same way (NFKC, casefold) and lose their zero-width and other format
characters (``sp\\u200boiler`` is ``spoiler``), so invisible characters do not slip past an entry.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import regex

from trendlab.errors import ConfigError

MAX_ENTRY_CHARS = 200
MAX_PATTERN_CHARS = 200
MAX_REPEATS = 4
MATCH_TIMEOUT_S = 0.05
#: scripts written without spaces between words: an entry in them matches as a substring
_NO_SPACE_SCRIPTS = re.compile(r"[\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf"
                               r"\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f]")
_WORD_SPLIT = regex.compile(r"[\s]+")
_PUNCT = regex.compile(r"\p{P}+")
_EDGE_PUNCT = regex.compile(r"^\p{P}+|\p{P}+$")
_HAS_SPACE_OR_PUNCT = regex.compile(r"[\s\p{P}]")


def normalise(text: str) -> str:
    """NFKC, casefolded, without format characters (zero-width spaces and joiners, bidi marks)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


@dataclass(frozen=True)
class Entry:
    """One deny-list (or lexicon) entry: ``text`` as written, its ``kind`` and normalised ``value``."""

    text: str
    kind: str  # word | phrase | pattern
    value: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.value}"


def _shown(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def parse_entry(text: str, what: str = "deny entry") -> Entry:
    """An entry from how an operator writes it; :class:`ConfigError` (one line, naming it) when it is
    empty, too long, or a pattern that is malformed or too costly."""
    if not isinstance(text, str):
        raise ConfigError(f"{what} must be a string, got {text!r}"[:200])
    raw = text.strip()
    if not raw:
        raise ConfigError(f"{what} is empty")
    if len(raw) >= 2 and raw.startswith("/") and raw.endswith("/"):
        source = raw[1:-1]
        _check_pattern(source, f"{what} {_shown(raw)}")
        return Entry(raw, "pattern", source)
    if len(raw) > MAX_ENTRY_CHARS:
        raise ConfigError(f"{what} {_shown(raw)} is longer than {MAX_ENTRY_CHARS} characters")
    value = normalise(raw)
    if not value.strip():
        raise ConfigError(f"{what} {_shown(raw)} has no visible characters")
    body = value[1:] if value.startswith("#") else value
    kind = "phrase" if _HAS_SPACE_OR_PUNCT.search(body) else "word"
    return Entry(raw, kind, value)


def _check_pattern(source: str, where: str) -> None:
    import re._parser as sre_parse  # the standard library's own parser: what the pattern *is*
    from re._constants import BRANCH, GROUPREF, GROUPREF_EXISTS, IN, MAX_REPEAT, MIN_REPEAT, POSSESSIVE_REPEAT, SUBPATTERN

    if not source:
        raise ConfigError(f"{where}: the pattern is empty")
    if len(source) > MAX_PATTERN_CHARS:
        raise ConfigError(f"{where}: a pattern is at most {MAX_PATTERN_CHARS} characters, got {len(source)}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # FutureWarning: "possible nested set" and the like
            parsed = sre_parse.parse(source, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ConfigError(f"{where}: not a regular expression ({exc})") from None
    repeats = 0

    def walk(items, inside_repeat: bool) -> None:
        nonlocal repeats
        for op, av in items:
            if op in (GROUPREF, GROUPREF_EXISTS):
                raise ConfigError(f"{where}: back-references are not allowed")
            if op in (MAX_REPEAT, MIN_REPEAT, POSSESSIVE_REPEAT):
                low, high, sub = av
                if high != 1:  # x? is not a repetition
                    repeats += 1
                    if repeats > MAX_REPEATS:
                        raise ConfigError(f"{where}: at most {MAX_REPEATS} repetitions (*, +, {{n,m}}) in a pattern")
                    if inside_repeat:
                        raise ConfigError(f"{where}: a repeated group repeats inside (catastrophic backtracking)")
                    if any(o == BRANCH for o, _ in _flat(sub)):
                        raise ConfigError(f"{where}: a repeated group has alternatives (catastrophic backtracking)")
                walk(sub, inside_repeat or high != 1)
            elif op == SUBPATTERN:
                walk(av[-1], inside_repeat)
            elif op == BRANCH:
                for branch in av[1]:
                    walk(branch, inside_repeat)
            elif op in (IN,):
                continue
            elif isinstance(av, tuple):
                for part in av:
                    if isinstance(part, sre_parse.SubPattern):
                        walk(part, inside_repeat)

    walk(parsed, False)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            regex.compile(source, regex.IGNORECASE | regex.V0)
    except regex.error as exc:
        raise ConfigError(f"{where}: not a regular expression ({exc})") from None


def _flat(items):
    import re._parser as sre_parse

    for op, av in items:
        yield op, av
        if isinstance(av, tuple):
            for part in av:
                if isinstance(part, sre_parse.SubPattern):
                    yield from _flat(part)
                elif isinstance(part, list):
                    for sub in part:
                        if isinstance(sub, sre_parse.SubPattern):
                            yield from _flat(sub)


class Matcher:
    """Entries compiled once; :meth:`first_match` says which entry (if any) a set of texts matches."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.entries = list(dict.fromkeys(entries))
        self._words = {}  # value -> entry (exact word matches by a dictionary look-up)
        self._substrings: list[Entry] = []
        self._patterns: list[tuple[Entry, regex.Pattern]] = []
        for e in self.entries:
            if e.kind == "pattern":
                self._patterns.append((e, regex.compile(e.value, regex.IGNORECASE | regex.V0)))
            elif e.kind == "phrase" or len(e.value) == 1 or _NO_SPACE_SCRIPTS.search(e.value):
                self._substrings.append(e)
            else:
                self._words.setdefault(e.value, e)
                if e.value.startswith("#"):
                    self._words.setdefault(e.value[1:], e)
        self.timeouts = 0
        # one search per text for all phrases and one for all patterns (a thousand entries cost one pass,
        # not a thousand): which entry matched is told by the named group that took part
        self._phrases_re = _alternation([(e, regex.escape(e.value)) for e in self._substrings])
        self._patterns_re = _alternation([(e, e.value) for e, _ in self._patterns])

    def __len__(self) -> int:
        return len(self.entries)

    def first_match(self, texts: Iterable[str]) -> Entry | None:
        for entry in self.iter_matches(texts):
            return entry
        return None

    def iter_matches(self, texts: Iterable[str]):
        """The entries the texts match, each once (words, then phrases, then patterns)."""
        normalised = [normalise(t) for t in texts if t]
        seen: set[str] = set()
        if self._words:
            for text in normalised:
                for candidate in _word_forms(text):
                    entry = self._words.get(candidate)
                    if entry is not None and entry.key not in seen:
                        seen.add(entry.key)
                        yield entry
        for combined, entries, compiled in ((self._phrases_re, self._substrings, None),
                                            (self._patterns_re, None, self._patterns)):
            if combined is None and entries is not None:  # too many phrases for one expression
                for entry in entries:
                    if any(entry.value in text for text in normalised):
                        seen.add(entry.key)
                        yield entry
                continue
            if combined is None:
                for entry, one in compiled or ():
                    if any(self._search(one, text) is not False for text in normalised):
                        yield entry
                continue
            pattern, by_group = combined
            for text in normalised:
                for group in self._groups(pattern, text, by_group):
                    entry = by_group[group]
                    if entry.key not in seen:
                        seen.add(entry.key)
                        yield entry

    def _search(self, compiled, text: str):
        try:
            return compiled.search(text, timeout=MATCH_TIMEOUT_S)
        except TimeoutError:
            self.timeouts += 1
            return True  # fail closed

    def _groups(self, pattern, text: str, by_group: dict):
        """The named groups (entries) matching in ``text``; on a timeout, every entry (fail closed)."""
        try:
            return [m.lastgroup for m in pattern.finditer(text, overlapped=True, timeout=MATCH_TIMEOUT_S)
                    if m.lastgroup in by_group]
        except TimeoutError:
            self.timeouts += 1
            return list(by_group)


def _alternation(items: list[tuple[Entry, str]]):
    """``(?P<e0>…)|(?P<e1>…)…`` over the entries, and group name → entry; ``None`` when there are none or
    the expression does not compile as one (a pattern's own named group clashes): then one by one."""
    if not items:
        return None
    by_group = {f"trendlab_e{i}": entry for i, (entry, _) in enumerate(items)}
    source = "|".join(f"(?P<trendlab_e{i}>{body})" for i, (_, body) in enumerate(items))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return regex.compile(source, regex.IGNORECASE | regex.V0), by_group
    except (regex.error, OverflowError, RecursionError):
        return None


def _word_forms(text: str):
    """Every form a whole-word entry is compared with: the text, each word, the word without its edge
    punctuation, its punctuation-joined parts, and those parts spaced or run together (Bluesky's)."""
    yield text
    for word in _WORD_SPLIT.split(text):
        if not word:
            continue
        yield word
        trimmed = _EDGE_PUNCT.sub("", word)
        if trimmed != word:
            yield trimmed
        if trimmed.startswith("#"):
            yield trimmed[1:]
        if _PUNCT.search(trimmed):
            parts = [p for p in _PUNCT.split(trimmed) if p]
            yield from parts
            yield "".join(parts)
