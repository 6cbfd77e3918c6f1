"""produce → Kafka → consume on the real broker; the Flink REST client against the real JobManager."""

from __future__ import annotations

import json
import uuid

import orjson
import pytest

from trendlab.config import Settings

pytestmark = pytest.mark.integration


def _kafka_up(settings: Settings) -> bool:
    from trendlab.kafka import KafkaUnavailable, ensure_topics

    try:
        ensure_topics(settings, [])
        return True
    except (KafkaUnavailable, Exception):
        return False


@pytest.fixture
def settings():
    s = Settings.from_env()
    if not _kafka_up(s):
        pytest.skip("Kafka is not up (trendlab stack up)")
    return s


def test_produce_consume_keeps_order_timestamps_and_malformed(settings, tmp_path):
    from kafka import KafkaConsumer

    from trendlab.kafka import consume, ensure_topics, produce, read_stream

    topic = f"test-roundtrip-{uuid.uuid4().hex[:8]}"
    ensure_topics(settings, [topic], partitions=1)
    path = tmp_path / "posts.jsonl"
    events = []
    for i, t in enumerate([3_000_000, 1_000_000, 2_000_000]):
        events.append(json.dumps({
            "did": f"did:plc:{i}", "time_us": 1_767_225_600_000_000 + t, "kind": "commit",
            "commit": {"operation": "create", "collection": "app.bsky.feed.post", "rkey": str(i),
                       "record": {"text": f"post {i}", "createdAt": "2026-01-01T00:00:00Z"}}}))
    events.insert(1, "{broken")
    path.write_text("\n".join(events) + "\n")

    result = produce(settings, path, topic, progress=False)
    assert (result.sent, result.stats.posts, result.stats.malformed) == (4, 3, 1)

    values = list(consume(settings, topic, from_beginning=True, timeout=5))
    assert len(values) == 4
    times = [orjson.loads(v)["time_us"] for v in values if v != b"{broken"]
    assert times == sorted(times)

    consumer = KafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None,
                             auto_offset_reset="earliest", consumer_timeout_ms=5000)
    stamps = [(m.timestamp, m.key) for m in consumer]
    consumer.close()
    records, _ = read_stream(path)
    assert stamps == [(r.timestamp_ms, r.key) for r in records]


def test_rest_client_against_the_jobmanager(settings):
    from trendlab.flink.rest_client import FlinkClient, FlinkError
    from trendlab.flink.deploy import flink_python_jar

    client = FlinkClient.from_settings(settings, timeout=10)
    try:
        overview = client.overview()
    except FlinkError:
        pytest.skip("the Flink JobManager is not up")
    assert "taskmanagers" in overview
    assert isinstance(client.jobs(), list)
    jar_id = client.upload_jar(flink_python_jar())
    assert any(j["id"] == jar_id for j in client.jars())
    client.delete_jar(jar_id)
    with pytest.raises(FlinkError, match="HTTP 404|HTTP 400"):
        client.job("00000000000000000000000000000000")
