"""The compiled kernels (native/, ``trendlab_native``) against the rules they compile (issue 14).

The rules are written once in Python (trendlab/core/extract.py, trendlab/core/parse.py); the kernels must give
exactly what the Python gives: the tokeniser what ``_TOKEN_RE.findall`` gives, the extractor the same
keywords, the stream scanner the same posts, skips, dead letters (line, reason, excerpt) and coded
occurrences, on the samples and on hostile input (Hypothesis). Each property compares one run with
the kernels and one with ``TRENDLAB_NATIVE=0``.

Skipped only where the kernels are not built (no cargo: ``make install`` says so); where cargo is
installed a missing module is a failure.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import dataclasses

from trendlab.core.extract import _TOKEN_RE, KeywordExtractor
from trendlab.core.kernels import native_module
import trendlab.occurrences as occurrences_module
from trendlab.occurrences import read_occurrences
from trendlab.core.parse import Limits, MessageParser

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data" / "samples"
SCALE = 20 if os.environ.get("HYPOTHESIS_PROFILE") == "long" else 1

native = native_module()
if native is None:
    if shutil.which("cargo") and os.environ.get("TRENDLAB_NATIVE", "1") != "0":
        pytest.fail("cargo is installed but trendlab_native is not importable: run make install", pytrace=False)
    pytest.skip("trendlab_native is not built (no cargo)", allow_module_level=True)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_fuzz_parse import event, flat, message  # noqa: E402  (the parser's own hostile strategies)


def python_extractor(**kw) -> KeywordExtractor:
    ex = KeywordExtractor(**kw)
    ex._core = False  # this instance runs the rules in Python
    return ex


def test_tables_are_this_pythons_unicode_database():
    """The tokeniser's character classes were generated from this Python's ``re`` (else: regenerate)."""
    out = subprocess.run([sys.executable, str(ROOT / "native" / "gen_tables.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    import unicodedata

    assert native.UNICODE_VERSION == unicodedata.unidata_version


FRAGMENTS = ["http://", "https://", "www.", ".", "/", "@", "#", "'", "’", "-", "_", " ", "\t", "\u3000", "\x1c",
             "com", "co", "uk", "org", "world", "online", "a", "Z", "9", "é", "e\u0301", "ß", "İ", "東京", "ｱ",
             "\u0915\u093f", "٣", "²", "½", "\u200d", "😀", "foo", "bar", "..", "//", ":", "\n", "\u2028", "\u00a0",
             "\u2163", "‿", "bsky.social", "example.com/x"]
texts = st.one_of(
    st.lists(st.sampled_from(FRAGMENTS), max_size=16).map("".join),
    st.text(max_size=40),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.characters()), max_size=20).map("".join),
)


@settings(max_examples=3000 * SCALE, deadline=None)
@given(texts)
def test_tokeniser_is_the_regular_expression(text):
    tokens = native.tokens(text)
    if tokens is None:  # a lone surrogate: not Unicode text, the rules run in Python for it
        assert any(0xD800 <= ord(c) <= 0xDFFF for c in text)
    else:
        assert tokens == _TOKEN_RE.findall(text)


def test_tokeniser_on_the_golden_cases():
    cases = {
        "Hello https://x.com/a wörld": ["hello", "", "wörld"],
        "see example.com, bar.co.uk/x and it's co-op": ["see", "", "", "and", "it's", "co-op"],
        "@alice.bsky.social #Tag_ 42": ["", "#Tag_", "42"],
        "example.com's domain": ["example", "com's", "domain"],
    }
    assert KeywordExtractor().extract("rain \ud800 tokyo") == python_extractor().extract("rain \ud800 tokyo") \
        == ["rain", "tokyo"]
    for text, expected in cases.items():
        assert native.tokens(text.lower() if text.startswith("Hello") else text) == [
            t.lower() if text.startswith("Hello") else t for t in expected], text


LANGS = st.one_of(st.none(), st.lists(st.sampled_from(["en", "ja", "zh", "pt-BR", "de", "xx", "", "EN_us"]),
                                      max_size=2))
CJK = ["東京で雨が降った", "我们今天去北京", "ラーメン大好き", "２０２５年", "中文", "ひらがな"]


@settings(max_examples=1500 * SCALE, deadline=None)
@given(st.one_of(texts, st.lists(st.one_of(st.sampled_from(FRAGMENTS + CJK), st.text(max_size=6)),
                                 max_size=10).map(" ".join)), LANGS)
def test_extractor_gives_the_python_keywords(text, langs):
    assert KeywordExtractor().extract(text, langs) == python_extractor().extract(text, langs)


PHRASE_WORDS = ["super", "Bowl", "war", "plans", "the", "her", "emails", "der", "und", "krieg", "ＳＯＵＴＨ", "Über",
                "co-op", "_war_", "rock'n'roll", "東京", "ラーメン", "#tag", "42", "x", "@bob.bsky.social",
                "https://x.co/a", "example.com", "😀", "e\u0301t\u00e9", "",
                "group", "Chat", "new", "York", "man", "fire", "stop"]  # stop words a phrase may hold (some not in de)
PHRASE_GAPS = [" ", "  ", "\t", "\u00a0", "\u3000", "\x1f", "\n", "\r\n", "\r", "\u2028", "\u2029", "\x85", "\x1c",
               "\x0b", "\x0c", ". ", ", ", "!", "? ", ";", ":", " - ", "/", "(", '"', "…", "'", "_"]
phrase_texts = st.lists(st.tuples(st.sampled_from(PHRASE_WORDS), st.sampled_from(PHRASE_GAPS)), max_size=14).map(
    lambda parts: "".join(w + g for w, g in parts))


@settings(max_examples=1500 * SCALE, deadline=None)
@given(phrase_texts, LANGS)
def test_extractor_gives_the_python_phrases(text, langs):
    """Phrases (adjacent word pairs): the same pairs, the same breaks (punctuation, line breaks, URLs,
    mentions, hashtags, CJK, numbers, short words, boundary words of the tagged and detected languages,
    and the English stop words a phrase may hold unless another applied language stops them)."""
    assert KeywordExtractor().extract(text, langs) == python_extractor().extract(text, langs)


def test_extractor_settings_and_extra_stop_words_hold():
    for kw in ({"min_length": 3, "max_length": 5}, {"extra_stopwords": ["Rain", "東京"]}, {"min_length": 1}):
        text = "Rain in Tokyo 東京で雨 #a #abcdefgh it's 12 ab abcdef ＡＢＣ abc rain tokyo"
        for langs in (None, ["ja"], ["zh"]):
            assert KeywordExtractor(**kw).extract(text, langs) == python_extractor(**kw).extract(text, langs)


def test_extractor_on_every_sample_post():
    parser = MessageParser()
    fast, slow = KeywordExtractor(), python_extractor()
    phrases = 0
    for path in sorted(SAMPLES.glob("*/posts.jsonl")):
        for line in path.read_bytes().splitlines():
            post = parser(line)
            if hasattr(post, "text"):
                langs = (post.language,) if post.language else None
                keywords = fast.extract(post.text, langs)
                assert keywords == slow.extract(post.text, langs), post.text
                phrases += sum(" " in k for k in keywords)
    assert phrases > 1000  # the samples hold phrases: the comparison covers them


def occurrences(path: Path, use_native: bool, monkeypatch, workers: int = 1):
    monkeypatch.setenv("TRENDLAB_NATIVE", "1" if use_native else "0")
    monkeypatch.setenv("TRENDLAB_MAX_MESSAGE_BYTES", "4096")
    monkeypatch.setenv("TRENDLAB_MAX_KEYWORDS", "12")
    monkeypatch.setattr(occurrences_module, "_file_parser",
                        lambda limits=None: MessageParser(limits or parser_limits(),
                                                          now_us=1_764_000_000_000_000))  # one *now*
    table, occ = read_occurrences(path, KeywordExtractor(), workers=workers, progress=False)
    return (table.read.lines, table.read.posts, table.read.skipped,
            [(n, d.reason, d.excerpt, d.size) for n, d in table.read.dead_letters], table.event_ms.tolist(),
            occ.keywords.tolist(), occ.authors.tolist(), occ.keyword_code.tolist(), occ.author_code.tolist(),
            occ.post_index.tolist(), occ.post_langs.tolist())


def same_both_ways(path: Path, monkeypatch, workers: int = 1) -> tuple:
    fast = occurrences(path, True, monkeypatch, workers)
    slow = occurrences(path, False, monkeypatch, workers)
    assert fast == slow
    return fast


@pytest.mark.parametrize("sample", ["small", "long"])
def test_scanner_reads_the_samples_as_python_does(sample, monkeypatch):
    lines, posts, skipped, dead, *_ = same_both_ways(SAMPLES / sample / "posts.jsonl", monkeypatch)
    assert posts > 1000 and skipped > 0


def test_scanner_parts_equal_the_whole_file(monkeypatch):
    """Two workers, each scanning parts of the file, give the one-process result."""
    path = SAMPLES / "long" / "posts.jsonl"
    monkeypatch.setenv("TRENDLAB_NATIVE", "1")
    assert occurrences(path, True, monkeypatch, workers=2) == occurrences(path, True, monkeypatch, workers=1)


def test_a_kept_scanner_starts_over_for_each_file_and_other_rules_get_their_own(monkeypatch):
    """The scanner a process keeps between parts and files (its languages looked up once) reads each
    file as a new scanner would, and rules or limits of their own never reuse it."""
    small, long = SAMPLES / "small" / "posts.jsonl", SAMPLES / "long" / "posts.jsonl"
    monkeypatch.setattr(occurrences_module, "_SCANNERS", {})
    first = occurrences(small, True, monkeypatch)
    occurrences(long, True, monkeypatch)
    assert occurrences(small, True, monkeypatch) == first  # after another file: nothing of it left
    monkeypatch.setattr(occurrences_module, "_SCANNERS", {})
    assert occurrences(small, True, monkeypatch) == first  # a new scanner: the same
    [(_, kept)] = occurrences_module._SCANNERS.values()
    table, occ = read_occurrences(small, KeywordExtractor(extra_stopwords=["weather"]), workers=1, progress=False)
    assert "weather" not in set(occ.keywords.tolist()) and "weather" in first[5]
    [(_, other)] = occurrences_module._SCANNERS.values()
    assert other is not kept


# -- stop words whatever the tag: the language evidence rule, in the kernel as in Python ----------

from test_language_evidence import ENGLISH, OTHERS, WRONG_TAGS  # noqa: E402  (the labelled check)
from trendlab.core.function_words import EVIDENCE  # noqa: E402
from trendlab.env_defaults import parser_limits

TAGS = WRONG_TAGS + ["en", "xx", "ko", "pt-BR", "zh", "", "EN_us"]
#: function words of several languages, content words that are stop words elsewhere, hashtags of them
MIXED_WORDS = sorted({w for words in EVIDENCE.values() for w in words[:12]}) + [
    "war", "die", "man", "come", "son", "plans", "chat", "#the", "#und", "The", "AND", "Der", "ＴＨＥ", "it’s",
    "group", "new", "world", "fire", "stop", "cup",
    "東京", "ラーメン", "12", "a", "x-y"]


def test_extractor_on_mis_tagged_and_untagged_posts():
    fast, slow = KeywordExtractor(), python_extractor()
    texts = ENGLISH + [text for _, text in OTHERS]
    for tag in TAGS:
        for text in texts:
            assert fast.extract(text, tag) == slow.extract(text, tag), (tag, text)
            assert fast.extract(text, [tag, "ja"]) == slow.extract(text, [tag, "ja"]), (tag, text)


@settings(max_examples=1500 * SCALE, deadline=None)
@given(st.lists(st.sampled_from(MIXED_WORDS), max_size=14).map(" ".join),
       st.one_of(st.none(), st.lists(st.sampled_from(TAGS[:-1] + ["it", "ca", "ru", "ar"]), max_size=3)))
def test_extractor_evidence_rule_is_the_python_rule(text, langs):
    assert KeywordExtractor().extract(text, langs) == python_extractor().extract(text, langs)
    extra = {"extra_stopwords": ["plans", "der"], "min_length": 3}
    assert KeywordExtractor(**extra).extract(text, langs) == python_extractor(**extra).extract(text, langs)


def test_scanner_and_table_function_on_mis_tagged_posts(tmp_path, monkeypatch):
    """Replay's scanner (the first raw tag as its key) and the Flink parser read mis-tagged and
    untagged Jetstream posts as the Python rules do."""
    lines = []
    for i, text in enumerate(ENGLISH + [text for _, text in OTHERS]):
        for j, tag in enumerate(WRONG_TAGS + ["en", "xx"]):
            ev = orjson.loads(jet(i * 100 + j, text))
            if tag is None:
                del ev["commit"]["record"]["langs"]
            else:
                ev["commit"]["record"]["langs"] = [tag, "en"] if j % 3 == 0 else [tag]
            lines.append(orjson.dumps(ev))
    path = tmp_path / "mistagged.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    fast, slow = udtf_pair()  # (before occurrences() sets TRENDLAB_NATIVE)
    assert occurrences(path, True, monkeypatch) == occurrences(path, False, monkeypatch)
    for raw in lines:
        same_table_rows(fast, slow, raw)


NOW_US = 1_739_131_200_000_000


def jet(i: int, text, **over) -> bytes:
    ev = {"did": f"did:plc:a{i % 7}", "time_us": NOW_US + i * 1_000_000, "kind": "commit",
          "commit": {"operation": "create", "collection": "app.bsky.feed.post", "rkey": f"r{i}",
                     "record": {"text": text, "langs": ["en"], "createdAt": "2025-02-09T20:00:00Z"}}}
    ev.update(over)
    return orjson.dumps(ev)


#: ten words in three orders: 27 distinct adjacent pairs
MANY_PAIRS = " ".join(f"p{i}q" for i in list(range(10)) + list(range(0, 10, 2)) + list(range(1, 10, 2))
                      + [(3 * i) % 10 for i in range(10)])

HOSTILE = [
    jet(1, "Rain in Tokyo today #Weather"),
    b"",
    b"   \t",
    b"\xef\xbb\xbf" + jet(2, "a BOM inside the file is not dropped"),
    jet(3, "caf\xe9 na\xefve \u00c9T\u00c9 \u2019quoted\u2019 ＦＵＬＬ"),
    jet(4, "東京で雨が降っています #東京") + b"\r",
    jet(5, "x", time_us=1),  # before Bluesky
    jet(6, "x", time_us=NOW_US * 100),  # far in the future
    jet(7, "x", time_us=None),  # createdAt decides
    jet(8, "x", did="not-a-did"),
    jet(9, 42),
    jet(10, " ".join(f"w{i}x" for i in range(40))),  # over the keyword cap of 12
    jet(13, MANY_PAIRS),  # 10 words (under the cap of 12) and 27 phrases: the first 12 phrases kept
    b'{"kind": "commit", "kind": "identity"}',
    b'{"did":"did:plc:q","time_us":1739131200000000,"kind":"commit","commit":{"operation":"create",'
    b'"collection":"app.bsky.feed.post","rkey":"r","record":{"text":"dup","text":"second wins"}}}',
    b'{"kind":"account","account":{}}',
    b'{"kind":"commit","commit":{"operation":"delete","collection":"app.bsky.feed.post"}}',
    b'{"kind":"commit"}',
    b'{"kind":5}',
    b'{"uri":"at://x","author_did":"did:plc:flat","text":"a flat post","created_at":"2025-02-09T20:00:00Z"}',
    b"\xff\xfe not utf-8",
    b"[1, 2]",
    b'{"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","record":{"text":"\\ud800"}}}',
    jet(11, "big " * 2000),  # over 4096 bytes
    jet(12, "tail without newline"),
]


@pytest.mark.parametrize("compress", [False, True])
def test_scanner_on_hostile_lines(tmp_path, monkeypatch, compress):
    data = b"\n".join(HOSTILE)
    path = tmp_path / ("hostile.jsonl.gz" if compress else "hostile.jsonl")
    path.write_bytes(gzip.compress(data) if compress else data)
    lines, posts, skipped, dead, *_ = same_both_ways(path, monkeypatch)
    assert len(dead) >= 8 and posts >= 4 and lines == posts + skipped + len(dead)


GOOD = (SAMPLES / "small" / "posts.jsonl").read_bytes().splitlines()[:60]


@settings(max_examples=60 * SCALE, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                          HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(GOOD)), st.one_of(message, event.map(orjson.dumps),
                                                               flat.map(orjson.dumps))), max_size=15),
       st.sampled_from([b"\n", b"\r\n"]))
def test_scanner_on_hostile_files(tmp_path, monkeypatch, junk, newline):
    lines = list(GOOD)
    for at, msg in sorted(junk, key=lambda x: -x[0]):
        lines.insert(at, msg.replace(b"\n", b" ").replace(b"\r", b" "))
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(newline.join(lines))
    same_both_ways(path, monkeypatch)


def test_scanner_arrays_are_aligned(monkeypatch):
    monkeypatch.setenv("TRENDLAB_NATIVE", "1")
    table, occ = read_occurrences(SAMPLES / "small" / "posts.jsonl", KeywordExtractor(), workers=1, progress=False)
    # (keyword, post) int32 pairs per occurrence; the post's columns once per post
    assert occ.keyword_code.dtype == np.int32 and occ.post_index.dtype == np.int32
    assert len(occ.post_index) == len(occ.keyword_code) and len(occ.event_ms) == len(occ.keyword_code)
    assert len(occ.post_event_ms) == len(occ.post_author_code) == len(occ.post_content_code) == occ.posts
    assert len(table.event_ms) == table.read.posts
    assert Limits().max_keywords == 300  # the defaults the test's caps are below


def udtf_pair():
    from trendlab.flink.udfs import ExtractKeywords, native_parser

    fast, slow = ExtractKeywords(limits=Limits(max_message_bytes=4096, max_keywords=12)), \
        ExtractKeywords(extractor=python_extractor(), limits=Limits(max_message_bytes=4096, max_keywords=12))
    fast._native = native_parser(fast.extractor, fast.limits)
    assert fast._native is not None and native_parser(slow.extractor, slow.limits) is None
    return fast, slow


#: the clock in a "too far ahead" dead letter: each engine reads *now* itself, a millisecond apart at times
_LATEST_ACCEPTED = re.compile(r"\(latest accepted [0-9T:.Z-]+;")


def udtf_rows(udtf, raw) -> list:
    """The table function's rows for ``raw``, the wall-clock instant in a dead letter's reason masked."""
    return [row[:6] + (_LATEST_ACCEPTED.sub("(latest accepted <now>;", row[6]),) + row[7:]
            if isinstance(row[6], str) else row for row in udtf.eval(raw)]


def same_table_rows(fast, slow, raw) -> list:
    rows = udtf_rows(fast, raw)
    assert rows == udtf_rows(slow, raw), raw if raw is None else raw[:200]  # bytes, bytearray or str
    return rows


def test_phrases_over_the_cap_are_dropped_alike_everywhere(tmp_path, monkeypatch):
    """A post under the word cap is never a dead letter for its phrases: the scanner, the Python
    reader and the table function keep its words and its first ``max_keywords`` phrases."""
    words = [f"p{i}q" for i in range(10)]
    everything = python_extractor().extract(MANY_PAIRS)
    assert everything[:10] == words and len(everything) == 10 + 27
    kept = everything[:10 + 12]
    path = tmp_path / "pairs.jsonl"
    path.write_bytes(jet(13, MANY_PAIRS))
    result = same_both_ways(path, monkeypatch)  # TRENDLAB_MAX_KEYWORDS=12
    assert result[3] == [] and result[5] == kept  # no dead letter; the keyword table in first appearance
    monkeypatch.setenv("TRENDLAB_NATIVE", "1")
    fast, slow = udtf_pair()
    for udtf in (fast, slow):
        rows = list(udtf.eval(jet(13, MANY_PAIRS)))
        assert [r[0] for r in rows[:-1]] == kept and rows[-1][0] == ""


def test_flink_table_function_rows_are_the_python_rows():
    """The job's table function gives the same rows (keywords, dead letters) with the kernels as without."""
    same_table_rows_on_the_samples(*udtf_pair())


