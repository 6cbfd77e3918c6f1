"""Everything a user can fix is one line on stderr and exit status 2 (trendlab.errors, caught once in
trendlab.cli.main), including a service that does not answer; the Kafka client's own log stays quiet
unless LOG_LEVEL=DEBUG.

These run the real ``trendlab`` command in a subprocess against ports where nothing listens (a socket
bound but not listening, so no other process can take the port during the test): connections are
refused, exactly as when the stack is down.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from trendlab import errors

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "samples" / "small" / "posts.jsonl"


@pytest.fixture(scope="module")
def dead_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))  # bound, never listening: every connection is refused
        yield s.getsockname()[1]


def _trendlab(args: list[str], dead_port: int, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{dead_port}",
        "FLINK_JOBMANAGER_PORT": str(dead_port),
        "MINIO_ENDPOINT": f"127.0.0.1:{dead_port}",
        "TRENDLAB_HOME": str(tmp_path / "home"),
        "LOG_LEVEL": "INFO",
        "TRENDLAB_KAFKA_TIMEOUT_S": "2",
        **env,
    }
    return subprocess.run([sys.executable, "-m", "trendlab.cli", *args], capture_output=True, text=True,
                          env=environ, timeout=120)


def _one_line(result: subprocess.CompletedProcess, command: str, *needles: str) -> str:
    lines = result.stderr.splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"trendlab {command}: ")
    for needle in needles:
        assert needle in lines[0]
    assert "Traceback" not in result.stderr
    return lines[0]


def test_produce_without_kafka_is_one_line(dead_port, tmp_path):
    result = _trendlab(["produce", str(SAMPLE)], dead_port, tmp_path)
    _one_line(result, "produce", f"Kafka at 127.0.0.1:{dead_port} does not answer")
    assert result.stdout == ""


def test_consume_without_kafka_is_one_line(dead_port, tmp_path):
    result = _trendlab(["consume", "--topic", "bluesky-posts", "--timeout", "1"], dead_port, tmp_path)
    _one_line(result, "consume", f"Kafka at 127.0.0.1:{dead_port} does not answer")


def test_deploy_without_flink_or_kafka_is_one_line(dead_port, tmp_path):
    result = _trendlab(["deploy"], dead_port, tmp_path)
    _one_line(result, "deploy", f"127.0.0.1:{dead_port}", "does not answer")


def test_kafka_client_log_shows_with_log_level_debug(dead_port, tmp_path):
    result = _trendlab(["consume", "--topic", "bluesky-posts", "--timeout", "1"], dead_port, tmp_path,
                       LOG_LEVEL="DEBUG")
    assert result.returncode == 2
    assert " kafka." in result.stderr  # kafka-python's own records, e.g. "DEBUG kafka.conn: ..."
    assert result.stderr.splitlines()[-1].startswith("trendlab consume: Kafka at")


@pytest.mark.parametrize(
    "args, command, needle",
    [
        (["replay", "no-such-file.jsonl", "--out", "OUT"], "replay", "input file not found"),
        (["replay", str(SAMPLE), "--window", "7m", "--slide", "2m", "--out", "OUT"], "replay",
         "window (7m) must be a whole multiple of slide (2m)"),
        (["evaluate", "--alerts", "no-such-alerts.jsonl", "--labels", "no-such-labels.json"], "evaluate",
         "not found"),
        (["tune", str(SAMPLE), "--labels", "no-such-labels.json", "--grid", "no-such-grid.yaml",
          "--out", "OUT/p.yaml"], "tune", "not found"),
        (["samples", "generate", "--out", "OUT", "--hours", "-1"], "samples", "hours must be positive"),
        (["extract", "--min-length", "0", "word"], "extract", "min_length"),
        (["deploy", "--params", "no-such-params.yaml"], "deploy", "params file not found"),
        (["pipeline", "--out", "OUT", "--sample", "no-such-sample"], "pipeline", "sample not found"),
    ],
)
def test_user_errors_are_one_line(args, command, needle, dead_port, tmp_path):
    args = [a.replace("OUT", str(tmp_path / "out")) for a in args]
    _one_line(_trendlab(args, dead_port, tmp_path), command, needle)


def test_the_family():
    for kind in (errors.ConfigError, errors.InputError, errors.MissingFile, errors.ServiceUnavailable,
                 errors.StackError):
        assert issubclass(kind, errors.TrendlabError)
    from trendlab.flink.rest_client import FlinkError
    from trendlab.kafka import KafkaUnavailable
    from trendlab.core.models import MalformedPost
    from trendlab.pipeline import PipelineError
    from trendlab.core.windows import WindowShapeError

    for kind in (FlinkError, KafkaUnavailable, MalformedPost, PipelineError, WindowShapeError):
        assert issubclass(kind, errors.TrendlabError)
    assert issubclass(errors.MissingFile, FileNotFoundError)
