"""The REST service against the real local stack."""

import pytest
from fastapi.testclient import TestClient

from trendlab.service import create_app

pytestmark = pytest.mark.integration


def test_health_jobs_and_metrics_on_the_real_stack(live_stack, stack_settings):
    client = TestClient(create_app(stack_settings))
    health = client.get("/health")
    assert health.status_code == 200, health.text
    assert all(part["up"] for part in health.json()["parts"].values())
    jobs = client.get("/flink/jobs")
    assert jobs.status_code == 200
    assert isinstance(jobs.json()["jobs"], list)
    metrics = client.get("/metrics").text
    assert "trendlab_flink_up 1.0" in metrics
    missing = client.get("/flink/jobs/00000000000000000000000000000000")
    assert missing.status_code == 502 and "\n" not in missing.json()["error"]
