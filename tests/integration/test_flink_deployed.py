"""The job deployed through the Flink REST API on the real stack equals the replay engine.

Kafka → Flink standalone cluster (p = FLINK_PARALLELISM, RocksDB, checkpoints on MinIO) → Kafka,
read back with ``read_committed``:

* **parity**: every window count and every alert equal ``trendlab replay`` on the same posts;
* **recovery**: the TaskManager is killed (``kill -9``) mid-stream and started again; the job restores
  its last checkpoint from MinIO and the committed output has no duplicate and no missing window;
* **savepoint**: stop with a savepoint mid-stream, resume from it: the same output.

Each test has its own topics (and so its own consumer group and transactional ids, see
:func:`trendlab.flink.sql.kafka_ids`). After the last post a non-post event far in the future goes to
every partition (:func:`trendlab.kafka.advance_watermark`) so that every window closes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest

from trendlab.config import Settings
from trendlab.core.detect import DetectionParams
from trendlab.params_files import write_params
from waiting import wait_for

pytestmark = pytest.mark.integration

PARAMS = dict(window="10m", slide="1m", baseline_windows=10, min_count=4, min_authors=3, min_ratio=2.0,
              min_score=2.0, cooldown_windows=10)
CHECKPOINT_MS = 2000
RESULT_TIMEOUT_S = 180


# -- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample(tmp_path_factory, add_malformed) -> Path:
    """A labelled 1.5 h stream (~16k posts, trends in it) with three malformed messages."""
    from trendlab.samples import generate

    out = tmp_path_factory.mktemp("deployed-sample")
    generate(out, hours=1.5, rate=3, seed=11)
    path = out / "posts.jsonl"
    add_malformed(path)
    return path


@pytest.fixture(scope="module")
def params(tmp_path_factory) -> tuple[DetectionParams, Path]:
    p = DetectionParams(**PARAMS)
    path = tmp_path_factory.mktemp("params") / "params.yaml"
    write_params(p, path)
    return p, path


@pytest.fixture(scope="module")
def expected(sample, params):
    """``trendlab replay`` on the same posts: (counts indexed by keyword/window, alert dicts)."""
    from trendlab.replay import replay

    result = replay(sample, params[0], progress=False)
    frame = result.counts.copy()
    for col in ("window_start", "window_end"):
        frame[col] = frame[col].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    counts = frame.set_index(["keyword", "window_start", "window_end"])[["count", "unique_authors", "unique_contents"]].sort_index()
    assert result.alerts, "the sample should contain trends"
    return counts, [a.to_dict() for a in result.alerts]


@pytest.fixture(scope="module")
def records(sample):
    from trendlab.kafka import read_stream

    return read_stream(sample)


@pytest.fixture
def job_settings(live_stack, stack_settings: Settings):
    """Settings with this test's own topics and a short checkpoint interval; cancels leftover jobs."""
    from trendlab.kafka import ensure_topics, job_topics

    suffix = uuid.uuid4().hex[:8]
    settings = stack_settings.with_own_topics(f"it-{suffix}").replace(checkpoint_interval_ms=CHECKPOINT_MS)
    ensure_topics(settings, job_topics(settings), partitions=settings.flink_parallelism)
    jobs: list[str] = []
    yield settings, jobs
    from trendlab.flink.rest_client import FlinkClient, FlinkError

    with FlinkClient.from_settings(settings) as client:
        for job_id in jobs:
            try:
                if client.job_state(job_id) not in {"FINISHED", "FAILED", "CANCELED"}:
                    client.cancel(job_id)
                    client.wait_for_state(job_id, {"CANCELED"}, timeout=60)
            except FlinkError:
                pass
    from trendlab.kafka import delete_topics

    delete_topics(settings, job_topics(settings))


# -- helpers ------------------------------------------------------------------------------------

