"""The local real stack: every part answers, `up` is idempotent, checkpoints land in MinIO, the
TaskManager can be killed and started again, and a part that cannot start says so in one line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from trendlab import stack
from trendlab.config import Settings
from trendlab.stack import broker, minio
from waiting import free_port

pytestmark = pytest.mark.integration

TRENDLAB = str(Path(sys.executable).with_name("trendlab"))


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TRENDLAB, *args], capture_output=True, text=True, env=env, timeout=300)


# -- every part answers --------------------------------------------------------------------------

def test_every_part_runs_with_pid_port_version_and_log(live_stack: stack.StackStatus, stack_settings: Settings) -> None:
    current = stack.status(stack_settings)  # now: other tests may have restarted the TaskManager
    names = [part.name for part in current.parts]
    assert names == ["minio", "kafka", "flink-jobmanager", "flink-taskmanager"]
    for part in current.parts:
        assert part.running, part.line()
        assert part.pid and Path(f"/proc/{part.pid}").exists(), part.line()
        assert part.version and part.address
        assert Path(part.log).is_file(), f"{part.name}: no log at {part.log}"


def test_kafka_answers_metadata_and_has_the_topics(live_stack, stack_settings: Settings) -> None:
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=stack_settings.kafka_bootstrap_servers, request_timeout_ms=10000)
    try:
        assert admin.describe_cluster()["brokers"]
        topics = {t["name"]: len(t["partitions"]) for t in admin.describe_topics()}
    finally:
        admin.close()
    for name, partitions in broker.topic_partitions(stack_settings).items():
        assert name in topics, f"topic {name} missing"
    assert topics[stack_settings.kafka_topic_posts] >= 2


def test_minio_is_live_and_has_the_bucket(live_stack, stack_settings: Settings) -> None:
    assert minio.healthy(stack_settings)
    assert minio.client(stack_settings).bucket_exists(stack_settings.minio_bucket)


def test_flink_overview_shows_the_taskmanager_slots(live_stack, stack_settings: Settings) -> None:
    overview = httpx.get(f"{stack_settings.flink_rest_url}/overview", timeout=5).json()
    assert overview["taskmanagers"] >= 1
    assert overview["slots-total"] >= stack_settings.flink_parallelism
    assert overview["flink-version"] == "2.2.1"


def test_flinks_prometheus_reporter_serves_both_processes(live_stack, stack_settings: Settings) -> None:
    from trendlab.stack.flink_cluster import metrics_endpoints

    low, high = stack_settings.flink_metrics_port_range
    endpoints = metrics_endpoints(stack_settings)
    assert all(low <= int(url.rsplit(":", 1)[1].split("/")[0]) <= high for url in endpoints), endpoints
    text = "".join(httpx.get(url, timeout=10).text for url in endpoints)
    assert "flink_jobmanager_numRegisteredTaskManagers" in text
    assert "flink_taskmanager_Status_JVM_Memory_Heap_Used" in text


def test_up_again_leaves_running_parts_alone(live_stack, stack_settings: Settings) -> None:
    before = {part.name: part.pid for part in stack.status(stack_settings).parts}
    again = stack.up(stack_settings)
    assert again.running
    assert {part.name: part.pid for part in again.parts} == before


def test_cli_status_json(live_stack) -> None:
    import json

    result = _cli("stack", "status", "--json", env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["running"] is True
    assert {p["name"] for p in status["parts"]} >= {"kafka", "minio", "flink-jobmanager", "flink-taskmanager"}


# -- Flink checkpoints to MinIO ------------------------------------------------------------------

def _wait(what: str, probe, timeout: float = 180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


#: Submits the checkpoint probe to the cluster at argv[1]:argv[2], prints its job id and stays until its
#: stdin closes: the job's Python workers call back into this client (PyFlink's loopback mode).
_SUBMIT_PROBE = """
import sys
from pyflink.common import Configuration
from pyflink.table import DataTypes, EnvironmentSettings, TableEnvironment
from pyflink.table.udf import udf

