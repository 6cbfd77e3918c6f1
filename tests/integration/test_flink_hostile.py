"""The proof on the real stack (issue 10): a hostile corpus cannot stop the deployed job or cost a post.

5,000 good posts of the small sample with hundreds of hostile messages of every kind mixed in, sent as
raw bytes through the Kafka client (not through ``produce``, which would vet them first): the job stays
RUNNING with zero restarts, every bad message lands in the dead-letter topic with its reason, and the
window counts and alerts equal ``trendlab replay`` on the good posts alone. ``produce`` is held to its
promises on a topic whose broker limit refuses one record: the refusal is reported with its line
number, dead-lettered, its batch-mates delivered, and the exit status says so.
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

import orjson
import pytest

from test_flink_deployed import (  # noqa: F401  (fixtures)
    assert_same_output, close_all_windows, deploy, job_settings, params)

pytestmark = pytest.mark.integration

SMALL = Path(__file__).resolve().parents[2] / "data" / "samples" / "small" / "posts.jsonl"
GOOD_POSTS = 5_000
PER_KIND = 25
YEAR_US = 365 * 86_400_000_000


def _post(time_us: int | None, i: int, **record) -> dict:
    e = {"did": f"did:plc:hostile{i}", "kind": "commit",
         "commit": {"operation": "create", "collection": "app.bsky.feed.post", "rkey": f"h{i}",
                    "record": {"text": f"hostile post number {i} about zebras", **record}}}
    if time_us is not None:
        e["time_us"] = time_us
    return e


def hostile_kinds(t_us: int, i: int) -> dict[str, bytes | None]:
    """One message of each bad kind (dead letters) for a post time ``t_us``."""
    no_time = lambda **r: orjson.dumps(_post(None, i, **r))  # noqa: E731
    return {
        "invalid UTF-8": b"\xff\xfe\xfa" + bytes([i % 256]) + b"\x80",
        "Latin-1 byte in a post": orjson.dumps(_post(t_us, i)).replace(b"zebras", b"z\xe9bras"),
        "createdAt 0001 +01:00, no time_us": no_time(createdAt="0001-01-01T00:00:00+01:00"),
        "createdAt 9999 -23:59, no time_us": no_time(createdAt="9999-12-31T23:59:59-23:59"),
        "createdAt before Bluesky": no_time(createdAt="2019-06-01T00:00:00Z"),
        "time_us 0": orjson.dumps(_post(0, i)),
        "time_us 2^64-1": orjson.dumps(_post(2**64 - 1, i)),
        "time_us year 3000": orjson.dumps(_post(32_503_680_000_000_000, i)),
        "time_us a year ahead of now": orjson.dumps(_post(time.time_ns() // 1000 + YEAR_US, i)),
        "not JSON": b'{"kind": "commit", "did": "broken' + str(i).encode(),
        "JSON, not an object": [b"[1, 2, 3]", b'"text"', b"5", b"null"][i % 4],
        "post without text": orjson.dumps(_post(t_us, i, text=None)),
        "text not a string": orjson.dumps(_post(t_us, i, text=5)),
        "empty message": b"",
        "null value": None,
        "nested 5,000 deep": b"[" * 5000 + b"]" * 5000,
        "over the size cap (300 KB)": orjson.dumps(_post(t_us, i, text="word " * 60_000)),
        "over the keyword cap": orjson.dumps(_post(t_us, i, text=" ".join(f"kw{i}x{j}" for j in range(400)))),
    }


def odd_but_valid(t_us: int, i: int) -> dict[str, bytes]:
    """Messages that used to crash a command but are posts: they must count like any post."""
    return {
        "facet $type 5": orjson.dumps(_post(t_us, i, facets=[{"features": [{"$type": 5}]}])),
        "features 5": orjson.dumps(_post(t_us, i, facets=[{"features": 5}])),
        "bad createdAt with time_us": orjson.dumps(_post(t_us, i, createdAt="0001-01-01T00:00:00+01:00")),
        "byte-order mark": b"\xef\xbb\xbf" + orjson.dumps(_post(t_us, i)),
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """(good posts file, mixed records [(timestamp ms, key, value)], bad count per kind, odd-valid lines)."""
    from trendlab.kafka import read_stream

    out = tmp_path_factory.mktemp("hostile")
    lines, posts = [], 0
    for line in SMALL.read_bytes().splitlines():
        if b'"app.bsky.feed.post"' in line and b'"create"' in line:
            if posts == GOOD_POSTS:
                break
            posts += 1
        lines.append(line)
    good = out / "good.jsonl"
    good.write_bytes(b"\n".join(lines) + b"\n")
    records, stats = read_stream(good)
    assert stats.posts == GOOD_POSTS and stats.malformed == 0
    mixed = [(r.timestamp_ms, r.key, r.value) for r in records]
    n_kinds = len(hostile_kinds(0, 0))
    step = len(records) // (PER_KIND * (n_kinds + 4) + 1)
    bad: dict[str, int] = {}
    odd: list[bytes] = []
    inserts = []
    for i in range(PER_KIND):
        for j, (kind, msg) in enumerate([*hostile_kinds(0, i).items(), *odd_but_valid(0, i).items()]):
            at = step * (1 + i * (n_kinds + 4) + j)
            t_ms = records[at].timestamp_ms  # a neighbour's time: a producer following the policy
            t_us = t_ms * 1000 + 1
            table = {**hostile_kinds(t_us, i), **odd_but_valid(t_us, i)}
            key = b"hostile" if table[kind] is None else None  # Kafka needs a key or a value
            inserts.append((at, (t_ms, key, table[kind])))
            if kind in hostile_kinds(0, 0):
                bad[kind] = bad.get(kind, 0) + 1
            else:
                odd.append(table[kind])
    for at, rec in sorted(inserts, key=lambda x: -x[0]):
        mixed.insert(at, rec)
    # the good posts plus the odd-but-valid ones, for replay (timestamps keep them in place)
    expected = out / "expected.jsonl"
    expected.write_bytes(b"\n".join(lines + odd) + b"\n")
    return expected, mixed, bad, odd


@pytest.fixture(scope="module")
def expected_output(corpus, params):
    from trendlab.replay import replay

    result = replay(corpus[0], params[0], progress=False, workers=1)
    assert result.posts.malformed == 0 and len(result.posts) == GOOD_POSTS + len(corpus[3])
    frame = result.counts.copy()
    for col in ("window_start", "window_end"):
        frame[col] = frame[col].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    counts = frame.set_index(["keyword", "window_start", "window_end"])[["count", "unique_authors", "unique_contents"]].sort_index()
    return counts, [a.to_dict() for a in result.alerts]


@pytest.mark.parametrize("stamps", ["neighbour", "send time"])
def test_hostile_corpus_never_stops_the_job(job_settings, params, corpus, expected_output, stamps):
    """``stamps``: each record's Kafka timestamp is its neighbour's event time (a producer that follows the
    policy) or the client's send time (a foreign producer; issue 21: the first minutes' windows lost
    14-38 % of their posts while the job timed posts by the record)."""
    from kafka import KafkaProducer

    from trendlab.flink.rest_client import FlinkClient
    from trendlab.kafka import consume_json
    from trendlab.kafka import StreamRecord

    settings, jobs = job_settings
    _, mixed, bad, odd = corpus
    n_bad = sum(bad.values())
    assert n_bad >= 300 and len(bad) == len(hostile_kinds(0, 0))
    job_id = deploy(settings, jobs, params[1])

    prod = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", linger_ms=20,
                         max_request_size=1_048_576)
    futures = [prod.send(settings.kafka_topic_posts, value=v, key=k, timestamp_ms=t if stamps == "neighbour" else None)
               for t, k, v in mixed]
    prod.flush(timeout=120)
    prod.close(timeout=10)
    assert not [f for f in futures if f.failed()], "the broker refused raw messages"
    close_all_windows(settings, [StreamRecord(t, k, v or b"") for t, k, v in mixed])

    assert_same_output(settings, expected_output, n_bad)
    dead = consume_json(settings, settings.kafka_topic_dead_letter, from_beginning=True, timeout=3)
    reasons = [d["error"] for d in dead]
    assert all(r and len(d["message"]) <= 300 for r, d in zip(reasons, dead))
    for phrase, kind in [("not valid UTF-8", "invalid UTF-8"), ("out of range", "createdAt 0001 +01:00, no time_us"),
                         ("before Bluesky existed", "time_us 0"), ("time_us must be", "time_us 2^64-1"),
                         ("ahead of now", "time_us year 3000"), ("not valid JSON", "not JSON"),
                         ("empty", "empty message"), ("262,144-byte limit", "over the size cap (300 KB)"),
                         ("keywords, more than the limit", "over the keyword cap"),
                         ("commit.record.text", "post without text")]:
        assert sum(phrase in r for r in reasons) >= bad[kind], (phrase, kind)
    with FlinkClient.from_settings(settings) as client:
        assert client.job_state(job_id) == "RUNNING"
        assert client.restarts(job_id) == 0
        assert client.exceptions(job_id) == []
    print(f"\nhostile corpus: {GOOD_POSTS:,} good posts + {len(odd)} odd-but-valid posts + {n_bad} bad messages "
          f"({len(bad)} kinds: {', '.join(f'{k} {v}' for k, v in bad.items())}); dead letters {len(dead)}; "
          "restarts 0; differing windows 0", file=sys.stderr)


def test_produce_reports_refusals_and_loses_nothing(live_stack, stack_settings, tmp_path):
    """A topic whose broker limit (max.message.bytes 4000) refuses one 6 KB post of the file."""
    import subprocess

    from kafka.admin import KafkaAdminClient, NewTopic

    from trendlab.kafka import consume, consume_json, delete_topics

    suffix = uuid.uuid4().hex[:8]
    settings = stack_settings.replace(kafka_topic_posts=f"it-produce-{suffix}", kafka_topic_dead_letter=f"it-pdlq-{suffix}")
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    admin.create_topics([NewTopic(settings.kafka_topic_posts, 1, 1, topic_configs={"max.message.bytes": "4000"})])
    admin.close()
    lines = SMALL.read_bytes().splitlines()[:400]
    t_us = orjson.loads(lines[100])["time_us"]
    big = orjson.dumps(_post(t_us, 1, text="long " * 1200))
    lines[100:100] = [big, b"{not json", b"x" * 300_000]
    path = tmp_path / "posts.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    env = settings.to_env()
    import os

    try:
        done = subprocess.run([sys.executable, "-m", "trendlab.cli", "produce", str(path)], env={**os.environ, **env},
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 1, done.stderr
        report = done.stderr.strip()
        assert "REFUSED 1 records (line 101:" in report and "Traceback" not in report, report
        held = list(consume(settings, settings.kafka_topic_posts, from_beginning=True, timeout=3))
        posts = sum(1 for line in lines if b'"app.bsky.feed.post"' in line and b'"create"' in line) - 1
        assert f"sent {len(held):,} records" in report and len(held) == posts + 1  # + {not json, for the job
        assert big not in held
        dead = consume_json(settings, settings.kafka_topic_dead_letter, from_beginning=True, timeout=3)
        assert sorted(d["line"] for d in dead) == [101, 103], dead
        assert any("refused" in d["error"] for d in dead) and any("byte limit" in d["error"] for d in dead)
    finally:
        delete_topics(settings, [settings.kafka_topic_posts, settings.kafka_topic_dead_letter])
