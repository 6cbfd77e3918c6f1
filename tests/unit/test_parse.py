"""The total parser: every message is a post, a skip or a dead letter with a reason; never an exception."""

from __future__ import annotations

import orjson
import pytest

from trendlab.config import Settings
from trendlab.core.models import PostData
from trendlab.core.extract import KeywordExtractor
from trendlab.core.parse import (BLUESKY_START_US, EXCERPT_CHARS, NON_POST, DeadLetter, Limits, MessageParser, Skip,
                            cap_phrases, parse_message, word_count)

NOW_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
T_US = NOW_US - 3_600_000_000


def event(**over):
    e = {"did": "did:plc:a", "time_us": T_US, "kind": "commit",
         "commit": {"operation": "create", "collection": "app.bsky.feed.post", "rkey": "r",
                    "record": {"text": "hello world", "createdAt": "2025-12-31T23:00:00Z", "langs": ["en"]}}}
    e.update(over)
    return e


def record(**over):
    e = event()
    e["commit"]["record"].update(over)
    return e


def parse(data, **limits):
    return MessageParser(Limits(**limits), now_us=NOW_US)(data)


def dead(data, **limits) -> DeadLetter:
    out = parse(data, **limits)
    assert isinstance(out, DeadLetter), out
    assert out.reason and len(out.excerpt) <= EXCERPT_CHARS
    return out


def test_a_post_and_a_skip():
    post = parse(orjson.dumps(event()))
    assert isinstance(post, PostData) and post.event_time_us == T_US
    assert parse(orjson.dumps({"did": "did:plc:a", "time_us": 1, "kind": "identity"})) is NON_POST
    assert isinstance(NON_POST, Skip)


def test_time_us_wins_and_a_bad_created_at_does_not_cost_the_post():
    for created in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:59", "not a time", None, 5):
        post = parse(orjson.dumps(record(createdAt=created)))
        assert isinstance(post, PostData) and post.event_time_us == T_US, created


@pytest.mark.parametrize("created, why", [
    ("0001-01-01T00:00:00+01:00", "commit.record.createdAt is out of range"),
    ("9999-12-31T23:59:59-23:59", "commit.record.createdAt is out of range"),
    ("2020-01-01T00:00:00Z", "before Bluesky existed"),
    ("2027-01-01T00:00:00Z", "ahead of now"),
    ("garbage", "is not an ISO 8601 time"),
])
def test_created_at_without_time_us_follows_the_policy(created, why):
    e = record(createdAt=created)
    del e["time_us"]
    assert why in dead(orjson.dumps(e)).reason


@pytest.mark.parametrize("time_us, why", [
    (0, "before Bluesky existed"), (BLUESKY_START_US - 1, "before Bluesky existed"),
    (2**64 - 1, "time_us must be"), (-5, "time_us must be"), ("1", "time_us must be"), (True, "time_us must be"),
    (NOW_US + 601_000_000, "more than 600 s ahead of now"), (32_503_680_000_000_000, "ahead of now"),
])
def test_time_us_out_of_range_is_a_dead_letter(time_us, why):
    assert why in dead(orjson.dumps(event(time_us=time_us))).reason


def test_margin_ahead_is_accepted_and_configurable():
    assert isinstance(parse(orjson.dumps(event(time_us=NOW_US + 599_000_000))), PostData)
    assert "more than 60 s" in dead(orjson.dumps(event(time_us=NOW_US + 61_000_000)), max_future_s=60).reason


@pytest.mark.parametrize("data, why", [
    (b"\xff\xfe{}", "not valid UTF-8 (byte 0xff at offset 0)"),
    (b'{"text": "caf\xe9"}', "not valid UTF-8 (byte 0xe9 at offset 13)"),
    (b"{broken", "not valid JSON"),
    (b"", "empty"), (None, "empty"), (b"   ", "empty"),
    (b"[1, 2]", "must be a JSON object"), (b'"x"', "not a JSON object"), (b"5", "JSON object"),
    (b"[" * 5000 + b"]" * 5000, "not valid JSON"),
    ("caf\udc80", "lone surrogate"),
])
def test_bytes_that_are_not_a_message(data, why):
    assert why in dead(data).reason