def same_table_rows_on_the_samples(fast, slow) -> None:
    for raw in (SAMPLES / "small" / "posts.jsonl").read_bytes().splitlines() + HOSTILE:
        same_table_rows(fast, slow, raw)
    same_table_rows(fast, slow, None)
    same_table_rows(fast, slow, bytearray(HOSTILE[0]))


@settings(max_examples=400 * SCALE, deadline=None)
@given(st.one_of(message, event.map(orjson.dumps)))
def test_flink_table_function_on_hostile_messages(raw):
    same_table_rows(*FAST_SLOW, raw)


#: language tags as people and programs write them, and letters that case-fold into ASCII outside it
TAG_PARTS = ["en", "EN", "pt", "BR", "ja", "zh", "Hant", "tok", "fil", "xx", "", "K", "ı", "İ", "e\u0301n", "de"]


@settings(max_examples=300 * SCALE, deadline=None)
@given(st.lists(st.lists(st.sampled_from(TAG_PARTS), min_size=1, max_size=3).flatmap(
    lambda parts: st.sampled_from(["-", "_"]).map(lambda sep: sep.join(parts))), max_size=6))
def test_a_posts_language_code_is_the_python_code(tags):
    """The language code the kernel gives a post (the sketches' low bits: an alert's languages) is
    trendlab.core.langtags.langs_code of its tags, whatever they hold."""
    from trendlab.core.langtags import langs_code

    ev = orjson.loads(jet(1, "Rain in Tokyo today"))
    ev["commit"]["record"]["langs"] = tags
    raw = orjson.dumps(ev)
    rows = same_table_rows(*FAST_SLOW, raw)
    assert rows[0][5] == langs_code(tags)
    assert native.Parser(KeywordExtractor().kernel_rules(), 1 << 20, 100, 0, 1 << 62).post(raw)[2] == langs_code(tags)


