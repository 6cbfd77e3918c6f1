"""What a keyword is: :class:`KeywordExtractor`.

``KeywordExtractor().extract(text, langs=None)`` returns the post's keywords:

* NFKC-normalised and lower-cased (full-width ``ＡＢＣ`` reads as ``abc``);
* in order of first appearance, each once;
* hashtags keep their ``#`` (``#SuperBowl`` → ``#superbowl``); they are never stop words;
* URLs, with or without a scheme (``https://…``, ``www.…``, ``example.com/path``, ``bsky.app``),
  ``@mentions`` (Bluesky handles with dots included), emoji, punctuation and bare numbers are dropped;
* stop words of the post's languages are dropped (English when no language is given), from the
  ``stopwordsiso`` lists that install with pip — nothing is downloaded at run time;
* words shorter than ``min_length`` (2) or longer than ``max_length`` (40) characters are dropped
  (for a hashtag, the length of the tag without its ``#``);
* Japanese runs are segmented with MeCab (``fugashi`` + ``unidic-lite``) and keep their nouns,
  Chinese runs with ``jieba``; both dictionaries install with pip.

Speed: one compiled regular expression tokenises the text in a single pass (the URL, handle and
emoji ideas of nltk's ``TweetTokenizer``, without its per-token Python); CJK segmenters run only on
posts that contain CJK characters. ``bench/extract.py`` measures it.

The rules are written once, here. When the compiled kernels are installed (``trendlab-native``,
``native/`` in the repository: ``make install`` builds them), :meth:`KeywordExtractor.extract` runs
this module's normalisation, tokeniser and filters in compiled form (Japanese runs go to the MeCab
library fugashi loaded, called by the kernel with the same dictionary and read node by node for the
nouns :func:`_ja_nouns` keeps; Chinese runs to jieba here; a text the kernel cannot read is left to
the Python below);
the regular expression above is then its specification, and tests/unit/test_native.py holds the two
to the same keywords (golden tests, Hypothesis). Without them, or with ``TRENDLAB_NATIVE=0``, the
same rules run in Python.

The extractor is cheap to construct and safe to pickle (PyFlink ships it to Python workers): the
segmenters are created lazily, once per process.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

from trendlab.errors import ConfigError

__all__ = ["KeywordExtractor", "default_extractor", "extract_keywords"]

# Common top-level domains for URLs written without a scheme ("example.com/path", "bsky.app").
_TLDS = (
    "com|org|net|edu|gov|io|co|app|dev|social|me|tv|ly|gl|gg|xyz|info|biz|news|blog|site|online|"
    "uk|us|ca|au|de|fr|es|it|nl|pt|br|jp|cn|kr|in|ru|mx|ar|cl|eu|ch|at|be|se|no|fi|dk|pl|cz|ie|nz|"
    "to|fm|am|is|link|page|ai|art|club|live|world|video|tech|cloud|fyi"
)

# The kept alternatives: a hashtag, or a word with inner ' ’ or -. Group 1 is the keyword candidate.
_KEPT = r"""
    ( \#\w+                                                  # hashtag (kept)
    | \w+(?:['’-]\w+)*                                       # word, with inner ' ’ or -
    )
"""

# One pass, alternatives in priority order. Only group 1 (a keyword candidate) is kept.
_TOKEN_RE = re.compile(
    r"""
      (?:https?://|www\.)\S+                                  # URL with a scheme or www.
    | [\w-]+(?:\.[\w-]+)+/\S*                                  # host/path without a scheme
    | [\w-]+(?:\.[\w-]+)*\.(?:"""
    + _TLDS
    + r""")\b(?![\w'’])                                        # bare domain
    | @[\w.-]+                                                 # @mention / @handle.with.dots
    | """
    + _KEPT,
    re.VERBOSE,
)

# Most posts cannot hold a URL, a domain or a mention: every one of those alternatives needs "://",
# "www.", "@" or a "." before a word character. For such a text the kept alternatives alone find the
# same tokens (the others could never match), without trying the URL patterns at every word.
_KEPT_RE = re.compile(_KEPT, re.VERBOSE)
_DOT_WORD_RE = re.compile(r"\.[\w-]")


def _tokens(text: str) -> list[str]:
    """``_TOKEN_RE.findall(text)`` for a normalised, lower-cased text."""
    if "@" in text or "://" in text or "www." in text or _DOT_WORD_RE.search(text) is not None:
        return _TOKEN_RE.findall(text)
    return _KEPT_RE.findall(text)


# Han, Hiragana, Katakana (incl. half-width after NFKC, prolonged sound mark), CJK extension A.
_CJK_RE = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA_RE = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff]")

# Japanese parts of speech kept (UniDic pos1/pos2): nouns, but not numerals, pronouns or the
# adverb-like temporal nouns (今日, 今, 時…).
_JA_KEEP_POS1 = {"名詞"}
_JA_DROP_POS2 = {"数詞"}
_JA_DROP_POS3 = {"副詞可能", "助数詞可能"}


@lru_cache(maxsize=256)
def _stopwords_for(langs: tuple[str, ...]) -> frozenset[str]:
    import stopwordsiso

    words: set[str] = set()
    for lang in langs:
        if stopwordsiso.has_lang(lang):
            words |= {unicodedata.normalize("NFKC", w).lower().replace("’", "'") for w in stopwordsiso.stopwords(lang)}
    return frozenset(words)


def _normalise_langs(langs: str | Iterable[str] | None) -> tuple[str, ...]:
    if not langs:
        return ("en",)
    if isinstance(langs, (str, tuple)):
        return _normalise_lang_key(langs if isinstance(langs, tuple) else (langs,))
    return _normalise_lang_key(tuple(langs))


@lru_cache(maxsize=1024)
def _normalise_lang_key(langs: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for lang in langs:
        if not lang:
            continue
        primary = str(lang).strip().lower().replace("_", "-").split("-")[0]
        if primary and primary not in out:
            out.append(primary)
    return tuple(out) or ("en",)


@lru_cache(maxsize=1024)
def _native_key(lang_key: tuple[str, ...]) -> str:
    return "k:" + json.dumps(lang_key)


class _Segmenters(threading.local):
    """Lazily built, per thread (MeCab taggers are not thread-safe)."""

    ja = None
    zh_ready = False


_SEG = _Segmenters()


def prepare(text: str) -> str:
    """The text the rules read: NFKC-normalised, lower-cased, ’ read as '."""
    return unicodedata.normalize("NFKC", text).lower().replace("’", "'")


def native_module():
    """The compiled kernels (``trendlab_native``), or ``None`` when they are not installed or
    ``TRENDLAB_NATIVE=0``."""
    if os.environ.get("TRENDLAB_NATIVE", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    try:
        import trendlab_native
    except ImportError:
        return None
    return trendlab_native


def _ja_parse(run: str) -> str:
    """MeCab's text output for a Japanese run (surface TAB … TAB pos1-pos2-pos3 …), about three times
    faster than building a node object per word."""
    if _SEG.ja is None:
        import fugashi

        _SEG.ja = fugashi.Tagger()
    return _SEG.ja.parse(run)


@lru_cache(maxsize=1)
def _mecab_library() -> tuple[str, tuple[str, ...]] | None:
    """``(path, arguments)``: the MeCab library fugashi loaded and the arguments ``fugashi.Tagger()``
    gives it (``-r mecabrc -d dicdir`` of unidic-lite's dictionary), for the compiled kernel to call
    that MeCab directly; ``None`` where either cannot be found (the kernel then calls :func:`_ja_parse`)."""
    try:
        import fugashi

        dicdir = fugashi.try_import_unidic()
        with open("/proc/self/maps") as fh:  # the library as loaded (a wheel bundles its own copy)
            libs = {line.split(None, 5)[5].strip() for line in fh if "libmecab" in line and "/" in line}
    except (ImportError, OSError, IndexError):
        return None
    if not dicdir or len(libs) != 1:
        return None
    return libs.pop(), ("-r", os.path.join(dicdir, "mecabrc"), "-d", dicdir)


def _ja_nouns(run: str) -> list[str]:
    out = []
    for line in _ja_parse(run).split("\n"):
        fields = line.split("\t")
        if len(fields) < 5:
            continue  # EOS or an unexpected line
        pos = fields[4].split("-")
        if (
            pos[0] in _JA_KEEP_POS1
            and (len(pos) < 2 or pos[1] not in _JA_DROP_POS2)
            and (len(pos) < 3 or pos[2] not in _JA_DROP_POS3)
        ):
            out.append(fields[0])
    return out


def _zh_words(run: str) -> list[str]:
    import jieba

    if not _SEG.zh_ready:
        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        _SEG.zh_ready = True
    return [w for w in jieba.lcut(run, HMM=True) if w.strip()]


class KeywordExtractor:
    """Turns a post's text into keywords. See the module documentation for the rules."""

    __slots__ = ("min_length", "max_length", "extra_stopwords", "_core")

    def __init__(self, min_length: int = 2, max_length: int = 40, extra_stopwords: Iterable[str] = ()) -> None:
        if not isinstance(min_length, int) or min_length < 1:
            raise ConfigError(f"min_length must be a positive integer, got {min_length!r}")
        if not isinstance(max_length, int) or max_length < min_length:
            raise ConfigError(f"max_length must be an integer >= min_length ({min_length}), got {max_length!r}")
        self.min_length = min_length
        self.max_length = max_length
        self.extra_stopwords = frozenset(unicodedata.normalize("NFKC", w).lower() for w in extra_stopwords)
        self._core = None

    def __getstate__(self) -> dict:
        state = {"min_length": self.min_length, "max_length": self.max_length, "extra_stopwords": self.extra_stopwords}
        if self._core is False or native_module() is None:  # Python rules here: so in every copy (workers)
            state["_core"] = False
        return state

    def __setstate__(self, state: dict) -> None:
        object.__setattr__(self, "_core", None)  # a kernel is made where the copy runs
        for key, value in state.items():
            object.__setattr__(self, key, value)

    def native_language(self, key: str) -> tuple[frozenset[str], bool, bool]:
        """What the compiled kernel needs of a language key: the stop words, and whether ``ja`` and
        ``zh`` are among the languages. A key is ``k:`` + the normalised tags as JSON (from
        :meth:`extract`) or ``r:`` + a post's first raw language tag (from the stream scanner)."""
        kind, _, rest = key.partition(":")
        langs = _normalise_langs((rest,) if rest else None) if kind == "r" else tuple(json.loads(rest))
        return self.stopwords(langs), "ja" in langs, "zh" in langs

    def native_args(self) -> tuple:
        """The compiled kernels' rule arguments, one tuple every kernel class takes first: lengths,
        languages, the two segmenters, :func:`prepare` and the MeCab library the kernel may call
        directly (:func:`_mecab_library`)."""
        return self.min_length, self.max_length, self.native_language, _ja_parse, _zh_words, prepare, _mecab_library()

    def _native(self):
        """This extractor's compiled kernel (made once per process), or ``False`` without one."""
        core = self._core
        if core is None:
            module = native_module()
            core = self._core = module.Extractor(self.native_args()) if module is not None else False
        return core

    def __repr__(self) -> str:
        return f"KeywordExtractor(min_length={self.min_length}, max_length={self.max_length})"

    def stopwords(self, langs: str | Sequence[str] | None = None) -> frozenset[str]:
        words = _stopwords_for(_normalise_langs(langs))
        return words | self.extra_stopwords if self.extra_stopwords else words

    def extract(self, text: str | None, langs: str | Sequence[str] | None = None) -> list[str]:
        """The keywords of ``text``; ``langs`` are the post's BCP-47 language tags (``["pt-BR"]``)."""
        if not text:
            return []
        if not isinstance(text, str):
            raise TypeError(f"text must be a string, got {type(text).__name__}")
        lang_key = _normalise_langs(langs)
        core = self._core if self._core is not None else self._native()
        if core:
            keywords = core.extract(text, _native_key(lang_key))
            if keywords is not None:  # None: not valid Unicode (a lone surrogate), the rules below read it
                return keywords
        text = prepare(text)
        stop = _stopwords_for(lang_key)
        if self.extra_stopwords:
            stop = stop | self.extra_stopwords
        has_cjk = _CJK_RE.search(text) is not None
        lo, hi = self.min_length, self.max_length
        seen: dict[str, None] = {}  # insertion-ordered set: first appearance wins
        for token in _tokens(text):
            if not token:
                continue  # URL or mention
            if token[0] == "#":
                body = token[1:].strip("_")
                if lo <= len(body) <= hi and not body.isdigit():
                    seen["#" + body] = None
                continue
            if has_cjk and _CJK_RE.search(token):
                for word in self._segment(token, lang_key):
                    if lo <= len(word) <= hi and word not in stop and not word.isdigit():
                        seen[word] = None
                continue
            token = token.strip("_'-")
            if lo <= len(token) <= hi and token not in stop and not token.isdigit():
                seen[token] = None
        return list(seen)

    @staticmethod
    def _segment(token: str, langs: tuple[str, ...]) -> list[str]:
        """Split a token containing CJK characters into words; non-CJK pieces pass through."""
        japanese = "ja" in langs or (_KANA_RE.search(token) is not None and "zh" not in langs)
        words = _ja_nouns(token) if japanese else _zh_words(token)
        return [w for w in (w.strip("_'-") for w in words) if w]


_DEFAULT: KeywordExtractor | None = None


def default_extractor() -> KeywordExtractor:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = KeywordExtractor()
    return _DEFAULT


def extract_keywords(text: str, langs: str | Sequence[str] | None = None) -> list[str]:
    """``KeywordExtractor().extract`` with the default settings."""
    return default_extractor().extract(text, langs)