@pytest.mark.parametrize("over, why", [
    ({"facets": [{"features": [{"$type": 5}]}]}, None),
    ({"facets": [{"features": 5}]}, None),
    ({"facets": 5}, None),
    ({"reply": {"parent": {"uri": 5}}}, None),
    ({"text": 5}, "commit.record.text must be a string"),
    ({"langs": "en"}, "commit.record.langs must be a list of strings"),
])
def test_odd_shapes_inside_a_post(over, why):
    out = parse(orjson.dumps(record(**over)))
    if why is None:
        assert isinstance(out, PostData)
    else:
        assert isinstance(out, DeadLetter) and why in out.reason


def test_a_bom_costs_nothing():
    assert isinstance(parse(b"\xef\xbb\xbf" + orjson.dumps(event())), PostData)


def test_size_cap_keeps_a_bounded_excerpt():
    big = orjson.dumps(record(text="x" * 1_000_000))
    d = dead(big)
    assert "more than the 262,144-byte limit" in d.reason and d.size == len(big)
    assert len(d.excerpt) == EXCERPT_CHARS and d.excerpt.endswith("…")
    assert isinstance(parse(big, max_message_bytes=2_000_000), PostData)
    assert "1,000 bytes" in dead(orjson.dumps(record(text="x" * 1000))[:1000].ljust(1000, b" "),
                                 max_message_bytes=999).reason


def test_keyword_cap():
    p = MessageParser(Limits(max_keywords=3), now_us=NOW_US)
    post = p(orjson.dumps(event()))
    assert p.keyword_cap(post, ["a", "b", "c"]) is None
    d = p.keyword_cap(post, ["a", "b", "c", "d"])
    assert "4 keywords, more than the limit of 3" in d.reason and d.excerpt == "hello world"
    # phrases do not count toward the cap: three words and any number of phrases is a post
    assert p.keyword_cap(post, ["a", "b", "c", "a b", "b c", "c a", "a c"]) is None
    d = p.keyword_cap(post, ["a", "b", "c", "d", "a b"])
    assert "4 keywords, more than the limit of 3" in d.reason


def test_phrases_over_the_cap_are_dropped_deterministically():
    assert cap_phrases(["a", "b", "a b"], 3) == ["a", "b", "a b"]
    kws = ["a", "b", "c", "a b", "b c", "c a", "a c", "c b"]
    assert cap_phrases(kws, 3) == ["a", "b", "c", "a b", "b c", "c a"]  # the first three phrases
    assert word_count(kws) == 3
    p = MessageParser(Limits(max_keywords=3), now_us=NOW_US)
    text = "alpha beta gamma alpha gamma beta alpha"  # 3 words, 6 distinct pairs
    post, keywords = p.post_keywords(orjson.dumps(record(text=text)), KeywordExtractor())
    assert keywords == ["alpha", "beta", "gamma", "alpha beta", "beta gamma", "gamma alpha"]
    assert isinstance(p.post_keywords(orjson.dumps(record(text=text + " delta")), KeywordExtractor()), DeadLetter)


def test_limits_from_settings_and_refused_values():
    limits = Limits.from_settings(Settings.from_env({"TRENDLAB_MAX_KEYWORDS": "7", "TRENDLAB_MAX_FUTURE_S": "5"}))
    assert (limits.max_keywords, limits.max_future_s, limits.max_message_bytes) == (7, 5, 262_144)
    from trendlab.errors import ConfigError

    with pytest.raises(ConfigError, match="TRENDLAB_MAX_MESSAGE_BYTES must be a positive integer"):
        Settings.from_env({"TRENDLAB_MAX_MESSAGE_BYTES": "0"})
    with pytest.raises(ConfigError, match="TRENDLAB_MAX_KEYWORDS"):
        Limits(max_keywords=0)


def test_dead_letter_record_and_live_clock():
    d = dead(b"{")
    assert orjson.loads(d.to_json(line=3)) == {"message": "{", "error": d.reason, "size": 1, "line": 3}
    assert isinstance(parse_message(orjson.dumps(event())), PostData)  # the wall clock is past 2026-01-01
