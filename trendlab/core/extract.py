"""What a keyword is: :class:`KeywordExtractor`.

``KeywordExtractor().extract(text, langs=None)`` returns the post's keywords:

* NFKC-normalised and lower-cased (full-width ``ＡＢＣ`` reads as ``abc``);
* in order of first appearance, each once;
* hashtags keep their ``#`` (``#SuperBowl`` → ``#superbowl``); they are never stop words;
* URLs, with or without a scheme (``https://…``, ``www.…``, ``example.com/path``, ``bsky.app``),
  ``@mentions`` (Bluesky handles with dots included), emoji, punctuation and bare numbers are dropped;
* stop words are dropped, from the ``stopwordsiso`` lists that install with pip (nothing is
  downloaded at run time): those of the post's tagged languages, and those of the language its words
  show it is written in, whatever the tag says (see *Stop words whatever the tag* below);
* words shorter than ``min_length`` (2) or longer than ``max_length`` (40) characters are dropped
  (for a hashtag, the length of the tag without its ``#``);
* Japanese runs are segmented with MeCab (``fugashi`` + ``unidic-lite``) and keep their nouns,
  Chinese runs with ``jieba``; both dictionaries install with pip;
* after the words and hashtags come the post's **phrases** (see below): ``"Hegseth texted the war
  plans"`` → ``["hegseth", "texted", "war", "plans", "hegseth texted", "war plans"]``.

**Phrases** are adjacent word pairs, a keyword kind of their own (counted, windowed and detected like
words; an emerging story is often a pair whose single words are common: "war plans", "super bowl",
"south korea"). A phrase is the two words joined by one space, each word exactly as the word rules
make it (NFKC, lower case, ``_'-`` stripped from its ends), and:

* its two words are *consecutive tokens* of the text, both plain words that pass the length and digit
  rules, and different words ("trend trend", "no no" is repetition, not a phrase);
* only white space stands between them, and no line break (:data:`LINE_BREAKS`: those of
  ``str.splitlines``): any other character breaks adjacency, so sentence punctuation ``.,!?;:``,
  dashes, slashes, brackets and quotes do, and so do a URL, a domain, a mention, a hashtag, an emoji,
  a number or a word too short or too long standing between them (they are tokens, or characters
  that are not white space). A phrase is what was written as one run of words, nothing inferred;
* a pair that starts or ends with a *boundary* word is skipped: "her emails", "the war" are not
  phrases, and a boundary word is not skipped over ("war of plans" gives none). The boundary words are
  the stop words of the same languages the word rules apply (tagged ∪ detected, with
  ``extra_stopwords``), less the content words of ``stopwordsiso``'s broad English list
  (:data:`trendlab.core.function_words.PHRASE_MATERIAL_EN`: "group", "world", "new", "bill", "fire"…,
  unless another applied language has them as stop words): alone they stay dropped, as words, but
  "group chat", "world cup", "new york" are phrases (:func:`_phrase_material_for`);
* CJK runs make no phrases and break adjacency. Their words come from a segmenter, not from the
  writer's spaces, and a phrase there is a different thing: unidic-lite's short units split names
  (東京タワー → 東京, タワー; 大谷翔平 → 大谷, 翔平), whose natural key is the run written without a
  space, and adjacency must be read from the segmenter's nodes (particles between nouns), for MeCab in
  the kernel and for jieba in Python. That is a rule of its own, not this one; left for later;
* each phrase once per post, after all of the post's words, in order of first appearance;
* triples are not made: every triple's pairs are already counted, and they would add about as many
  occurrences again for names that their pairs already show.

A post's phrases do not count toward the keyword cap and its content key reads words only (see
:mod:`trendlab.core.parse` and :mod:`trendlab.core.content`). The kernel finds the pairs in the same pass as the
words.

**Stop words whatever the tag.** A post's language tag is often wrong (English posts tagged ``de``,
``fr``, ``ar``…) or missing (about 10 % of the firehose), so the tag alone cannot say whose function
words to drop. The post's own words say it: :data:`trendlab.core.function_words.EVIDENCE` holds the most
frequent, most telling function words of the major Latin- and Cyrillic-script languages (each a stop
word of its language). Of the post's distinct keyword candidates (the words that pass the length and
digit rules; hashtags are not words here), count those that are evidence for each language. The
languages with the most hits are *detected* when that count is at least :data:`MIN_EVIDENCE` (2; 1
when no tagged language has evidence words: a ``ja`` or ``ar`` tag cannot speak for a Latin word) and
more than the best count among the tagged languages. The stop words applied are then

* a tagged post: its tagged languages' ∪ the detected languages';
* an untagged post: the detected languages', else English's (as before).

So an English post tagged ``de`` drops "the", "and", "to" (and German's), a German post tagged ``en``
drops "der", "und", "ist", and a post whose tag is right keeps exactly its own language's rules: no
union of every language's list is applied, which would drop real content words ("war" and "die" are
German stop words, "come" Italian, "son" French). Counting costs one hash look-up per distinct word in
the same pass, no model and no second tokenisation; tests/unit/test_language_evidence.py measures the
leaks on mis-tagged and untagged posts and that content words survive.

Speed: one compiled regular expression tokenises the text in a single pass (the URL, handle and
emoji ideas of nltk's ``TweetTokenizer``, without its per-token Python); CJK segmenters run only on
posts that contain CJK characters. ``bench/extract.py`` measures it.

The rules are written once, here. When the compiled kernels are installed (``trendlab-native``,
``native/`` in the repository: ``make install`` builds them), :meth:`KeywordExtractor.extract` runs
this module's normalisation, tokeniser and filters in compiled form (Japanese runs go to the MeCab
library fugashi loaded, called by the kernel with the same dictionary and read node by node for the
nouns :func:`_ja_nouns` keeps; Chinese runs to jieba here; a text the kernel cannot read is left to
the Python below);
the regular expression above is then its specification, and tests/unit/test_kernel_twins.py holds the two
to the same keywords (golden tests, Hypothesis). Without them, or with ``TRENDLAB_NATIVE=0``, the
same rules run in Python.

The extractor is cheap to construct and safe to pickle (PyFlink ships it to Python workers): the
segmenters are created lazily, once per process.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

from trendlab.errors import ConfigError
from trendlab.core.kernels import KernelRules, mecab_library, native_module
from trendlab.core.function_words import EVIDENCE, PHRASE_MATERIAL_EN
from trendlab.core.langtags import LANG_CODES

__all__ = ["LINE_BREAKS", "MIN_EVIDENCE", "MIN_EVIDENCE_UNTOLD", "KeywordExtractor", "default_extractor", "detected_languages"]

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


def _token_matches(text: str):
    """``_TOKEN_RE.finditer(text)`` for a normalised, lower-cased text (group 1: the kept token, or
    ``None`` for a URL, domain or mention); the spans say which tokens stand next to each other."""
    if "@" in text or "://" in text or "www." in text or _DOT_WORD_RE.search(text) is not None:
        return _TOKEN_RE.finditer(text)
    return _KEPT_RE.finditer(text)


#: The line breaks of ``str.splitlines``: a phrase never spans one.
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
#: What may stand between the two words of a phrase: white space (``\s``) other than a line break.
_JOIN_RE = re.compile(r"[^\S" + LINE_BREAKS + "]+")


# Han, Hiragana, Katakana (incl. half-width after NFKC, prolonged sound mark), CJK extension A.
_CJK_RE = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA_RE = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff]")

# Japanese parts of speech kept (UniDic pos1/pos2): nouns, but not numerals, pronouns or the
# adverb-like temporal nouns (今日, 今, 時…).
_JA_KEEP_POS1 = {"名詞"}
_JA_DROP_POS2 = {"数詞"}
_JA_DROP_POS3 = {"副詞可能", "助数詞可能"}


#: A language is detected from at least this many of its distinct function words in a post …
MIN_EVIDENCE = 2
#: … or this many in a post tagged only with languages that have no evidence words (``ja``, ``ar``,
#: ``ko``… or a tag stopwordsiso does not know): that tag cannot speak for a Latin or Cyrillic word.
MIN_EVIDENCE_UNTOLD = 1
#: The languages with evidence words, in a fixed order: language i is bit i of the kernel's masks.
EVIDENCE_LANGS: tuple[str, ...] = tuple(EVIDENCE)
#: word → the languages it is evidence for (a few words count for several: "que", "de", "en"…)
_EVIDENCE_OF: dict[str, tuple[str, ...]] = {}
for _lang in EVIDENCE_LANGS:
    for _word in EVIDENCE[_lang]:
        _EVIDENCE_OF[_word] = _EVIDENCE_OF.get(_word, ()) + (_lang,)
assert len(EVIDENCE_LANGS) <= 32  # the kernel keeps a language set in a u32


def _min_evidence(tagged: tuple[str, ...]) -> int:
    """How many evidence words a detection needs in a post tagged ``tagged`` (``()``: untagged)."""
    return MIN_EVIDENCE_UNTOLD if tagged and not _mask(tagged) else MIN_EVIDENCE


def detected_languages(words: Iterable[str], tagged: tuple[str, ...]) -> tuple[str, ...]:
    """The languages a post's distinct keyword candidates ``words`` (hashtags excluded) show it is
    written in beyond its ``tagged`` languages (normalised, ``()`` for an untagged post): those with
    the most evidence words, when that is at least :data:`MIN_EVIDENCE` (:data:`MIN_EVIDENCE_UNTOLD`
    when no tagged language has evidence words) and more than any tagged language has; ``()``
    otherwise. In :data:`EVIDENCE_LANGS` order."""
    hits: dict[str, int] = {}
    for word in words:
        for lang in _EVIDENCE_OF.get(word, ()):
            hits[lang] = hits.get(lang, 0) + 1
    if not hits:
        return ()
    best = max(hits.values())
    if best < _min_evidence(tagged) or best <= max((hits.get(lang, 0) for lang in tagged), default=0):
        return ()
    return tuple(lang for lang in EVIDENCE_LANGS if hits.get(lang) == best)


def _applied(tagged: tuple[str, ...], detected: tuple[str, ...]) -> tuple[str, ...]:
    """The languages whose stop words apply: tagged ∪ detected; untagged: detected, else English."""
    if not tagged:
        return detected or ("en",)
    return tagged + tuple(lang for lang in detected if lang not in tagged)


def _mask(langs: Iterable[str]) -> int:
    """``langs`` as a mask over :data:`EVIDENCE_LANGS` (bit i: language i); others are not in it."""
    return sum(1 << i for i, lang in enumerate(EVIDENCE_LANGS) if lang in langs)


@lru_cache(maxsize=1)
def _evidence_masks() -> dict[str, int]:
    """Each evidence word → the mask of the languages it is evidence for (for the kernel)."""
    return {word: _mask(langs) for word, langs in _EVIDENCE_OF.items()}


@lru_cache(maxsize=256)
def _stopwords_for(langs: tuple[str, ...]) -> frozenset[str]:
    import stopwordsiso

    words: set[str] = set()
    for lang in langs:
        if stopwordsiso.has_lang(lang):
            words |= {unicodedata.normalize("NFKC", w).lower().replace("’", "'") for w in stopwordsiso.stopwords(lang)}
    return frozenset(words)


@lru_cache(maxsize=256)
def _phrase_material_for(langs: tuple[str, ...]) -> frozenset[str]:
    """The stop words of ``langs`` that a phrase may still hold (each is a stop word of English, one
    of ``langs``, and of no other of ``langs``): :data:`PHRASE_MATERIAL_EN` when English applies."""
    if "en" not in langs:
        return frozenset()
    return PHRASE_MATERIAL_EN - _stopwords_for(tuple(lang for lang in langs if lang != "en"))


def _normalise_langs(langs: str | Iterable[str] | None) -> tuple[str, ...]:
    """The primary subtags of a post's language tags, each once, in order; ``()`` for an untagged post."""
    if not langs:
        return ()
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
    return tuple(out)


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