FAST_SLOW = udtf_pair()


def test_prepare_lower_cases_every_character_as_python_does():
    """The kernel lower-cases a text of assigned characters itself: every such character must lower-case
    (after NFKC) exactly as this Python's ``str.lower`` does; other texts go to Python's own prepare."""
    from trendlab.core.extract import prepare

    import unicodedata

    core = KeywordExtractor()._native()
    chars = [chr(c) for c in range(0x80, 0x110000)  # assigned ones (others go to Python), no capital sigma
             if unicodedata.category(chr(c)) not in ("Cn", "Cs") and c != 0x3A3]
    for start in range(0, len(chars), 4096):  # in blocks, separated by a space (NFKC is stable there)
        block = " ".join(chars[start:start + 4096])
        assert core.prepare(block) == prepare(block), start
    for text in ["ΟΔΟΣ Σ ΣΑ", "İstanbul ǅ ﬃ ｶﾞ", "\U0001d6ba\U0001d6c3x", "e\u0301 \u1e9e ß", "ＡＢＣ’s"]:
        assert core.prepare(text) == prepare(text), text


def test_prepare_of_every_character_where_it_stands():
    """Each character between ASCII letters, after a Hangul initial: the kernel's prepare (which leaves
    a text of "stable" characters as it is) must give what Python's does; a character wrongly taken
    as stable (one NFKC or lower-casing changes, or that composes with the one before it) fails here."""
    from trendlab.core.extract import prepare

    core = KeywordExtractor()._native()
    for cp in range(0x80, 0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        text = "a\u1100" + chr(cp) + "x"
        assert core.prepare(text) == prepare(text), hex(cp)


def test_scanner_reads_over_long_lines_across_its_blocks(tmp_path, monkeypatch):
    """The kernel reads files in 4 MiB blocks and never holds an over-long line whole: lines that
    straddle a block end, an over-long one that does, a 6 MB one, CRLF ends and a last line without
    its newline read as the Python reader reads them (1 MiB blocks)."""
    good = [jet(i, f"word{i % 50} rain tokyo") for i in range(200)]
    filler = [jet(1000 + i, "x" * 900) for i in range(4300)]  # ~4.3 MB: the next lines cross 4 MiB
    lines = good[:100] + filler + [jet(5000, "y " * 3000), good[100]] + [b"z" * 6_000_000] + good[101:]
    path = tmp_path / "long-lines.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(lines))
    lines_read, posts, skipped, dead, *_ = same_both_ways(path, monkeypatch)
    assert lines_read == len(lines) and posts == 4500 and len(dead) == 2  # the two over-long lines


def test_the_scanner_reads_plain_lines_itself(monkeypatch):
    """The comparisons above would pass if the kernel sent every line to Python: it must not. The
    long sample is all plain Jetstream events (no line for Python); the hostile lines mostly are not."""
    from trendlab.occurrences import _file_parser

    def python_lines(path: Path) -> int:
        ex, parser = KeywordExtractor(), _file_parser()
        scanner = native.Scanner(ex.kernel_rules(), lambda *a: None, parser.limits.max_message_bytes,
                                 parser.limits.max_keywords, 1_667_260_800_000_000, parser.latest_us())
        scanner.scan_file(path)
        out = scanner.result()
        assert out["lines"] > 0
        return out["python_lines"]

    assert python_lines(SAMPLES / "long" / "posts.jsonl") == 0
    assert isinstance(FAST_SLOW[0]._native.post(jet(1, "plain")), tuple)  # a post, read by the kernel
    assert FAST_SLOW[0]._native.post(HOSTILE[8]) is None  # not a DID: Python's


# -- MeCab called directly (native/src/mecab.rs) --------------------------------------------------

KANA_KANJI = st.text(alphabet=st.sampled_from(list("東京大阪雨花火会社今日明日年月一二三十百万円人時分です"
                                                  "ましたがのにをはでとへもやかなりーアイウカキクサシスタナニ"
                                                  "ハマラワン々〆ヶ〇ｱｲ１２３abc")), min_size=1, max_size=24)


def test_the_kernel_calls_mecab_itself():
    """Where fugashi's library is found the kernel reads MeCab's nodes instead of calling Python; the
    comparisons below would pass trivially without it."""
    from trendlab.core.kernels import mecab_library

    spec = mecab_library()
    assert spec is not None and "libmecab" in spec[0]
    calls = []
    ex = KeywordExtractor()
    rules = dataclasses.replace(ex.kernel_rules(), ja=lambda run: calls.append(run) or "")  # must not be called
    assert native.Extractor(rules).extract("東京で花火大会がありました", "k:[\"ja\"]") == ["東京", "花火", "大会"]
    assert calls == []
    rules = dataclasses.replace(rules, mecab=None)  # without the library: Python's MeCab output, read by the kernel
    native.Extractor(rules).extract("東京で花火", "k:[\"ja\"]")
    assert calls == ["東京で花火"]


@settings(max_examples=2000 * SCALE, deadline=None)
@given(KANA_KANJI)
def test_direct_mecab_keeps_the_nouns_python_keeps(run):
    ex = KeywordExtractor(min_length=1, max_length=64)
    rules = ex.kernel_rules()
    direct = native.Extractor(rules)
    through_python = native.Extractor(dataclasses.replace(rules, mecab=None))
    key = "k:[\"ja\"]"
    assert direct.extract(run, key) == through_python.extract(run, key) == python_extractor(
        min_length=1, max_length=64).extract(run, ["ja"])


def test_direct_mecab_on_every_japanese_run_of_the_long_sample():
    from trendlab.core.extract import _TOKEN_RE, _ja_nouns, prepare

    ex = KeywordExtractor(min_length=1, max_length=64)
    direct = native.Extractor(ex.kernel_rules())
    runs = set()
    for line in (SAMPLES / "long" / "posts.jsonl").read_bytes().splitlines():
        text = orjson.loads(line).get("commit", {}).get("record", {}).get("text") or ""
        runs.update(t for t in _TOKEN_RE.findall(prepare(text))
                    if t and not t.startswith("#") and any("\u3040" <= c <= "\u9fff" for c in t))
    assert len(runs) > 3000
    for run in sorted(runs):
        expected = [w.strip("_'-") for w in _ja_nouns(run)]
        expected = list(dict.fromkeys(w for w in expected if w and not w.isdigit()))
        assert direct.extract(run, "k:[\"ja\"]") == [w for w in expected if w not in ex.stopwords(["ja"])], run


# -- window counts (native/src/windows.rs) ----------------------------------------------------------

def numpy_window_counts(kw, au, ms, spec, monkeypatch):
    from trendlab.core.windows import window_counts

    with monkeypatch.context() as m:
        m.setenv("TRENDLAB_NATIVE", "0")
        return window_counts(kw, au, ms, spec)


@settings(max_examples=400 * SCALE, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(occ=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 4), st.integers(0, 40)), min_size=1, max_size=120),
       shape=st.sampled_from([(60_000, 60_000), (180_000, 60_000), (600_000, 60_000), (120_000, 30_000)]),
       chunked=st.booleans())
