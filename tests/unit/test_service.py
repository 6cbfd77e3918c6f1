"""The REST service, against nothing: a Flink REST address where nothing listens."""

import socket

import pytest
from fastapi.testclient import TestClient

from trendlab.config import Settings
from trendlab.service import create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def settings():
    port = free_port()
    return Settings(flink_jobmanager_port=port, kafka_bootstrap_servers=f"127.0.0.1:{free_port()}",
                    minio_endpoint=f"127.0.0.1:{free_port()}", minio_secret_key="s3cr3t-value-xyz",
                    api_token="tok-123")


def test_live_and_config_masks_secrets(settings):
    client = TestClient(create_app(settings))
    assert client.get("/health/live").json() == {"status": "ok"}
    config = client.get("/config").json()
    assert config["MINIO_SECRET_KEY"] == "***" and config["TRENDLAB_API_TOKEN"] == "***"
    assert "s3cr3t-value-xyz" not in client.get("/config").text


def test_health_reports_each_part_down(settings):
    response = TestClient(create_app(settings)).get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert {p: v["up"] for p, v in body["parts"].items()} == {"flink": False, "kafka": False, "minio": False}


def test_flink_down_is_a_one_line_502(settings):
    response = TestClient(create_app(settings)).get("/flink/jobs")
    assert response.status_code == 502
    error = response.json()["error"]
    assert "\n" not in error and str(settings.flink_jobmanager_port) in error


def test_metrics_say_flink_is_down_and_count_requests(settings):
    client = TestClient(create_app(settings))
    client.get("/health/live")
    text = client.get("/metrics").text
    assert "trendlab_flink_up 0.0" in text
    assert 'trendlab_http_requests_total{method="GET",route="/health/live",status="200"} 1.0' in text


def test_mutations_need_the_token(settings):
    client = TestClient(create_app(settings))
    assert client.post("/flink/deploy", json={}).status_code == 401
    assert client.post("/flink/jobs/abc/stop", json={"savepoint": False}).status_code == 401


def test_bad_parameters_are_refused_naming_them(settings):
    client = TestClient(create_app(settings))
    auth = {"Authorization": "Bearer tok-123"}
    r = client.post("/flink/deploy", json={"window": "7m", "slide": "2m"}, headers=auth)
    assert r.status_code == 422 and "window (7m) must be a whole multiple of slide (2m)" in r.json()["error"]
    r = client.post("/flink/deploy", json={"params": {"threshold": 3}}, headers=auth)
    assert r.status_code == 422 and "unknown parameter 'threshold'" in r.json()["error"]
    r = client.post("/flink/deploy", json={"window": "5m"}, headers=auth)
    assert r.status_code == 502  # valid request, but no Flink to deploy to