def _ja_parse(run: str) -> str:
    """MeCab's text output for a Japanese run (surface TAB … TAB pos1-pos2-pos3 …), about three times
    faster than building a node object per word."""
    if _SEG.ja is None:
        import fugashi

        _SEG.ja = fugashi.Tagger()
    return _SEG.ja.parse(run)


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

    def native_language(self, key: str, detected: int = 0) -> tuple[frozenset[str], frozenset[str], bool, bool, int, int, bool]:
        """What the compiled kernel needs of a language key and the languages detected in a post
        (``detected``: a mask over :data:`EVIDENCE_LANGS`, bit i for language i): the stop words
        applied (:func:`_applied`), those of them a phrase may hold (:func:`_phrase_material_for`), whether ``ja`` and ``zh`` are among the tagged languages, the
        mask of the tagged languages that have evidence words, how many evidence words a detection
        needs (:func:`_min_evidence`) and whether the post is tagged at all. A key is ``k:`` + the normalised tags
        as JSON (from :meth:`extract`) or ``r:`` + a post's first raw language tag (from the stream
        scanner)."""
        kind, _, rest = key.partition(":")
        tagged = _normalise_langs((rest,) if rest else None) if kind == "r" else tuple(json.loads(rest))
        found = tuple(lang for i, lang in enumerate(EVIDENCE_LANGS) if detected >> i & 1)
        applied = _applied(tagged, found)
        stop = _stopwords_for(applied)
        if self.extra_stopwords:
            stop = stop | self.extra_stopwords
        return stop, self._phrase_material(applied), "ja" in tagged, "zh" in tagged, _mask(tagged), _min_evidence(tagged), bool(tagged)

    def _phrase_material(self, applied: tuple[str, ...]) -> frozenset[str]:
        """:func:`_phrase_material_for` the applied languages, less ``extra_stopwords`` (always boundaries)."""
        material = _phrase_material_for(applied)
        return material - self.extra_stopwords if self.extra_stopwords else material

    def kernel_rules(self) -> KernelRules:
        """What crosses the door to the compiled kernels (every kernel class takes it first): lengths,
        languages, the two segmenters, :func:`prepare`, the MeCab library the kernel may call
        directly (:func:`trendlab.core.kernels.mecab_library`) and the language evidence (word → mask
        over :data:`EVIDENCE_LANGS`) and the language tags' numbers (:data:`trendlab.core.langtags.LANG_CODES`)."""
        return KernelRules(min_length=self.min_length, max_length=self.max_length, language=self.native_language,
                           ja=_ja_parse, zh=_zh_words, prepare=prepare, mecab=mecab_library(),
                           evidence=_evidence_masks(), lang_codes=LANG_CODES)

    def _native(self):
        """This extractor's compiled kernel (made once per process), or ``False`` without one."""
        core = self._core
        if core is None:
            module = native_module()
            core = self._core = module.Extractor(self.kernel_rules()) if module is not None else False
        return core

    def __repr__(self) -> str:
        return f"KeywordExtractor(min_length={self.min_length}, max_length={self.max_length})"

    def stopwords(self, langs: str | Sequence[str] | None = None) -> frozenset[str]:
        """The stop words of ``langs`` (English when none), plus ``extra_stopwords``; :meth:`extract`
        adds those of the languages it detects in a post."""
        words = _stopwords_for(_normalise_langs(langs) or ("en",))
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
        has_cjk = _CJK_RE.search(text) is not None
        lo, hi = self.min_length, self.max_length
        # the candidates, each once, in order of first appearance (only a hashtag starts with "#"),
        # and the candidate phrases: two plain words with only white space (no line break) between
        seen: dict[str, None] = {}
        pairs: list[tuple[str, str]] = []
        prev = None  # the previous token when it was a plain word that passes the rules
        prev_end = 0
        join = _JOIN_RE.fullmatch
        for m in _token_matches(text):
            token = m.group(1)
            word = None
            if not token:
                pass  # URL or mention
            elif token[0] == "#":
                body = token[1:].strip("_")
                if lo <= len(body) <= hi and not body.isdigit():
                    seen["#" + body] = None
            elif has_cjk and _CJK_RE.search(token):
                for w in self._segment(token, lang_key):
                    if lo <= len(w) <= hi and not w.isdigit():
                        seen[w] = None
            else:
                token = token.strip("_'-")
                if lo <= len(token) <= hi and not token.isdigit():
                    seen[token] = word = token
                    if prev is not None and prev != word and join(text, prev_end, m.start()) is not None:
                        pairs.append((prev, word))
            prev = word
            prev_end = m.end()
        applied = _applied(lang_key, detected_languages((w for w in seen if w[0] != "#"), lang_key))
        stop = _stopwords_for(applied)
        if self.extra_stopwords:
            stop = stop | self.extra_stopwords
        words = [w for w in seen if w[0] == "#" or w not in stop]
        if pairs:
            material = self._phrase_material(applied)
            words.extend(dict.fromkeys(a + " " + b for a, b in pairs
                                       if (a not in stop or a in material) and (b not in stop or b in material)))
        return words

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

