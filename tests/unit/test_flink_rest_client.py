"""Flink REST client and deploy helpers that need no cluster (the REST calls themselves are integration)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from trendlab.cli import main as cli_main
from trendlab.config import Settings
from trendlab.flink.rest_client import FlinkClient, FlinkError, _root_cause
from trendlab.flink.deploy import PYTHON_DRIVER, flink_python_jar, program_args
from waiting import free_port


def test_unreachable_jobmanager_is_one_line():
    client = FlinkClient(f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(FlinkError) as info:
        client.overview()
    message = str(info.value)
    assert "does not answer" in message and "\n" not in message


def test_root_cause_keeps_deepest_caused_by():
    trace = [
        "org.apache.flink.runtime.rest.handler.RestHandlerException: Could not execute application.\n"
        "\tat foo\nCaused by: java.lang.RuntimeException: outer\n\tat bar\n"
        "Caused by: org.apache.kafka.common.errors.TimeoutException: Topic bluesky-posts not present\n\tat baz"
    ]
    assert _root_cause(trace) == "org.apache.kafka.common.errors.TimeoutException: Topic bluesky-posts not present"


def test_flink_python_jar_comes_from_the_wheel():
    jar = flink_python_jar()
    assert jar.name.startswith("flink-python") and jar.suffix == ".jar" and jar.is_file()


def test_program_args_carry_params_and_settings(tmp_path):
    settings = Settings(kafka_topic_posts="p", flink_parallelism=2, minio_secret_key="s3cret")
    args = program_args(settings, json.dumps({"window": "10m"}))
    assert args[:2] == ["-pym", "trendlab.flink.job"]
    shipped = json.loads(args[args.index("--settings-json") + 1])
    assert shipped["kafka_topic_posts"] == "p"
    assert "minio_secret_key" not in shipped  # secrets are not put on a command line
    assert args[args.index("--profile") + 1] == "remote"
    assert PYTHON_DRIVER.endswith("PythonDriver")


@pytest.mark.parametrize(
    "argv, flag",
    [(["deploy", "--window", "7x"], "--window"), (["deploy", "--slide", "0s"], "--slide")],
)
def test_deploy_bad_duration_is_one_line(argv, flag, capsys):
    assert cli_main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert flag in err and "\n" not in err


def test_jobs_without_jobmanager_is_one_line(monkeypatch, capsys):
    monkeypatch.setenv("FLINK_JOBMANAGER_PORT", str(free_port()))
    assert cli_main(["jobs"]) == 2
    err = capsys.readouterr().err.strip()
    assert "does not answer" in err and "\n" not in err


def test_the_submission_names_nothing_on_the_callers_machine():
    """No executable, package directory or home of the client in what the cluster is sent: the
    cluster runs the job with its own Python and its own trendlab."""
    import sys

    import trendlab

    settings = Settings(home="/home/client/.local/share/trendlab", cache_dir="/home/client/.cache/trendlab")
    args = program_args(settings, json.dumps({"window": "6m"}), extra=["--startup-mode", "earliest-offset"])
    text = json.dumps(args)
    for local in (sys.executable, str(Path(sys.executable).resolve()), str(Path(trendlab.__file__).parent),
                  settings.home, settings.cache_dir, sys.prefix):
        assert local not in text, local
    assert not {"-pyfs", "-pyexec", "-pyclientexec", "-pyarch", "-pyreq"} & set(args)
