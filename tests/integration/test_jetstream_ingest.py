"""``trendlab jetstream ingest`` on the real stack: a local v1 server → the ingester → Kafka → Flink.

* **kill -9 and restart**: the ingester dies mid-stream (SIGKILL, in-flight records and all) and is
  started again; it resumes from the cursor kept in Kafka and the posts topic holds every post of the
  recorded file once (key = DID, timestamp = ``time_us // 1000``), the dead-letter topic every
  malformed message once; the deployed Flink job's counts and alerts on that topic equal
  ``trendlab replay`` on the source file; the Prometheus metrics (lag, cursor, bad frames) are right;
  SIGTERM flushes and exits 0.
* **Kafka unavailable**: the broker is stopped while events flow; the ingester holds its cursor,
  waits, and after the broker is back the topic again holds every post once.
"""

from __future__ import annotations

import bisect
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

import orjson
import pytest
from jetstream_server import JetstreamServer
from test_flink_deployed import assert_same_output, deploy, expected, job_settings, params  # noqa: F401

from trendlab.config import Settings
from trendlab.jetstream.subscriber import Event, FrameDecoder
from waiting import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "samples" / "small" / "posts.jsonl"


@pytest.fixture(scope="module")
def sample(tmp_path_factory, add_malformed) -> Path:
    """The recorded file the server replays: the small sample with the three malformed messages the job
    tests use (broken JSON, a non-object, a post without text). ``expected`` (trendlab replay on it)
    comes from test_flink_deployed."""
    path = tmp_path_factory.mktemp("jetstream-source") / "posts.jsonl"
    path.write_bytes(SAMPLE.read_bytes())
    add_malformed(path)
    return path


@pytest.fixture(scope="module")
def expected_posts(sample) -> list[bytes]:
    from trendlab.core.models import PostData
    from trendlab.core.parse import MessageParser

    parse = MessageParser()
    return [line for line in sample.read_bytes().splitlines() if parse(line).__class__ is PostData]


@pytest.fixture
def ingest_settings(job_settings):
    """The test's own topics (job_settings) and, afterwards, no leftover cursor topic."""
    yield job_settings
    from trendlab.jetstream.ingest import cursor_topic_for
    from trendlab.kafka import delete_topics

    delete_topics(job_settings[0], [cursor_topic_for(job_settings[0].kafka_topic_posts)])


# -- helpers ------------------------------------------------------------------------------------

def start_ingest(settings: Settings, url: str, metrics_port: int, *extra: str) -> subprocess.Popen:
    env = {**os.environ, **settings.to_env()}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    log = tempfile.TemporaryFile(mode="w+")  # not a pipe: nobody reads it while the ingester runs
    proc = subprocess.Popen([sys.executable, "-m", "trendlab.cli", "jetstream", "ingest", "--url", url,
                             "--stall-timeout", "5", "--progress", "0.5", "--metrics-port", str(metrics_port),
                             *extra], env=env, stderr=log, text=True)
    proc.log = log
    return proc


def stderr_of(proc: subprocess.Popen) -> str:
    proc.log.seek(0)
    return proc.log.read()


