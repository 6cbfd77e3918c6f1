"""Moderation kept in the compacted Kafka topic: it reaches every replica and survives a restart (issue 23).

Two service instances follow the same (real) alerts and moderation topics. Decisions and deny-list
changes made through one are served by the other; both stop, a third starts and serves the same; an
entry removed through the API does not come back from the deny-list file that seeded the topic.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from trendlab.core.models import TrendAlert
from trendlab.service import create_app
from trendlab.service.moderation import MODERATION_TOPIC_CONFIG, trend_id
from waiting import wait_for

pytestmark = pytest.mark.integration

TOKEN = "kafka-mod-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TIMEOUT_S = 60.0


def _wait(what: str, check, timeout: float = TIMEOUT_S, every: float = 0.2):
    return wait_for(what, check, timeout, every)


def _alerts() -> list[bytes]:
    end = datetime.now(timezone.utc).replace(microsecond=0)
    out = []
    for keyword, count, lang in (("#eclipse", 40, "en"), ("#scam", 30, "en"), ("blockedword", 20, "en"),
                                 ("#sakura", 10, "ja")):
        out.append(TrendAlert(keyword=keyword, window_start=end - timedelta(minutes=10), window_end=end, count=count,
                              unique_authors=count // 2, baseline=0.5, score=8.0, topic=keyword,
                              display_name=keyword, languages={lang: 1.0}).to_json().encode())
    return out


def _topics(client: TestClient, **params) -> list[str]:
    return [t["topic"] for t in client.get("/trends", params=params).json()["trends"]]


def _ready(client: TestClient) -> bool:
    body = client.get("/moderation/trends", headers=AUTH).json()
    return body["ready"] and len(body["trends"]) == 4


def test_moderation_reaches_every_replica_and_survives_a_restart(live_stack, stack_settings, tmp_path, monkeypatch):
    from kafka.admin import ConfigResource, ConfigResourceType

    from trendlab.kafka import admin_client, delete_topics, ensure_topics, producer

    deny = tmp_path / "deny.txt"
    deny.write_text("# seeded\nseeded1\nseeded2\n", encoding="utf-8")
    settings = stack_settings.with_own_topics(f"mod-{uuid.uuid4().hex[:8]}").replace(
        api_token=TOKEN, moderation="approval", deny_list=str(deny))
    ensure_topics(settings, [settings.kafka_topic_alerts, settings.kafka_topic_trends], partitions=1)
    try:
        prod = producer(settings)
        for value in _alerts():
            prod.send(settings.kafka_topic_alerts, value=value)
        prod.flush(30)
        prod.close()

        with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
            _wait("both replicas reading the trends and the moderation topic", lambda: _ready(a) and _ready(b))
            assert _topics(a) == [] and _topics(b) == []  # approval mode: everything pending
            r = a.post("/moderation/approve", json={"id": trend_id("#eclipse"), "moderator": "ana"}, headers=AUTH)
            assert r.status_code == 200, r.text
            assert a.post("/moderation/approve", json={"id": trend_id("#sakura")}, headers=AUTH).status_code == 200
            assert a.post("/moderation/approve", json={"id": trend_id("blockedword")}, headers=AUTH).status_code == 200
            assert a.post("/moderation/reject", json={"id": trend_id("#scam"), "moderator": "bo"},
                          headers=AUTH).status_code == 200
            r = a.post("/moderation/deny", json={"add": ["blockedword"], "remove": ["seeded2"]}, headers=AUTH)
            assert r.status_code == 200, r.text
            # the other replica serves the same board, from the topic
            _wait("replica b serving a's decisions", lambda: _topics(b, lang="all") == ["#eclipse", "#sakura"])
            assert _topics(b, lang="ja") == ["#sakura"]
            decisions = {d["topic"]: d for d in b.get("/moderation/decisions", headers=AUTH).json()["decisions"]}
            assert decisions["#scam"]["decision"] == "rejected" and decisions["#scam"]["by"].startswith("bo (token:")
            assert decisions["#eclipse"]["at"].endswith("Z")
            entries = {e["entry"]: e["active"] for e in b.get("/moderation/deny", headers=AUTH).json()["entries"]}
            assert entries == {"seeded1": True, "seeded2": False, "blockedword": True}

        # a restart: a new instance reads the same state back; the file does not bring seeded2 back
        with TestClient(create_app(settings)) as c:
            _wait("the restarted service reading the moderation topic", lambda: _ready(c))
            _wait("the restarted service serving the same board", lambda: _topics(c, lang="all") == ["#eclipse", "#sakura"])
            entries = {e["entry"]: e["active"] for e in c.get("/moderation/deny", headers=AUTH).json()["entries"]}
            assert entries == {"seeded1": True, "seeded2": False, "blockedword": True}
            listing = {t["topic"]: t["moderation"] for t in c.get("/moderation/trends", headers=AUTH).json()["trends"]}
            assert listing == {"#eclipse": "approved", "#sakura": "approved", "#scam": "rejected",
                               "blockedword": "denied"}
            assert [d["keywords"] for d in c.get("/moderation/decoys", headers=AUTH).json()["decoys"]] == [["#scam"]]

        # the command line reads the same topic: rejected trends as decoys for tune/evaluate
        from trendlab.cli import main
        from trendlab.labels import load_labels

        for name, value in settings.to_env().items():
            monkeypatch.setenv(name, value)
        assert main(["moderation", "decoys", "--out", str(tmp_path / "decoys.json")]) == 0
        assert [d.keywords for d in load_labels(tmp_path / "decoys.json").decoys] == [("#scam",)]

        admin = admin_client(settings)
        try:
            described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC,
                                                               settings.kafka_topic_moderation)])
        finally:
            admin.close()
        configs = described["topic"][settings.kafka_topic_moderation]
        assert configs["cleanup.policy"]["value"] == MODERATION_TOPIC_CONFIG["cleanup.policy"] == "compact"
    finally:
        delete_topics(settings, [settings.kafka_topic_alerts, settings.kafka_topic_trends,
                                 settings.kafka_topic_moderation])