def test_window_counts_are_the_numpy_counts(occ, shape, chunked, monkeypatch):
    """Any occurrences (out of time order, the same author twice in a slot, gaps longer than a window),
    any shape, whole or in chunks: the kernel's rows are the numpy rows, in the same order."""
    import trendlab.core.windows as windows
    from trendlab.core.windows import WindowSpec, window_counts

    kw = np.array([o[0] for o in occ], dtype=np.int64)
    au = np.array([o[1] for o in occ], dtype=np.int64)
    ms = np.array([1_764_000_000_000 + o[2] * 29_000 for o in occ], dtype=np.int64)
    spec = WindowSpec(*shape)
    if chunked:  # a few occurrences a chunk: the runs of end slots of a day's stream
        monkeypatch.setattr(windows, "CHUNK_BYTES", spec.windows_per_post * 64 * 7)
    fast = window_counts(kw, au, ms, spec)
    slow = numpy_window_counts(kw, au, ms, spec, monkeypatch)
    pd_equal(fast, slow)


def pd_equal(a, b):
    assert list(a.columns) == list(b.columns)
    assert all(a[c].dtype == np.int64 for c in a.columns)
    assert a.reset_index(drop=True).equals(b.reset_index(drop=True))


@settings(max_examples=300 * SCALE, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(posts=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 4), st.integers(0, 3),
                                st.sets(st.integers(0, 6), max_size=5)), min_size=1, max_size=60),
       least=st.lists(st.integers(1, 3), min_size=7, max_size=7),
       shape=st.sampled_from([(60_000, 60_000), (180_000, 60_000), (600_000, 60_000), (120_000, 30_000)]),
       with_contents=st.booleans())
