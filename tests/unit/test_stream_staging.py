"""What ``trendlab produce`` sends (pure part: reading and ordering a posts file)."""

from __future__ import annotations

import base64
import json

import orjson
import pytest

from trendlab.cli.cluster import _non_negative
from trendlab.staging import read_stream, stage_stream


def _jetstream(did: str, time_us: int | None, text: str, created: str = "2026-01-01T00:00:00Z", rkey: str = "k") -> str:
    event = {
        "did": did, "kind": "commit",
        "commit": {"operation": "create", "collection": "app.bsky.feed.post", "rkey": rkey,
                   "record": {"text": text, "createdAt": created, "langs": ["en"]}},
    }
    if time_us is not None:
        event["time_us"] = time_us
    return json.dumps(event)


@pytest.fixture
def stream_file(tmp_path):
    lines = [
        '{"kind": "commit", "did": "broken',  # malformed before any post
        _jetstream("did:plc:a", 1_767_225_602_000_000, "second post", rkey="2"),
        _jetstream("did:plc:b", 1_767_225_601_000_500, "first post", rkey="1"),
        json.dumps({"did": "did:plc:c", "time_us": 1, "kind": "commit",
                    "commit": {"operation": "create", "collection": "app.bsky.feed.like", "rkey": "x", "record": {}}}),
        "not json",  # malformed after a post: takes that post's timestamp
        # flat PostData without time_us: event time from created_at
        json.dumps({"uri": "at://did:plc:d/app.bsky.feed.post/3", "author_did": "did:plc:d", "text": "flat",
                    "created_at": "2026-01-01T00:00:03.250Z"}),
        "",
    ]
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_records_in_event_time_order_with_record_timestamp(stream_file):
    records, stats = read_stream(stream_file)
    assert (stats.posts, stats.malformed, stats.skipped) == (3, 2, 1)
    good = [r for r in records if not r.malformed]
    assert [r.timestamp_ms for r in good] == [1_767_225_601_000, 1_767_225_602_000, 1_767_225_603_250]
    assert [r.key for r in good] == [b"did:plc:b", b"did:plc:a", b"did:plc:d"]
    assert all(r.key is None for r in records if r.malformed)
    # timestamps never go backwards, so malformed records cannot move the watermark
    assert [r.timestamp_ms for r in records] == sorted(r.timestamp_ms for r in records)
    assert "line 1" in stats.examples[0]


def test_skip_malformed(stream_file):
    records, stats = read_stream(stream_file, keep_malformed=False)
    assert stats.malformed == 2 and not any(r.malformed for r in records) and len(records) == 3


def test_stage_stream_keeps_the_raw_line(stream_file, tmp_path):
    target = tmp_path / "staged.jsonl"
    stage_stream(stream_file, target)
    rows = [orjson.loads(line) for line in target.read_bytes().splitlines()]
    assert len(rows) == 5
    originals = set(stream_file.read_text().splitlines())
    assert all(base64.b64decode(row["message"]).decode() in originals for row in rows)
    assert [row["ts"] for row in rows] == sorted(row["ts"] for row in rows)


def test_missing_input_is_a_one_line_error(tmp_path):
    from trendlab.errors import InputError

    with pytest.raises(InputError, match="input file not found"):
        read_stream(tmp_path / "nope.jsonl")


def test_rate_flag_validation():
    assert _non_negative("--rate")("250") == 250.0
    with pytest.raises(ValueError, match="--rate must be a number"):
        _non_negative("--rate")("fast")
    with pytest.raises(ValueError, match="--rate must be >= 0"):
        _non_negative("--rate")("-1")


def test_watermark_event_is_a_valid_non_post():
    from trendlab.kafka import WATERMARK_EVENT
    from trendlab.core.models import parse_post

    assert parse_post(WATERMARK_EVENT % 1_700_000_000_000_000) is None