def cli(settings: Settings, *args: str) -> str:
    """Run ``trendlab ARGS`` with the test's settings in the environment; returns stdout."""
    import os

    done = subprocess.run([sys.executable, "-m", "trendlab.cli", *args], env={**os.environ, **settings.to_env()}, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, f"trendlab {' '.join(args)} failed: {done.stderr.strip()[-2000:]}"
    return done.stdout


def close_all_windows(settings: Settings, records) -> None:
    from trendlab.kafka import advance_watermark

    last = max(r.timestamp_ms for r in records)
    advance_watermark(settings, settings.kafka_topic_posts, last + 24 * 3600 * 1000)


def committed_counts(settings: Settings) -> pd.DataFrame:
    from trendlab.kafka import consume_json

    rows = consume_json(settings, settings.kafka_topic_trends, from_beginning=True, timeout=3)
    frame = pd.DataFrame(rows, columns=["keyword", "normalized_keyword", "window_start", "window_end", "count",
                                        "unique_authors", "unique_contents"])
    return frame.set_index(["keyword", "window_start", "window_end"])[["count", "unique_authors", "unique_contents"]]


def wait_for_counts(settings: Settings, n_expected: int, timeout: float = RESULT_TIMEOUT_S) -> pd.DataFrame:
    """Committed counts once there are at least ``n_expected``, read again two checkpoints later
    (so a late duplicate would show)."""
    deadline = time.monotonic() + timeout
    frame = committed_counts(settings)
    while len(frame) < n_expected and time.monotonic() < deadline:
        time.sleep(2)
        frame = committed_counts(settings)
    time.sleep(2 * CHECKPOINT_MS / 1000)
    return committed_counts(settings)


def assert_same_output(settings: Settings, expected, n_malformed: int) -> None:
    from trendlab.kafka import consume_json

    counts, alerts = expected
    actual = wait_for_counts(settings, len(counts))
    duplicated = actual.index[actual.index.duplicated()]
    assert len(duplicated) == 0, f"{len(duplicated)} duplicated windows, e.g. {list(duplicated[:5])}"
    joined = counts.join(actual.sort_index(), how="outer", lsuffix="_replay", rsuffix="_flink")
    diff = joined[(joined.count_replay != joined.count_flink)
                  | (joined.unique_authors_replay != joined.unique_authors_flink)
                  | (joined.unique_contents_replay != joined.unique_contents_flink)]
    assert diff.empty, f"{len(diff)} of {len(counts)} window counts differ (NaN = missing), e.g.\n{diff.head(10)}"

    got = consume_json(settings, settings.kafka_topic_alerts, from_beginning=True, timeout=3)
    key = lambda a: (a["window_end"], a["keyword"])  # noqa: E731
    assert sorted(got, key=key) == sorted(alerts, key=key)
    dead = consume_json(settings, settings.kafka_topic_dead_letter, from_beginning=True, timeout=3)
    assert len(dead) == n_malformed and all(d["error"] for d in dead)


def deploy(settings: Settings, jobs: list[str], params_path: Path, *extra: str) -> str:
    job_id = json.loads(cli(settings, "deploy", "--params", str(params_path), "--json", *extra))["job_id"]
    jobs.append(job_id)
    return job_id


def wait_for_some_output(settings: Settings, job_id: str) -> None:
    """Wait until windows are committed and one more checkpoint has completed after that."""
    from trendlab.flink.rest_client import FlinkClient

    deadline = time.monotonic() + RESULT_TIMEOUT_S
    while time.monotonic() < deadline and committed_counts(settings).empty:
        time.sleep(1)
    assert not committed_counts(settings).empty, "no window counts committed"
    with FlinkClient.from_settings(settings) as client:
        cp = client.latest_checkpoint(job_id)
        client.wait_for_checkpoint(job_id, after_id=cp.id if cp else 0)


# -- tests --------------------------------------------------------------------------------------

def test_deployed_job_equals_replay(job_settings, sample, params, expected, records):
    from trendlab.kafka import produce

    settings, jobs = job_settings
    produced = produce(settings, sample, progress=False)
    assert produced.sent == produced.stats.posts + produced.stats.malformed
    job_id = deploy(settings, jobs, params[1])

    listed = cli(settings, "jobs")
    assert job_id in listed and "RUNNING" in listed

    close_all_windows(settings, records[0])
    assert_same_output(settings, expected, produced.stats.malformed)

    # checkpoints go to MinIO, and `trendlab jobs` shows the latest one
    listing = {line.split()[0]: line for line in cli(settings, "jobs").splitlines() if line.strip()}
    assert f"s3://{settings.minio_bucket}/checkpoints/{job_id}/chk-" in listing[job_id]


def test_deployed_job_without_params_equals_replay_without_params(job_settings, sample, records):
    """No params file on either side: both take the one default (trendlab.params_files.load_params)."""
    from trendlab.kafka import produce
    from trendlab.replay import replay

    settings, jobs = job_settings
    result = replay(sample, progress=False)  # what `trendlab replay INPUT --out DIR` uses
    frame = result.counts.copy()
    for col in ("window_start", "window_end"):
        frame[col] = frame[col].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    expected = (frame.set_index(["keyword", "window_start", "window_end"])[["count", "unique_authors", "unique_contents"]].sort_index(),
                [a.to_dict() for a in result.alerts])
    produced = produce(settings, sample, progress=False)
    job_id = json.loads(cli(settings, "deploy", "--json"))["job_id"]
    jobs.append(job_id)
    close_all_windows(settings, records[0])
    assert_same_output(settings, expected, produced.stats.malformed)


def test_recovery_after_taskmanager_kill(job_settings, params, expected, records):
    from trendlab import stack
    from trendlab.flink.rest_client import FlinkClient
    from trendlab.kafka import send_records

    settings, jobs = job_settings
    stream, stats = records
    half = len(stream) // 2
    send_records(settings, stream[:half], settings.kafka_topic_posts, progress=False)
    job_id = deploy(settings, jobs, params[1])
    wait_for_some_output(settings, job_id)

    # the second half at a steady rate; the TaskManager dies while it flows in
    rate = (len(stream) - half) / 8.0
    producer = threading.Thread(target=send_records, args=(settings, stream[half:], settings.kafka_topic_posts),
                                kwargs={"rate": rate, "progress": False})
    producer.start()
    try:
        time.sleep(2.5)
        assert stack.kill_taskmanager(settings) is not None, "no TaskManager to kill"
        time.sleep(1)
        stack.start_taskmanager(settings)
    finally:
        producer.join()
    close_all_windows(settings, stream)
    assert_same_output(settings, expected, stats.malformed)

    with FlinkClient.from_settings(settings) as client:
        assert client.job_state(job_id) == "RUNNING"
        restored = (client.checkpoints(job_id).get("latest") or {}).get("restored") or {}
    assert restored.get("external_path", "").startswith(f"s3://{settings.minio_bucket}/checkpoints/{job_id}/"), restored


def test_stop_with_savepoint_and_resume(job_settings, params, expected, records):
    from trendlab.kafka import send_records

    settings, jobs = job_settings
    stream, stats = records
    half = len(stream) // 2
    send_records(settings, stream[:half], settings.kafka_topic_posts, progress=False)
    first = deploy(settings, jobs, params[1])
    wait_for_some_output(settings, first)

    stopped = json.loads(cli(settings, "stop", first, "--savepoint", "--json"))
    savepoint = stopped["savepoint"]
    assert savepoint.startswith(f"s3://{settings.minio_bucket}/savepoints/"), savepoint
    deadline = time.monotonic() + 15  # the REST API caches checkpoint statistics for a few seconds
    while savepoint not in cli(settings, "jobs") and time.monotonic() < deadline:
        time.sleep(1)
    assert savepoint in cli(settings, "jobs")

    send_records(settings, stream[half:], settings.kafka_topic_posts, progress=False)
    second = deploy(settings, jobs, params[1], "--from-savepoint", "latest")
    assert second != first
    close_all_windows(settings, stream)
    assert_same_output(settings, expected, stats.malformed)

    from trendlab.flink.rest_client import FlinkClient

    with FlinkClient.from_settings(settings) as client:
        restored = (client.checkpoints(second).get("latest") or {}).get("restored") or {}
    assert restored.get("external_path") == savepoint, restored


# -- foreign producers (issue 21): a plain kafka-python producer, not `trendlab produce` ------------

AHEAD_MS = 50 * 60 * 1000
BIG_KEY = b"k" * 1_000_000


def send_plain(settings: Settings, stream, shape: str) -> int:
    """Send ``stream`` (StreamRecords in event-time order) as another service might; returns the number of
    extra dead letters it adds (tombstones). Every send is confirmed.

    * ``ahead``: keyed, correct timestamps, but one record stamped 50 minutes ahead of its payload;
    * ``send-time``: keyless (the client's partitioner), every record stamped at send time by the client;
    * ``round-robin``: partition i mod n, except that partition 1 gets nothing for the first 3 minutes
      of event time; correct timestamps, a tombstone (null value) every 997 records, a 1 MB key every 1,499.
    """
    from kafka import KafkaProducer

    prod = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", linger_ms=20,
                         max_request_size=2_000_000)
    n = len(prod.partitions_for(settings.kafka_topic_posts) or [0, 1])
    start = stream[0].timestamp_ms
    futures, tombstones = [], 0
    for i, r in enumerate(stream):
        if shape == "ahead":
            stamp = r.timestamp_ms + AHEAD_MS if i == len(stream) // 3 else r.timestamp_ms
            futures.append(prod.send(settings.kafka_topic_posts, value=r.value, key=r.key, timestamp_ms=stamp))
        elif shape == "send-time":
            futures.append(prod.send(settings.kafka_topic_posts, value=r.value))
        elif shape == "round-robin":
            partition = 0 if r.timestamp_ms < start + 180_000 else i % n
            key = BIG_KEY if i % 1499 == 0 else r.key
            futures.append(prod.send(settings.kafka_topic_posts, value=r.value, key=key, partition=partition,
                                     timestamp_ms=r.timestamp_ms))
            if i % 997 == 0:
                futures.append(prod.send(settings.kafka_topic_posts, value=None, key=b"tombstone",
                                         partition=i % n, timestamp_ms=r.timestamp_ms))
                tombstones += 1
        else:
            raise ValueError(shape)
    prod.flush(timeout=120)
    prod.close(timeout=10)
    failed = [f.exception for f in futures if f.failed()]
    assert not failed, f"{len(failed)} sends failed, e.g. {failed[0]!r}"
    return tombstones


