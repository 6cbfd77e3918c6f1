"""One deploy or stop at a time (issue 21, point 5), and ``trendlab serve`` stopping promptly.

The lock of :func:`trendlab.flink.deploy.job_operation` is taken by threads of one process (the REST
service) and by processes of one machine (the CLI), and a second taker gets one line naming the first;
the service answers that with 409. The real cluster's side (two concurrent deploys give one job) is in
``tests/integration/test_deploy_conflicts.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from trendlab.config import Settings
from trendlab.errors import JobConflict
from trendlab.flink.deploy import job_operation
from trendlab.service import create_app
from hung_server import HungServer
from trendlab.service.probes import wait_until_live
from waiting import free_port

ROOT = Path(__file__).resolve().parents[2]
JOB = "a" * 32


@pytest.fixture()
def settings(tmp_path) -> Settings:
    return Settings(flink_jobmanager_port=free_port(), kafka_bootstrap_servers=f"127.0.0.1:{free_port()}",
                    minio_endpoint=f"127.0.0.1:{free_port()}", home=str(tmp_path / "home"))


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {**os.environ, **settings.to_env(), "LOG_LEVEL": "WARNING", **extra}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_a_second_operation_in_this_process_is_refused_naming_the_first(settings):
    with job_operation(settings, "deploy", "trendlab: posts -> counts"):
        errors = []

        def other():
            try:
                with job_operation(settings, "stop", JOB):
                    pass
            except JobConflict as exc:
                errors.append(str(exc))

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(10)
        [message] = errors
        assert message.startswith("a deploy of 'trendlab: posts -> counts' is in progress (pid ")
        assert settings.flink_rest_url in message and "\n" not in message
    with job_operation(settings, "stop", JOB):  # released: the next one goes through
        pass
    # another cluster has a lock of its own
    with job_operation(settings, "deploy", "x"), job_operation(settings.replace(flink_jobmanager_port=1), "deploy", "x"):
        pass


def test_a_refusal_in_the_moment_the_first_takes_the_lock_still_names_it(settings, monkeypatch):
    """The first taker is named from the moment it holds this process's lock, before its lock file is
    written (CI once saw the second of two concurrent deploys refused as "another deploy or stop"); and
    a lock file still empty just after another process took it is read again until it names its holder."""
    from trendlab.flink import deploy

    inside, go_on = threading.Event(), threading.Event()
    real_lock_path = deploy._lock_path

    def slow_lock_path(s):  # the first taker, between this process's lock and the lock file
        inside.set()
        go_on.wait(10)
        return real_lock_path(s)

    monkeypatch.setattr(deploy, "_lock_path", slow_lock_path)
    held = job_operation(settings, "deploy", "trendlab: a -> b")
    first = threading.Thread(target=held.__enter__)
    first.start()
    assert inside.wait(10)
    with pytest.raises(JobConflict, match=r"^a deploy of 'trendlab: a -> b' is in progress \(pid "):
        with job_operation(settings, "stop", JOB):
            pass
    go_on.set()
    first.join(10)
    held.__exit__(None, None, None)
    with job_operation(settings, "stop", JOB):  # released: the next one goes through
        pass

    path = Path(settings.home) / "holder"
    path.write_bytes(b"")
    fd = os.open(path, os.O_RDWR)
    try:
        threading.Timer(0.1, lambda: os.pwrite(fd, b'{"action": "stop", "job": "j", "pid": 7, "since": 0}', 0)).start()
        assert deploy._holder_text(deploy._read_holder(fd)).startswith("a stop of 'j' is in progress (pid 7")
        os.ftruncate(fd, 0)
        assert deploy._read_holder(fd, wait_s=0.05) == ""  # never written: the generic refusal
    finally:
        os.close(fd)


def test_another_process_holding_the_lock_is_named_and_the_kernel_releases_it(settings):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\n"
         "from trendlab.config import Settings\n"
         "from trendlab.flink.deploy import job_operation\n"
         "with job_operation(Settings.from_env(), 'deploy', 'trendlab: a -> b'):\n"
         "    print('held', flush=True)\n"
         "    time.sleep(120)\n"], env=_env(settings), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(JobConflict, match=rf"a deploy of 'trendlab: a -> b' is in progress \(pid {holder.pid}, "):
            with job_operation(settings, "deploy", "trendlab: a -> b"):
                pass
    finally:
        holder.kill()  # no clean-up of its own: the lock goes with the process
        holder.wait(10)
    with job_operation(settings, "deploy", "trendlab: a -> b"):
        pass


def test_the_service_answers_409_while_another_deploy_or_stop_is_in_progress(settings):
    app = create_app(settings, follow_trends=False)
    client = TestClient(app)
    headers = {"Host": "localhost", "Content-Type": "application/json"}
    with job_operation(settings, "deploy", "trendlab: posts -> counts"):
        r = client.post(f"/flink/jobs/{JOB}/stop", json={"savepoint": False}, headers=headers)
        assert r.status_code == 409, r.text
        assert r.json()["error"].startswith("a deploy of 'trendlab: posts -> counts' is in progress")
    text = client.get("/metrics").text
    assert 'trendlab_deploy_conflicts_total{action="stop"} 1.0' in text
    assert 'trendlab_deploy_conflicts_total{action="deploy"} 0.0' in text


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_stops_promptly_with_a_request_in_flight(tmp_path, sig):
    """A stop request held open by a Flink that never answers (the hung-dependency fixture): on SIGINT or
    SIGTERM ``trendlab serve`` exits within a few seconds, not when the request would have ended (30 s)."""
    hung, others = HungServer(), HungServer()  # Flink; Kafka and MinIO (the trend follower asks Kafka)
    try:
        address = f"127.0.0.1:{others.port}"
        settings = Settings(flink_jobmanager_port=hung.port, kafka_bootstrap_servers=address,
                            minio_endpoint=address, home=str(tmp_path / "home"))
        port = free_port()
        log = tmp_path / "serve.log"
        with open(log, "w") as err:
            server = subprocess.Popen([sys.executable, "-m", "trendlab.cli", "serve", "--port", str(port),
                                       "--metrics-port", "0"], env=_env(settings), stderr=err)
        base = f"http://127.0.0.1:{port}"
        try:
            assert wait_until_live(base), "trendlab serve did not start"
            answers = []

            def stop_request():
                try:
                    answers.append(httpx.post(f"{base}/flink/jobs/{JOB}/stop", json={"savepoint": False},
                                              headers={"Content-Type": "application/json"}, timeout=60).status_code)
                except httpx.HTTPError as exc:
                    answers.append(type(exc).__name__)

            request = threading.Thread(target=stop_request, daemon=True)
            request.start()
            wait_for = time.monotonic() + 10
            while hung.accepted == 0 and time.monotonic() < wait_for:  # the request reached the hung Flink
                time.sleep(0.05)
            assert hung.accepted >= 1
            t0 = time.monotonic()
            server.send_signal(sig)
            server.wait(timeout=20)
            took = time.monotonic() - t0
        finally:
            if server.poll() is None:
                server.kill()
                server.wait(10)
        request.join(10)
        assert took < 10, f"serve took {took:.1f}s to stop: {log.read_text()[-2000:]}"
        # SIGTERM: uvicorn re-raises it once shut down (killed by it: -15); SIGINT: 0 or 130 (interrupted)
        assert server.returncode in ((-sig,) if sig == signal.SIGTERM else (0, 130)), log.read_text()[-2000:]
        assert answers == [503]  # the request in flight was cut, and told so in one line
    finally:
        hung.close()
        others.close()
