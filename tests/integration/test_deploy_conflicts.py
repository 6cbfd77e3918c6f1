"""Deploys and stops are serialised on the real cluster (issue 21, point 5).

Two ``POST /flink/deploy`` to a real service at once, and a ``trendlab deploy`` beside them, give one
job: the other request answers 409 naming the deploy in progress, the CLI refuses in one line (exit 2)
naming it or the job it started — never two 502s and no job. Two ``POST /flink/stop`` at once: one
stops the job, the other answers 409 naming the stop in progress. A deploy that cannot get its task
slots (parallelism above the cluster's slots) fails within ``TRENDLAB_DEPLOY_TIMEOUT_S`` in one line,
and its job is cancelled.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import httpx
import pytest
from test_flink_deployed import job_settings  # noqa: F401
from test_operate import JSON_LOCAL, PARAMS, Service

from trendlab.config import Settings

pytestmark = pytest.mark.integration


def cli_run(settings: Settings, *args: str, **env_extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **settings.to_env(), **env_extra}
    return subprocess.run([sys.executable, "-m", "trendlab.cli", *args], env=env, capture_output=True, text=True,
                          timeout=600)


def active(settings: Settings, name: str) -> list:
    from trendlab.flink.rest_client import FlinkClient
    from trendlab.flink.deploy import active_jobs

    with FlinkClient.from_settings(settings) as client:
        return active_jobs(client, name)


def test_concurrent_deploys_and_stops_give_one_job_and_a_409(job_settings):
    from trendlab.flink.job import job_name

    settings, jobs = job_settings
    name = job_name(settings)
    results: dict[str, object] = {}
    with Service(settings) as service:
        start = threading.Barrier(3)

        def via_service(i: int) -> None:
            start.wait()
            r = httpx.post(f"{service.url}/flink/deploy", json={"params": PARAMS}, headers=JSON_LOCAL, timeout=600)
            results[f"service{i}"] = (r.status_code, r.json())

        def via_cli() -> None:
            start.wait()
            results["cli"] = cli_run(settings, "deploy", "--json")

        threads = [threading.Thread(target=via_service, args=(i,)) for i in (1, 2)] + [threading.Thread(target=via_cli)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
        answers = sorted((results["service1"], results["service2"]), key=lambda a: a[0])
        (ok_status, ok_body), (refused_status, refused_body) = answers
        jobs.extend(body["job_id"] for _, body in answers if "job_id" in body)  # cancelled at teardown
        cli = results["cli"]
        assert (ok_status, refused_status) == (200, 409), answers
        job_id = ok_body["job_id"]
        assert refused_body["error"].startswith(f"a deploy of {name!r} is in progress (pid "), refused_body
        # the CLI came a moment later: the deploy in progress, or the job it started, is named
        assert cli.returncode == 2 and len(cli.stderr.strip().splitlines()) == 1, cli.stderr
        assert (f"a deploy of {name!r} is in progress" in cli.stderr
                or f"a {name!r} job is already RUNNING: {job_id}" in cli.stderr), cli.stderr
        assert [j.id for j in active(settings, name)] == [job_id]  # one job

        again = cli_run(settings, "deploy")
        assert again.returncode == 2 and again.stderr.strip() == (
            f"trendlab deploy: a {name!r} job is already RUNNING: {job_id} on {settings.flink_rest_url}; "
            f"stop it first (trendlab stop {job_id}, or POST /flink/stop)")
        r = httpx.post(f"{service.url}/flink/deploy", json={}, headers=JSON_LOCAL, timeout=300)
        assert r.status_code == 409 and job_id in r.json()["error"], r.text

        stops: list = []
        start = threading.Barrier(2)

        def stop() -> None:
            start.wait()
            r = httpx.post(f"{service.url}/flink/stop", json={"savepoint": True}, headers=JSON_LOCAL, timeout=300)
            stops.append((r.status_code, r.json()))

        threads = [threading.Thread(target=stop) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        stops.sort(key=lambda a: a[0])
        assert [s for s, _ in stops] == [200, 409], stops
        assert stops[0][1]["job_id"] == job_id and stops[0][1]["savepoint"]
        assert stops[1][1]["error"].startswith(f"a stop of {job_id!r} is in progress"), stops
        assert active(settings, name) == []
        text = httpx.get(f"{service.url}/metrics").text
        assert 'trendlab_deploy_conflicts_total{action="deploy"} 2.0' in text
        assert 'trendlab_deploy_conflicts_total{action="stop"} 1.0' in text
        assert 'flink_job_submissions_total{result="success"} 1.0' in text
        assert 'flink_job_submissions_total{result="failure"} 0.0' in text


def test_a_deploy_without_task_slots_fails_within_the_bound_in_one_line(job_settings):
    from trendlab.flink.rest_client import FlinkClient
    from trendlab.flink.job import job_name

    settings, jobs = job_settings
    with FlinkClient.from_settings(settings) as client:
        slots = client.overview()["slots-total"]
    bound = 45
    t0 = time.monotonic()
    done = cli_run(settings, "deploy", FLINK_PARALLELISM=str(slots + 1), TRENDLAB_DEPLOY_TIMEOUT_S=str(bound))
    took = time.monotonic() - t0
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert f"tasks not all running within {bound}s (TRENDLAB_DEPLOY_TIMEOUT_S;" in done.stderr
    assert f"of {slots} task slots free, the job needs {slots + 1}); cancelled it" in done.stderr
    assert took < bound + 30, f"the deploy took {took:.0f}s"  # the bound, with the CLI's start-up
    job_id = done.stderr.split("job ", 1)[1].split(":", 1)[0]
    jobs.append(job_id)
    with FlinkClient.from_settings(settings) as client:
        assert client.wait_for_state(job_id, {"CANCELED"}, timeout=60) == "CANCELED"
    assert active(settings, job_name(settings)) == []