def topic_records(settings: Settings, topic: str, timeout: float = 5.0) -> list:
    """Every record of ``topic`` (all partitions, uncommitted too: the ingester does not use transactions)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                             enable_auto_commit=False, auto_offset_reset="earliest")
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        out = []
        deadline = time.monotonic() + timeout + 30
        while any(consumer.position(tp) < ends[tp] for tp in tps) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                out.extend(records)
        return out
    finally:
        consumer.close()


def topic_size(settings: Settings, topic: str) -> int:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None)
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        return sum(consumer.end_offsets(tps).values()) if tps else 0
    finally:
        consumer.close()


def wait_until(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the ingester exited ({proc.returncode}) before {what}: {stderr_of(proc)[-2000:]}")
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def wait_for_posts(settings: Settings, count: int, proc: subprocess.Popen, what: str, timeout: float = 120) -> None:
    wait_until(lambda: topic_size(settings, settings.kafka_topic_posts) >= count, timeout, what, proc)


def stop_ingest(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    err = stderr_of(proc)
    assert proc.returncode == 0, err[-3000:]
    return err


def metrics(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    values = {}
    for line in text.splitlines():
        m = re.match(r"^(trendlab_jetstream_\w+(?:\{[^}]*\})?) (\S+)$", line)
        if m:
            values[m.group(1)] = float(m.group(2))
    return values


def assert_every_post_once(settings: Settings, expected_posts: list[bytes]) -> list:
    records = topic_records(settings, settings.kafka_topic_posts)
    got = Counter(r.value for r in records)
    dupes = [v[:80] for v, n in got.items() if n > 1]
    assert not dupes, f"{len(dupes)} posts twice in the topic, e.g. {dupes[:3]}"
    missing = [v[:80] for v in expected_posts if v not in got]
    assert not missing, f"{len(missing)} posts missing from the topic, e.g. {missing[:3]}"
    assert len(records) == len(expected_posts)
    by_partition: dict[int, list] = {}
    for r in records:
        event = orjson.loads(r.value)
        assert r.key == event["did"].encode() and r.timestamp == event["time_us"] // 1000
        by_partition.setdefault(r.partition, []).append((r.offset, event["time_us"]))
    for partition, rows in by_partition.items():
        times = [t for _, t in sorted(rows)]
        assert times == sorted(times), f"partition {partition} out of time order"
    return records


# -- tests --------------------------------------------------------------------------------------

def test_kill_9_and_restart_every_event_once_and_the_job_equals_replay(ingest_settings, sample, expected_posts,
                                                                         expected, params):
    settings, jobs = ingest_settings
    metrics_port = free_port()
    with JetstreamServer(sample, rate=1500) as server:
        first = start_ingest(settings, server.url, metrics_port)
        wait_for_posts(settings, len(expected_posts) // 3, first, "a third of the posts in Kafka")
        first.kill()  # SIGKILL: no flush, no final cursor, records in flight
        first.wait(timeout=30)
        killed_at = topic_size(settings, settings.kafka_topic_posts)
        assert 0 < killed_at < len(expected_posts), "the kill should land mid-stream"

        first_connections = len(server.connections)
        second = start_ingest(settings, server.url, metrics_port)
        wait_until(lambda: topic_size(settings, settings.kafka_topic_posts) >= len(expected_posts)
                   and topic_size(settings, settings.kafka_topic_dead_letter) >= 3, 180,
                   "every post and dead letter in Kafka", second)
        last_time_us = max(e.time_us for e in server.events)
        wait_until(lambda: metrics(metrics_port).get("trendlab_jetstream_cursor_time_us") == last_time_us, 60,
                   "the cursor at the last event", second)
        # the lag is now minus the last event's time_us, computed when scraped
        before = time.time()
        m = metrics(metrics_port)
        after = time.time()
        assert m["trendlab_jetstream_last_event_time_us"] == last_time_us
        assert before - last_time_us / 1e6 - 0.01 <= m["trendlab_jetstream_lag_seconds"] <= after - last_time_us / 1e6 + 0.01
        # bad frames: exactly the frames that are not events among those served to the second ingester
        start = bisect.bisect_left(server.times, server.connections[first_connections]["cursor"])
        not_events = sum(1 for e in server.events[start:] if not isinstance(FrameDecoder.decode_json(e.raw), Event))
        assert sum(v for k, v in m.items() if k.startswith("trendlab_jetstream_bad_frames_total")) == not_events
        assert m["trendlab_jetstream_kafka_up"] == 1
        assert server.connections[first_connections]["cursor"] is not None, \
            "the restarted ingester must subscribe from the cursor kept in Kafka"
        err = stop_ingest(second)
    assert "jetstream ingest:" in err and "events (" in err and "lag " in err
    assert "duplicates dropped" in err

    records = assert_every_post_once(settings, expected_posts)
    dead = [orjson.loads(r.value) for r in topic_records(settings, settings.kafka_topic_dead_letter)]
    assert len(dead) == 3 and all(d["error"] for d in dead), dead
    assert sum("bad Jetstream frame" in d["error"] for d in dead) == 2  # broken JSON, a non-object

    # the Flink job on what the ingester wrote equals trendlab replay on the source file
    from trendlab.kafka import advance_watermark

    deploy(settings, jobs, params[1])
    advance_watermark(settings, settings.kafka_topic_posts, max(r.timestamp for r in records) + 24 * 3600 * 1000)
    assert_same_output(settings, expected, 3)


def test_kafka_unavailable_holds_the_cursor_and_resumes_without_loss(ingest_settings, sample, expected_posts):
    from trendlab.stack import broker as stack_kafka

    settings, _ = ingest_settings
    metrics_port = free_port()
    with JetstreamServer(sample, rate=800) as server:
        proc = start_ingest(settings, server.url, metrics_port)
        wait_for_posts(settings, len(expected_posts) // 4, proc, "a quarter of the posts in Kafka")
        stack_kafka.stop(settings)
        try:
            wait_until(lambda: metrics(metrics_port).get("trendlab_jetstream_kafka_up") == 0, 90,
                       "the ingester to notice Kafka is gone", proc)
        finally:
            stack_kafka.start(settings)
        wait_for_posts(settings, len(expected_posts), proc, "every post in Kafka after the outage", 240)
        time.sleep(2)  # a late duplicate would show
        err = stop_ingest(proc)
    assert "Kafka" in err
    assert_every_post_once(settings, expected_posts)


def test_an_abandoned_producer_sends_nothing_when_kafka_returns(ingest_settings):
    """What the ingester drops when Kafka goes away stays dropped: the records still pending in the
    abandoned producer are failed, its I/O thread is stopped, and none of them reaches the topic when the
    broker is back (else the next session, which reads the topic back before resending from its cursor,
    would be followed by these late copies: duplicates). kafka-python's own ``close(timeout=0)`` left the
    thread running and delivering."""
    from trendlab.jetstream.ingest import KafkaSink
    from trendlab.kafka import producer as make_producer
    from trendlab.stack import broker as stack_kafka

    settings, _ = ingest_settings
    topic = settings.kafka_topic_posts
    sink = KafkaSink(settings, topic, flush_timeout=3)
    sink.open()
    now_ms = int(time.time() * 1000)
    sink._send(topic, b'{"n": "delivered"}', None, now_ms)
    sink._flush()
    stack_kafka.stop(settings)
    try:
        for i in range(200):
            sink._send(topic, orjson.dumps({"n": i}), None, now_ms + i)  # pending: nobody to take them
        sender = sink.producer._sender
        assert sender.is_alive()
        sink.abandon()
        assert sink.producer is None
        assert not sender.is_alive(), "the abandoned producer's I/O thread is still running"
    finally:
        stack_kafka.start(settings)
    marker = make_producer(settings)
    try:
        marker.send(topic, value=b'{"n": "after"}').get(timeout=60)
    finally:
        marker.close()
    time.sleep(3)  # the old producer retries within its delivery timeout (32 s): give it a chance to show
    values = sorted(r.value for r in topic_records(settings, topic))
    assert values == [b'{"n": "after"}', b'{"n": "delivered"}']
