"""Links as keywords (trendlab.core.links): where they come from, how they are normalised, and that both
engines (the Python rules and the kernel) count them alike."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings, strategies as st

from trendlab.core.content import content_key
from trendlab.core.extract import KeywordExtractor
from trendlab.core.kernels import native_module
from trendlab.core.links import MAX_LINKS, normalise_url, post_links, text_links
from trendlab.core.models import PostData
from trendlab.core.parse import Limits, MessageParser

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_fuzz_parse import url_text  # noqa: E402

NOW_US = 1_739_131_200_000_000


@pytest.mark.parametrize("uri, expected", [
    ("https://example.com/a", "https://example.com/a"),
    ("HTTP://WWW.Example.COM/Path/X", "https://www.example.com/Path/X"),  # host lower-cased, path kept
    ("https://example.com/", "https://example.com"),
    ("https://example.com", "https://example.com"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("http://example.com:80/a", "https://example.com/a"),
    ("https://example.com:8443/a", "https://example.com:8443/a"),  # not a default port
    ("https://user:pw@example.com./a", "https://example.com/a"),
    ("https://example.com/a?utm_source=bsky&id=7&fbclid=x&UTM_Medium=y&si=abc#top", "https://example.com/a?id=7"),
    ("https://example.com/a?utm_source=bsky", "https://example.com/a"),
    ("https://example.com/a?b=2&a=1", "https://example.com/a?b=2&a=1"),  # order kept
    ("https://example.com/a#section", "https://example.com/a"),
    ("https://bit.ly/3xYz9", "https://bit.ly/3xYz9"),  # shorteners as they are
    ("https://t.co/abc", "https://t.co/abc"),
    ("https://xn--bcher-kva.example/b", "https://xn--bcher-kva.example/b"),
    ("https://Bücher.example/b", "https://bücher.example/b"),  # ASCII letters only are lower-cased
    ("at://did:plc:x/app.bsky.feed.post/1", None),
    ("mailto:a@example.com", None),
    ("ftp://example.com/f", None),
    ("https://", None),
    ("https:///path", None),
    ("https://exa mple.com/a", None),
    ("https://example.com/a b", None),
    ("https://example.com/" + "a" * 600, None),
    ("example.com/a", None),
])
def test_normalise(uri, expected):
    assert normalise_url(uri) == expected


def test_text_links_take_the_scheme_and_leave_sentence_punctuation():
    text = "Read https://example.com/a). Also (HTTP://b.example/x?y=1, and https://. or xhttps://c.d"
    assert text_links(text) == ["https://example.com/a", "HTTP://b.example/x?y=1", "https://c.d"]
    assert text_links("example.com/2025/03/24/hegs... no scheme") == []
    assert text_links("https://a.example\u3000then") == ["https://a.example"]  # an ideographic space ends it


def test_post_links_are_each_once_facets_first_and_capped():
    uris = ["https://example.com/a?utm_source=x", "https://example.com/a"]
    assert post_links(uris, "see https://EXAMPLE.com/a and https://other.example") == [
        "https://example.com/a", "https://other.example"]
    many = [f"https://example.com/{i}" for i in range(20)]
    assert post_links(many, "") == many[:MAX_LINKS]


def _event(text: str, facets=None, embed=None, i: int = 1) -> dict:
    record = {"text": text, "langs": ["en"], "createdAt": "2025-02-09T20:00:00Z"}
    if facets is not None:
        record["facets"] = facets
    if embed is not None:
        record["embed"] = embed
    return {"did": f"did:plc:a{i}", "time_us": NOW_US + i, "kind": "commit",
            "commit": {"operation": "create", "collection": "app.bsky.feed.post", "rkey": f"r{i}", "record": record}}


LINK = {"$type": "app.bsky.richtext.facet#link", "uri": "https://news.example/story?utm_campaign=z"}
EXTERNAL = {"$type": "app.bsky.embed.external", "external": {"uri": "https://video.example/v/1", "title": "t"}}
WITH_MEDIA = {"$type": "app.bsky.embed.recordWithMedia", "record": {"record": {"uri": "at://x"}},
              "media": {"$type": "app.bsky.embed.external", "external": {"uri": "https://media.example/m"}}}


def test_links_come_from_facets_the_embed_and_the_text():
    facets = [{"index": {"byteStart": 0, "byteEnd": 4}, "features": [LINK]},
              {"features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:m"}]}]
    post = PostData.from_jetstream(_event("news.example/sto... and https://text.example/t.", facets, EXTERNAL))
    assert post.links == ["https://news.example/story?utm_campaign=z", "https://video.example/v/1"]
    assert PostData.from_dict(orjson.loads(post.to_json())).links == post.links  # the flat form keeps them
    assert PostData.from_jetstream(_event("x", None, WITH_MEDIA)).links == ["https://media.example/m"]
    # odd shapes are decoration: ignored, never fatal
    odd = [{"features": [{"$type": "app.bsky.richtext.facet#link", "uri": 5}]}, {"features": "x"}, 7]
    assert PostData.from_jetstream(_event("x", odd, {"external": "nope"})).links == []


def parser() -> MessageParser:
    return MessageParser(Limits(), now_us=NOW_US + 10**9)


def test_link_keywords_come_last_and_never_count_toward_the_cap_or_the_content_key():
    words = "hegseth texted the war plans to a group chat with goldberg about yemen strikes"
    facets = [{"features": [LINK]}]
    out = parser().post_keywords(orjson.dumps(_event(words, facets, EXTERNAL)), KeywordExtractor())
    post, keywords = out
    assert keywords[-2:] == ["https://news.example/story", "https://video.example/v/1"]
    plain = parser().post_keywords(orjson.dumps(_event(words)), KeywordExtractor())[1]
    assert keywords[:-2] == plain
    # a campaign that changes only its links is one voice
    assert content_key(keywords, "did:plc:a1") == content_key(plain, "did:plc:b2")
    tight = MessageParser(Limits(max_keywords=2), now_us=NOW_US + 10**9)
    capped = tight.post_keywords(orjson.dumps(_event("alpha beta", facets)), KeywordExtractor())[1]
    assert capped[-1] == "https://news.example/story" and len(capped) == 4  # 2 words, their phrase, the link


# -- the kernel applies the same rules --------------------------------------------------------------

native = native_module()
needs_kernel = pytest.mark.skipif(native is None, reason="trendlab_native is not built")


@needs_kernel
@settings(max_examples=600, deadline=None)
@given(url_text)
def test_kernel_normalises_as_python_does(uri):
    assert native.normalise_url(uri) == normalise_url(uri)


@needs_kernel
@settings(max_examples=400, deadline=None)
@given(st.lists(url_text, max_size=10), st.lists(st.one_of(url_text, st.text(max_size=8)), max_size=6))
def test_kernel_post_links_are_python_post_links(uris, pieces):
    text = " ".join(pieces)
    assert native.post_links(uris, text) == post_links(uris, text)


@needs_kernel
def test_kernel_reads_the_links_of_a_jetstream_post_as_python_does():
    from trendlab.flink.udfs import native_parser

    facets = [{"features": [LINK]}, {"features": [{"$type": "x#link", "uri": "http://Other.example:80/"}]}]
    fast = native_parser(KeywordExtractor(), Limits())
    for ev in (_event("plain words here https://t.example/a?si=1", facets, EXTERNAL),
               _event("a quoted post", None, WITH_MEDIA), _event("no links at all")):
        raw = orjson.dumps(ev)
        author, keywords, _langs = fast.post(raw)
        assert (author, keywords) == (lambda p: (p[0].author_did, p[1]))(parser().post_keywords(raw, KeywordExtractor()))
    raw = orjson.dumps(_event("x", facets, EXTERNAL))
    assert fast.post(raw)[1][-3:] == ["https://news.example/story", "https://other.example", "https://video.example/v/1"]
