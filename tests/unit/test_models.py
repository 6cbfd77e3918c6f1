from datetime import datetime, timezone

import orjson
import pytest

from trendlab.core.models import MalformedPost, PostData, TrendAlert, WindowedKeywordCount, parse_post

DID = "did:plc:abcdefghijklmnopqrstuvwx"


def jetstream(**over):
    event = {
        "did": DID,
        "time_us": 1725911162329308,
        "kind": "commit",
        "commit": {
            "rev": "3l3qo2vuowo2b",
            "operation": "create",
            "collection": "app.bsky.feed.post",
            "rkey": "3l3qo2vutsw2b",
            "record": {
                "$type": "app.bsky.feed.post",
                "createdAt": "2024-09-09T19:46:02.102Z",
                "langs": ["en"],
                "text": "Go #SuperBowl with @alice.bsky.social",
                "facets": [
                    {"features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "SuperBowl"}]},
                    {"features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:alice"}]},
                ],
                "reply": {"parent": {"uri": "at://did:plc:x/app.bsky.feed.post/1", "cid": "c"},
                          "root": {"uri": "at://did:plc:x/app.bsky.feed.post/0", "cid": "c"}},
            },
            "cid": "bafyreib",
        },
    }
    event.update(over)
    return event


def test_post_from_jetstream():
    post = PostData.from_jetstream(jetstream())
    assert post.uri == f"at://{DID}/app.bsky.feed.post/3l3qo2vutsw2b"
    assert post.author_did == DID
    assert post.language == "en"
    assert post.hashtags == ["SuperBowl"]
    assert post.mentions == ["did:plc:alice"]
    assert post.reply_to == "at://did:plc:x/app.bsky.feed.post/1"
    assert post.created_at == datetime(2024, 9, 9, 19, 46, 2, 102000, tzinfo=timezone.utc)
    assert post.event_time_us == 1725911162329308  # time_us wins over createdAt


def test_event_time_falls_back_to_created_at():
    event = jetstream()
    del event["time_us"]
    post = PostData.from_jetstream(event)
    assert post.event_time_us == 1725911162102000


@pytest.mark.parametrize(
    "event",
    [
        {"did": DID, "time_us": 1, "kind": "commit", "commit": {"operation": "create", "collection": "app.bsky.feed.like", "rkey": "x", "record": {}}},
        {"did": DID, "time_us": 1, "kind": "commit", "commit": {"operation": "delete", "collection": "app.bsky.feed.post", "rkey": "x"}},
        {"did": DID, "time_us": 1, "kind": "identity", "identity": {}},
        {"did": DID, "time_us": 1, "kind": "account", "account": {}},
    ],
)
def test_non_posts_are_not_posts(event):
    assert PostData.from_jetstream(event) is None
    assert parse_post(orjson.dumps(event)) is None


def test_json_round_trip():
    post = PostData.from_jetstream(jetstream())
    again = PostData.from_json(post.to_json())
    assert again == post
    count = WindowedKeywordCount("#SuperBowl", 5, post.created_at, post.created_at, 4)
    assert count.normalized_keyword == "#superbowl"
    assert WindowedKeywordCount.from_json(count.to_json()) == WindowedKeywordCount(
        "#SuperBowl", 5, count.window_start.replace(microsecond=102000), count.window_end.replace(microsecond=102000), 4)
    alert = TrendAlert("#superbowl", post.created_at, post.created_at, 40, 30, 2.5, 7.25, ["touchdown"], "en")
    assert TrendAlert.from_json(alert.to_json()) == alert
    assert orjson.loads(alert.to_json())["window_end"].endswith("Z")


@pytest.mark.parametrize(
    "line,field,value",
    [
        (b"{not json", "line", "{not json"),
        (b"[1,2]", "line", "[1, 2]"),
        (orjson.dumps(jetstream(did="alice")), "author_did", "alice"),
        (orjson.dumps({**jetstream(), "time_us": "soon"}), "time_us", "soon"),
        (orjson.dumps({"uri": "at://x", "author_did": DID, "text": "hi", "created_at": "yesterday"}), "created_at", "yesterday"),
        (orjson.dumps({"uri": "at://x", "author_did": DID, "created_at": "2024-01-01T00:00:00Z"}), "text", None),
        (orjson.dumps({"uri": "at://x", "author_did": DID, "text": 5, "created_at": "2024-01-01T00:00:00Z"}), "text", 5),
    ],
)
def test_malformed_posts_name_field_and_value(line, field, value):
    with pytest.raises(MalformedPost) as info:
        parse_post(line)
    assert info.value.field.endswith(field)
    assert repr(value)[:20].strip("'") in str(info.value)


def test_malformed_jetstream_record():
    event = jetstream()
    event["commit"]["record"]["text"] = None
    with pytest.raises(MalformedPost, match="commit.record.text is missing"):
        PostData.from_jetstream(event)
    event = jetstream()
    event["commit"]["record"]["createdAt"] = "not a time"
    event.pop("time_us")
    with pytest.raises(MalformedPost, match="commit.record.createdAt is not an ISO 8601 time: 'not a time'"):
        PostData.from_jetstream(event)