def test_post_window_counts_are_the_window_counts(posts, least, shape, with_contents, monkeypatch):
    """Occurrences as (keyword, post) with the posts' slot, author and content once per post, and a least
    count per keyword (a phrase's): the kernel's one pass gives the rows of window_counts over the
    expanded columns, without the rows below the least count, and so does the fallback."""
    from trendlab.core.windows import WindowSpec, post_window_counts, window_counts

    spec = WindowSpec(*shape)
    ms = np.array([1_764_000_000_000 + p[0] * 29_000 for p in posts], dtype=np.int64)
    authors = np.array([p[1] for p in posts], dtype=np.int32)
    contents = np.array([p[2] for p in posts], dtype=np.int32) if with_contents else None
    pairs = [(k, i) for i, p in enumerate(posts) for k in sorted(p[3])]
    kw = np.array([k for k, _ in pairs], dtype=np.int32)
    post = np.array([i for _, i in pairs], dtype=np.int32)
    least = np.array(least, dtype=np.int32)
    fast = post_window_counts(kw, post, ms, authors, spec, contents, least)
    with monkeypatch.context() as m:
        m.setenv("TRENDLAB_NATIVE", "0")
        slow = post_window_counts(kw, post, ms, authors, spec, contents, least)
        if kw.size:
            ref = window_counts(kw, authors[post], ms[post], spec, None if contents is None else contents[post])
            ref = ref[ref["count"].to_numpy() >= least[ref["keyword_code"].to_numpy()]]
        else:
            ref = slow
    pd_equal(fast, slow)
    pd_equal(fast, ref)


