"""The Flink job equals the replay engine, count for count and alert for alert.

* embedded profile (PyFlink mini-cluster, file source) on a labelled sample stream;
* the deployed job on the real stack (Kafka → Flink cluster → Kafka), when the stack is up.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import orjson
import pandas as pd
import pytest

from trendlab.config import Settings
from trendlab.detect import DetectionParams
from trendlab.replay import replay

pytestmark = pytest.mark.integration

PARAMS = dict(window="10m", slide="1m", baseline_windows=10, min_count=4, min_authors=3, min_ratio=2.0,
              min_score=2.0, cooldown_windows=10)


def _malformed_and_flat(path: Path) -> None:
    """Add messages the job must survive: broken JSON, a non-object, a post without text."""
    lines = path.read_text().splitlines()
    lines.insert(50, '{"kind": "commit", "did": "broken')
    lines.insert(300, "[1, 2, 3]")
    lines.insert(900, json.dumps({"did": "did:plc:x", "time_us": 1, "kind": "commit",
                                  "commit": {"operation": "create", "collection": "app.bsky.feed.post",
                                             "rkey": "r", "record": {"createdAt": "2026-01-01T00:00:00Z"}}}))
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    from trendlab.samples import generate

    out = tmp_path_factory.mktemp("sample")
    generate(out, hours=1.5, rate=3, seed=11)
    _malformed_and_flat(out / "posts.jsonl")
    return out / "posts.jsonl"


def _replay_counts(result) -> pd.DataFrame:
    frame = result.counts.copy()
    for col in ("window_start", "window_end"):
        frame[col] = frame[col].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return frame.set_index(["keyword", "window_start", "window_end"])[["count", "unique_authors"]].sort_index()


def _job_counts(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["keyword", "normalized_keyword", "window_start", "window_end", "count",
                                        "unique_authors"])
    return frame.set_index(["keyword", "window_start", "window_end"])[["count", "unique_authors"]].sort_index()


def assert_same_counts(expected: pd.DataFrame, actual: pd.DataFrame) -> None:
    joined = expected.join(actual, how="outer", lsuffix="_replay", rsuffix="_flink")
    diff = joined[(joined.count_replay != joined.count_flink)
                  | (joined.unique_authors_replay != joined.unique_authors_flink)]
    assert diff.empty, f"{len(diff)} window counts differ, e.g.\n{diff.head(10)}"


def test_embedded_job_equals_replay(sample, tmp_path):
    from trendlab.flink.job import run_embedded

    params = DetectionParams(**PARAMS)
    result = run_embedded(sample, tmp_path / "out", params, Settings(checkpoint_interval_ms=5000))
    expected = replay(sample, params, progress=False)

    rows = [orjson.loads(line) for line in result.paths["counts"].read_bytes().splitlines()]
    assert_same_counts(_replay_counts(expected), _job_counts(rows))
    assert all(r["normalized_keyword"] == r["keyword"] for r in rows[:100])

    alerts = [orjson.loads(line) for line in result.paths["alerts"].read_bytes().splitlines()]
    assert expected.alerts, "the sample should contain trends"
    assert alerts == [a.to_dict() for a in expected.alerts]

    dead = [orjson.loads(line) for line in result.paths["dead_letters"].read_bytes().splitlines()]
    assert len(dead) == result.malformed == 3
    assert all(d["error"] for d in dead)


# -- the real stack ---------------------------------------------------------------------------

def _stack_up(settings: Settings) -> bool:
    try:
        from trendlab.flink.client import FlinkClient, FlinkError
        from trendlab.kafka import ensure_topics  # noqa: F401

        with FlinkClient.from_settings(settings, timeout=3) as client:
            client.overview()
        return True
    except (FlinkError, ImportError):
        return False


@pytest.fixture
def stack_settings():
    settings = Settings.from_env()
    if not _stack_up(settings):
        pytest.skip("the local stack is not up (trendlab stack up)")
    suffix = uuid.uuid4().hex[:8]
    return settings.replace(
        kafka_topic_posts=f"test-posts-{suffix}", kafka_topic_trends=f"test-counts-{suffix}",
        kafka_topic_alerts=f"test-alerts-{suffix}", kafka_topic_dead_letter=f"test-dlq-{suffix}",
        checkpoint_interval_ms=5000,
    )


def _closed_window_ends(posts: Path, params: DetectionParams, out_of_orderness_ms: int) -> int:
    """Window ends the job must have closed: those at or before the last watermark."""
    from trendlab.kafka import read_stream

    records, _ = read_stream(posts)
    return max(r.timestamp_ms for r in records) - out_of_orderness_ms


def test_deployed_job_equals_replay(sample, stack_settings, tmp_path):
    from trendlab.flink.deploy import deploy_job, stop_job
    from trendlab.kafka import consume_json, ensure_topics, job_topics, produce

    settings = stack_settings
    params = DetectionParams(**PARAMS)
    params_path = tmp_path / "params.yaml"
    params.to_yaml(params_path)
    ensure_topics(settings, job_topics(settings), partitions=settings.flink_parallelism)
    produced = produce(settings, sample, progress=False)
    assert produced.sent == produced.stats.posts + produced.stats.malformed

    job_id = deploy_job(settings, str(params_path))
    try:
        watermark = _closed_window_ends(sample, params, settings.max_out_of_orderness_s * 1000)
        expected = replay(sample, params, progress=False)
        exp = _replay_counts(expected)
        closed = exp[pd.to_datetime(exp.index.get_level_values("window_end")).astype("int64") // 10**6 <= watermark]
        deadline = time.monotonic() + 240
        rows: list[dict] = []
        while time.monotonic() < deadline:
            rows = consume_json(settings, settings.kafka_topic_trends, from_beginning=True, timeout=5)
            if len(rows) >= len(closed):
                break
            time.sleep(5)
        assert_same_counts(closed, _job_counts(rows))
        alerts = consume_json(settings, settings.kafka_topic_alerts, from_beginning=True, timeout=5)
        expected_alerts = [a.to_dict() for a in expected.alerts
                           if pd.Timestamp(a.window_end).value // 10**6 <= watermark]
        assert sorted(alerts, key=lambda a: (a["window_end"], a["keyword"])) == sorted(
            expected_alerts, key=lambda a: (a["window_end"], a["keyword"]))
        dead = consume_json(settings, settings.kafka_topic_dead_letter, from_beginning=True, timeout=5)
        assert len(dead) == produced.stats.malformed
    finally:
        stop_job(settings, job_id, savepoint=False)