conf = Configuration()
conf.set_string("execution.target", "remote")
conf.set_string("rest.address", sys.argv[1])
conf.set_string("rest.port", sys.argv[2])
conf.set_string("execution.checkpointing.interval", "2 s")
conf.set_string("pipeline.name", "trendlab-stack-checkpoint-probe")
t_env = TableEnvironment.create(EnvironmentSettings.new_instance().in_streaming_mode().with_configuration(conf).build())
t_env.create_temporary_function("bucket", udf(lambda n: n % 10, result_type=DataTypes.BIGINT()))
t_env.execute_sql("CREATE TABLE numbers (n BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '100')")
t_env.execute_sql("CREATE TABLE sink (b BIGINT, c BIGINT) WITH ('connector' = 'blackhole')")
job = t_env.execute_sql("INSERT INTO sink SELECT bucket(n) AS b, COUNT(*) AS c FROM numbers GROUP BY bucket(n)")
print(job.get_job_client().get_job_id(), flush=True)
sys.stdin.read()
"""


@pytest.mark.timeout(480)
def test_a_job_checkpoints_to_minio_and_restores_after_a_taskmanager_kill(live_stack, stack_settings: Settings,
                                                                           tmp_path: Path) -> None:
    """datagen → Python UDF → keyed count in RocksDB → blackhole on the cluster, a checkpoint every
    2 s: the checkpoint is in the bucket, and after ``kill -9`` of the TaskManager the job restores it.

    The job is submitted by a child process (:data:`_SUBMIT_PROBE`) that stays for the test, as a
    user's client does: a PyFlink client in the test process would leave its gateway and gRPC threads
    behind, and a later test that forks (replay's workers) could crash in them."""
    log = tmp_path / "probe-client.log"
    with log.open("w") as err:
        client = subprocess.Popen(
            [sys.executable, "-c", _SUBMIT_PROBE, stack_settings.flink_jobmanager_host,
             str(stack_settings.flink_jobmanager_port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        job_id = _first_line(client, timeout=240, log=log)
    except BaseException:
        _close(client)
        raise
    rest = stack_settings.flink_rest_url

    def checkpoints() -> dict:
        return httpx.get(f"{rest}/jobs/{job_id}/checkpoints", timeout=5).json()

    try:
        latest = _wait("a completed checkpoint", lambda: (checkpoints().get("latest") or {}).get("completed"))
        prefix = f"s3://{stack_settings.minio_bucket}/checkpoints/{job_id}/"
        assert latest["external_path"].startswith(prefix)
        objects = [
            o.object_name
            for o in minio.client(stack_settings).list_objects(
                stack_settings.minio_bucket, prefix=f"checkpoints/{job_id}/", recursive=True
            )
        ]
        assert any(name.endswith("/_metadata") for name in objects), objects
        assert any("/shared/" in name for name in objects), f"no RocksDB files in the bucket: {objects}"

        stack.kill_taskmanager(stack_settings)
        stack.start_taskmanager(stack_settings)
        restored = _wait(
            "the job to restore a checkpoint after the taskmanager kill",
            lambda: (checkpoints().get("latest") or {}).get("restored"),
            timeout=240,
        )
        assert restored["external_path"].startswith(prefix)
        _wait("the job to run again", lambda: httpx.get(f"{rest}/jobs/{job_id}", timeout=5).json()["state"] == "RUNNING")
    finally:
        httpx.patch(f"{rest}/jobs/{job_id}", params={"mode": "cancel"}, timeout=10)
        _close(client)


def _first_line(process: subprocess.Popen, timeout: float, log: Path) -> str:
    """The first line ``process`` prints (its job id), or an AssertionError after ``timeout`` s."""
    import threading

    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not line or not line[0].strip():
        raise AssertionError(f"the probe's client printed no job id (exit code {process.poll()}): "
                             f"{log.read_text(errors='replace')[-2000:]}")
    return line[0].strip()


def _close(process: subprocess.Popen) -> None:
    """Let the probe's client go (stdin closed), killed if it does not within 30 s."""
    try:
        process.stdin.close()
        process.wait(timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        process.kill()
        process.wait(timeout=10)


# -- recovery helpers ----------------------------------------------------------------------------

@pytest.mark.timeout(300)
def test_taskmanager_can_be_killed_and_started_again(live_stack, stack_settings: Settings) -> None:
    pid = stack.kill_taskmanager(stack_settings)
    assert pid is not None
    assert not stack.status(stack_settings).part("flink-taskmanager").running
    restarted = stack.start_taskmanager(stack_settings)
    assert restarted.running and restarted.pid != pid
    overview = httpx.get(f"{stack_settings.flink_rest_url}/overview", timeout=5).json()
    assert overview["slots-available"] >= stack_settings.flink_parallelism


@pytest.mark.timeout(300)
def test_kafka_down_and_up_keeps_its_topics(live_stack, stack_settings: Settings) -> None:
    stopped = stack.down(stack_settings, ["kafka"]).part("kafka")
    assert not stopped.running
    assert stack.status(stack_settings).part("minio").running  # the other parts are left alone
    started = stack.up(stack_settings, ["kafka"]).part("kafka")
    assert started.running
    assert broker.ensure_topics(stack_settings) == []  # nothing was lost, nothing to create


# -- a part that cannot start says so in one line ------------------------------------------------

def _isolated_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        TRENDLAB_HOME=str(tmp_path / "home"),
        KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}",
        TRENDLAB_KAFKA_CONTROLLER_PORT=str(free_port()),
        MINIO_ENDPOINT=f"127.0.0.1:{free_port()}",
        TRENDLAB_MINIO_CONSOLE_PORT=str(free_port()),
    )
    env.update(extra)
    return env


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    return lines[-1]


def test_a_taken_port_is_a_one_line_error(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        env = _isolated_env(tmp_path, KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{port}")
        line = _one_line_error(_cli("stack", "up", "kafka", env=env))
    assert line == f"trendlab stack: kafka: cannot start, port 127.0.0.1:{port} is already taken by another process"


def test_no_java_is_a_one_line_error(tmp_path: Path, live_stack) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    env = _isolated_env(tmp_path, PATH=str(empty))
    env.pop("JAVA_HOME", None)
    line = _one_line_error(_cli("stack", "up", "kafka", env=env))
    assert line.startswith("trendlab stack: kafka: cannot start, no Java runtime")


def test_no_go_is_a_one_line_error(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    env = _isolated_env(tmp_path, PATH=str(empty), TRENDLAB_CACHE=str(tmp_path / "cache"))
    line = _one_line_error(_cli("stack", "up", "minio", env=env))
    assert line == "trendlab stack: minio: cannot build the server: 'go' (the Go toolchain) is not on PATH"


def test_an_unknown_part_is_a_one_line_error(tmp_path: Path) -> None:
    line = _one_line_error(_cli("stack", "up", "zookeeper", env=_isolated_env(tmp_path)))
    assert line == "trendlab stack: unknown stack part 'zookeeper'; choose from minio, kafka, flink"