def test_post_window_counts_refuse_as_window_counts_do(monkeypatch):
    """A window shape too large for the memory budget: the kernel's path refuses it with the line the
    numpy path gives."""
    from trendlab.errors import ConfigError
    from trendlab.core.windows import WindowSpec

    _, occ = read_occurrences(SAMPLES / "long" / "posts.jsonl", KeywordExtractor(), workers=1, progress=False)
    monkeypatch.setenv("TRENDLAB_REPLAY_MEMORY_MB", "1")
    spec = WindowSpec(3_600_000, 60_000)
    with pytest.raises(ConfigError) as fast:
        occ.window_counts(spec)
    monkeypatch.setenv("TRENDLAB_NATIVE", "0")
    with pytest.raises(ConfigError) as slow:
        occ.window_counts(spec)
    assert str(fast.value) == str(slow.value)


def test_occurrence_window_counts_of_the_long_sample(monkeypatch):
    """The replay's counts (phrases from MIN_PHRASE_COUNT, distinct contents) and volume: kernel and
    fallback alike, and the rows of the definition (window_counts over every occurrence, then the rare
    phrases' rows dropped)."""
    from trendlab.core.windows import WindowSpec, drop_rare_phrases, phrase_codes, window_counts, window_volume

    _, occ = read_occurrences(SAMPLES / "long" / "posts.jsonl", KeywordExtractor(), workers=1, progress=False)
    for shape in ((360_000, 60_000), (600_000, 120_000)):
        spec = WindowSpec(*shape)
        fast, fast_volume = occ.window_counts(spec), occ.window_volume(spec)
        assert len(fast) > 10_000 and "unique_contents" in fast
        with monkeypatch.context() as m:
            m.setenv("TRENDLAB_NATIVE", "0")
            pd_equal(fast, occ.window_counts(spec))
            pd_equal(fast_volume, occ.window_volume(spec))
            ref = window_counts(occ.keyword_code, occ.author_code, occ.event_ms, spec, occ.content_code)
            pd_equal(fast, drop_rare_phrases(ref, phrase_codes(occ.keywords)))
            first = np.unique(occ.post_index, return_index=True)[1]  # posts with keywords: their authors
            assert fast_volume["volume"].sum() >= window_volume(occ.event_ms[first], occ.author_code[first],
                                                                spec)["volume"].sum()