@pytest.mark.parametrize("shape", ["ahead", "send-time", "round-robin"])
def test_foreign_producer_equals_replay(job_settings, params, expected, records, shape):
    """Issue 21, point 1: the event time comes from the post, whatever the producer did with keys,
    partitions and record timestamps. Before: 'ahead' lost about a fifth of the counts silently and
    'send-time' counted every post at its send time."""
    settings, jobs = job_settings
    stream, stats = records
    deploy(settings, jobs, params[1])
    tombstones = send_plain(settings, stream, shape)
    close_all_windows(settings, stream)
    assert_same_output(settings, expected, stats.malformed + tombstones)


def test_late_post_is_counted_and_routed_never_dropped(job_settings, params, expected, records):
    """Issue 21, point 2: a post that arrives after its windows have closed is counted in no window (the
    counts stay equal to replay), goes whole to the late-posts topic and is counted once in
    ``trendlab.late_posts`` (the service's ``trendlab_late_posts_total``)."""
    import orjson

    from trendlab.flink.rest_client import FlinkClient, FlinkError
    from trendlab.kafka import consume, send_records

    settings, jobs = job_settings
    stream, stats = records
    send_records(settings, stream, settings.kafka_topic_posts, progress=False)
    job_id = deploy(settings, jobs, params[1])
    close_all_windows(settings, stream)
    assert_same_output(settings, expected, stats.malformed)

    some = next(r for r in stream[len(stream) // 2:] if b'"app.bsky.feed.post"' in r.value and b'"create"' in r.value)
    event = orjson.loads(some.value)
    event["commit"]["rkey"] += "late"
    late = orjson.dumps(event)
    from kafka import KafkaProducer

    prod = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    prod.send(settings.kafka_topic_posts, value=late).get(timeout=30)
    prod.close(timeout=10)

    deadline = time.monotonic() + RESULT_TIMEOUT_S
    held: list[bytes] = []
    while not held and time.monotonic() < deadline:
        held = list(consume(settings, settings.kafka_topic_late, from_beginning=True, timeout=3))
    assert held == [late]
    assert_same_output(settings, expected, stats.malformed)  # the late post changed no window
    with FlinkClient.from_settings(settings) as client:
        seen: list[int] = []

        def counted() -> bool:
            try:
                seen.append(client.counter_total(job_id, "trendlab.late_posts"))
            except FlinkError:  # a metrics read the loaded JobManager did not answer within 30 s: ask again
                return False
            return seen[-1] >= 1

        wait_for("the job's trendlab.late_posts counter at 1", counted, 120, 1)
        assert seen[-1] == 1