def test_window_counts_of_the_long_sample(monkeypatch):
    from trendlab.core.windows import WindowSpec, window_counts

    _, occ = read_occurrences(SAMPLES / "long" / "posts.jsonl", KeywordExtractor(), workers=1, progress=False)
    for shape in ((360_000, 60_000), (600_000, 120_000)):
        spec = WindowSpec(*shape)
        fast = window_counts(occ.keyword_code, occ.author_code, occ.event_ms, spec)
        assert len(fast) > 10_000
        pd_equal(fast, numpy_window_counts(occ.keyword_code, occ.author_code, occ.event_ms, spec, monkeypatch))


# -- the table: every kernel entry and its Python twin -----------------------------------------------
# One row per public entry of trendlab_native: the Python definition it compiles, and a check that runs
# both on the same inputs. A kernel entry without a row fails test_every_kernel_entry_has_a_twin, so no
# pair can be added without its twin being tested. (The Hypothesis properties above go further per pair.)

def _sample_texts() -> list[tuple[str, tuple[str, ...] | None]]:
    parser, out = MessageParser(), []
    for line in (SAMPLES / "small" / "posts.jsonl").read_bytes().splitlines():
        post = parser(line)
        if hasattr(post, "text"):
            out.append((post.text, (post.language,) if post.language else None))
    return out + [(text, None) for text in CJK + FRAGMENTS]


def twin_tokens(monkeypatch):
    from trendlab.core.extract import prepare

    for text, _ in _sample_texts():
        assert native.tokens(prepare(text)) == _TOKEN_RE.findall(prepare(text)), text


def twin_extractor(monkeypatch):
    fast, slow = KeywordExtractor(), python_extractor()
    for text, langs in _sample_texts():
        assert fast.extract(text, langs) == slow.extract(text, langs), text
    rules = KeywordExtractor().kernel_rules()
    for text, _ in _sample_texts():
        assert native.Extractor(rules).prepare(text) == rules.prepare(text)


def twin_scanner(monkeypatch):
    same_both_ways(SAMPLES / "small" / "posts.jsonl", monkeypatch)


def twin_parser(monkeypatch):
    same_table_rows_on_the_samples(*FAST_SLOW)


def twin_union(monkeypatch):
    from trendlab.occurrences import _Coded

    def merged(use_native: bool):
        # fresh parts each time: a merge lets go of its parts' codes once mapped
        parts = [_Coded.of([["a", "b"], ["b", "c"]], ["x", "y"]), _Coded.of([["c", "d"], []], ["y", "z"]),
                 _Coded.of([["e", "a"]], ["w"])]
        with monkeypatch.context() as m:
            m.setenv("TRENDLAB_NATIVE", "1" if use_native else "0")
            out = _Coded.merge(parts)
        return out.keywords, out.keyword_code.tolist(), out.authors, out.author_code.tolist()

    assert merged(True) == merged(False)


def twin_window_counts(monkeypatch):
    from trendlab.core.windows import WindowSpec, window_counts

    _, occ = read_occurrences(SAMPLES / "small" / "posts.jsonl", KeywordExtractor(), workers=1, progress=False)
    spec = WindowSpec(600_000, 60_000)
    pd_equal(window_counts(occ.keyword_code, occ.author_code, occ.event_ms, spec),
             numpy_window_counts(occ.keyword_code, occ.author_code, occ.event_ms, spec, monkeypatch))


LINK_CASES = [
    "https://Example.COM/a/b?utm_source=x&id=3#frag", "http://www.example.org/", "https://example.org/a).",
    "javascript:alert(1)", "https://user:pw@example.org:8443/x", "https://例え.jp/パス", "ftp://example.org/x",
    "https://example.org/" + "a" * 600, "https://", "", "https://bit.ly/ABC?fbclid=1&gclid=2", "HTTPS://A.B/C,",
]


def twin_normalise_url(monkeypatch):
    from trendlab.core.links import normalise_url

    for uri in LINK_CASES:
        assert native.normalise_url(uri) == normalise_url(uri), uri


def twin_post_links(monkeypatch):
    from trendlab.core.links import post_links

    parser = MessageParser()
    posts = [p for p in map(parser, (SAMPLES / "small" / "posts.jsonl").read_bytes().splitlines()) if hasattr(p, "text")]
    assert any(p.links for p in posts), "the sample carries links"
    for post in posts:
        assert native.post_links(list(post.links), post.text) == post_links(post.links, post.text), post.uri
    for text in LINK_CASES:
        assert native.post_links([text], f"see {text} and more") == post_links([text], f"see {text} and more")


def twin_post_window_counts(monkeypatch):
    from trendlab.core.windows import WindowSpec

    _, occ = read_occurrences(SAMPLES / "small" / "posts.jsonl", KeywordExtractor(), workers=1, progress=False)
    spec = WindowSpec(600_000, 60_000)
    fast = occ.window_counts(spec)
    with monkeypatch.context() as m:
        m.setenv("TRENDLAB_NATIVE", "0")
        pd_equal(fast, occ.window_counts(spec))


def twin_keyword_hashes(monkeypatch):
    from trendlab.core.content import keyword_hashes, string_hashes

    _, occ = read_occurrences(SAMPLES / "small" / "posts.jsonl", KeywordExtractor(), workers=1, progress=False)
    fast, fast_plain = keyword_hashes(occ.keywords), string_hashes(occ.authors)
    with monkeypatch.context() as m:
        m.setenv("TRENDLAB_NATIVE", "0")
        assert fast.tolist() == keyword_hashes(occ.keywords).tolist()
        assert fast_plain.tolist() == string_hashes(occ.authors).tolist()


#: kernel entry -> (its Python definition, the check running both on the same inputs)
TWINS = {
    "tokens": ("trendlab.core.extract._TOKEN_RE.findall", twin_tokens),
    "Extractor": ("trendlab.core.extract.KeywordExtractor (Python rules) and prepare", twin_extractor),
    "Scanner": ("trendlab.occurrences' Python reader (MessageParser + KeywordExtractor)", twin_scanner),
    "Parser": ("trendlab.flink.udfs.extract_keywords_udtf without the kernel", twin_parser),
    "union": ("trendlab.occurrences._Coded.merge's Python coding", twin_union),
    "window_counts": ("trendlab.core.windows' numpy aggregation", twin_window_counts),
    "post_window_counts": ("trendlab.core.windows.post_window_counts without the kernel", twin_post_window_counts),
    "keyword_hashes": ("trendlab.core.content.keyword_hash (phrases and links as PHRASE_HASH)", twin_keyword_hashes),
    "normalise_url": ("trendlab.core.links.normalise_url", twin_normalise_url),
    "post_links": ("trendlab.core.links.post_links", twin_post_links),
}
#: public names that are data, not definitions
KERNEL_CONSTANTS = {"KERNEL_VERSION", "UNICODE_VERSION"}


def test_every_kernel_entry_has_a_twin():
    public = {name for name in dir(native) if not name.startswith("_")} - {"trendlab_native"}
    assert public - KERNEL_CONSTANTS == set(TWINS), "a kernel entry without a Python twin in TWINS (or a stale row)"


@pytest.mark.parametrize("entry", sorted(TWINS))
def test_kernel_entry_equals_its_python_twin(entry, monkeypatch):
    TWINS[entry][1](monkeypatch)


def test_the_stub_describes_every_kernel_entry():
    """native/trendlab_native.pyi (shipped with the wheel) names every public entry of the module."""
    import ast

    stub = ast.parse((ROOT / "native" / "trendlab_native.pyi").read_text())
    described = {n.name for n in stub.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    described |= {n.target.id for n in stub.body if isinstance(n, ast.AnnAssign)}
    public = {name for name in dir(native) if not name.startswith("_")} - {"trendlab_native"}
    assert public <= described, sorted(public - described)


def test_a_kernel_of_another_version_is_refused(monkeypatch):
    import trendlab.core.kernels as kernels
    from trendlab.errors import ConfigError

    monkeypatch.setattr(kernels, "_checked", None)
    monkeypatch.setattr(native, "KERNEL_VERSION", kernels.KERNEL_VERSION + 1)
    with pytest.raises(ConfigError) as refused:
        kernels.native_module()
    assert "make install" in str(refused.value) and "\n" not in str(refused.value)


@settings(max_examples=200 * SCALE, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(strings=st.lists(st.text(max_size=12) | st.sampled_from(["war plans", "a\ud800b", "\udfff x", "", "東京", "https://example.org/a"]),
                        max_size=30))
def test_keyword_hashes_are_the_python_hashes(strings, monkeypatch):
    """The kernel's CRC hashes of a keyword table (phrases as PHRASE_HASH) and of authors (no phrase
    rule) are trendlab.core.content's (a link, like a phrase, is no word), lone surrogates included."""
    from trendlab.core.content import PHRASE_HASH, is_word, keyword_hash, keyword_hashes, string_hashes

    assert native_module() is not None
    fast, fast_plain = keyword_hashes(strings), string_hashes(strings)
    with monkeypatch.context() as m:
        m.setenv("TRENDLAB_NATIVE", "0")
        assert fast.tolist() == keyword_hashes(strings).tolist()
        assert fast_plain.tolist() == string_hashes(strings).tolist() == [keyword_hash(s) for s in strings]
    assert all((h == PHRASE_HASH) == (not is_word(s)) for h, s in zip(fast.tolist(), strings))
