"""Deploy to a Flink cluster that shares nothing with the client but Kafka and the S3 store.

The steps of docs/operating.md "A Flink session cluster that is not on this machine", on one machine:

1. the cluster's own Python: a virtual environment of its own with trendlab installed from the
   built wheel (not this checkout), cached under ``~/.cache/trendlab/remote-cluster`` by the wheel's
   content so a later run reuses it;
2. its own configuration from :mod:`trendlab.flink_kafka_conf` (its Python, checkpoints on S3/MinIO, its ports),
   written and started by *its* trendlab (``trendlab stack up flink``) from a directory of its own,
   with its own ``TRENDLAB_HOME``;
3. Kafka and the S3 store from the environment (the local stack's);
4. the client (this process's trendlab) deploys through the REST API only, with no params file on
   either side, and the job's output equals ``trendlab replay`` of the same posts.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from trendlab.config import Settings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stderr[-3000:]}"
    return done


def _content_hash(wheel: Path) -> str:
    """The wheel's files, not its zip bytes (timestamps differ between checkouts)."""
    import zipfile

    digest = hashlib.sha256()
    with zipfile.ZipFile(wheel) as zf:
        for name in sorted(zf.namelist()):
            digest.update(name.encode() + b"\0" + zf.read(name))
    return digest.hexdigest()[:16]


@pytest.fixture(scope="module")
def cluster_python(tmp_path_factory) -> Path:
    """A virtual environment with trendlab installed from its wheel. The environment is kept under
    ``~/.cache/trendlab/remote-cluster`` per dependency set (pyproject.toml), so a later run only
    reinstalls trendlab itself when its files changed."""
    dist = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist),
          str(ROOT)], timeout=600)
    wheel = next(dist.glob("trendlab-*.whl"))
    deps = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    cache = Path(os.environ.get("TRENDLAB_CACHE") or Path.home() / ".cache" / "trendlab") / "remote-cluster"
    venv = cache / f"venv-{deps}"
    python = venv / "bin" / "python"
    installed = venv / ".trendlab-wheel"
    if not installed.is_file():
        for old in cache.glob("venv-*"):  # one environment at a time
            shutil.rmtree(old, ignore_errors=True)
        _run([sys.executable, "-m", "venv", str(venv)], timeout=300)
        _run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], timeout=1800)
    elif installed.read_text().strip() != _content_hash(wheel):
        _run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", str(wheel)],
             timeout=600)
    installed.write_text(_content_hash(wheel) + "\n")
    # its trendlab is the wheel's, not this checkout
    where = _run([str(python), "-c", "import trendlab; print(trendlab.__file__)"], cwd=str(cache)).stdout
    assert str(venv) in where and str(ROOT) not in where
    return python


@pytest.fixture(scope="module")
def remote(live_stack, stack_settings: Settings, cluster_python: Path, tmp_path_factory):
    """A second Flink cluster (JobManager + TaskManager) with its own home, ports and Python."""
    rest, rpc, metrics = _free_ports(3)
    home = tmp_path_factory.mktemp("remote-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRENDLAB_", "FLINK_", "PYTHON", "VIRTUAL_ENV"))}
    env.update({
        "PATH": f"{cluster_python.parent}{os.pathsep}{env.get('PATH', '')}",
        "TRENDLAB_HOME": str(home),
        "TRENDLAB_CACHE": stack_settings.cache_dir,  # the downloaded jars: the same pinned artefacts
        "FLINK_JOBMANAGER_PORT": str(rest), "TRENDLAB_FLINK_RPC_PORT": str(rpc),
        "TRENDLAB_FLINK_METRICS_PORTS": str(metrics),
        "TRENDLAB_TASKMANAGER_MEMORY": "1536m",
        "KAFKA_BOOTSTRAP_SERVERS": stack_settings.kafka_bootstrap_servers,
        "MINIO_ENDPOINT": stack_settings.minio_endpoint, "MINIO_ACCESS_KEY": stack_settings.minio_access_key,
        "MINIO_SECRET_KEY": stack_settings.minio_secret_key, "TRENDLAB_BUCKET": stack_settings.minio_bucket,
    })
    trendlab = str(cluster_python.parent / "trendlab")
    try:  # stopped even when it fails to start
        _run([trendlab, "stack", "up", "flink"], cwd=str(home), env=env, timeout=600)
        yield stack_settings.replace(flink_jobmanager_port=rest), env
    finally:
        subprocess.run([trendlab, "stack", "down", "flink"], cwd=str(home), env=env, capture_output=True, timeout=300)


def test_deploy_to_a_cluster_that_shares_nothing(remote, cluster_python: Path, tmp_path_factory, add_malformed):
    from trendlab.flink.rest_client import FlinkClient
    from trendlab.kafka import delete_topics, ensure_topics, job_topics, produce, read_stream
    from trendlab.replay import replay
    from trendlab.samples import generate

    from test_flink_deployed import assert_same_output, close_all_windows  # tests/integration is on sys.path

    base, _ = remote
    suffix = uuid.uuid4().hex[:8]
    settings = base.with_own_topics(f"rc-{suffix}").replace(checkpoint_interval_ms=2000)
    out = tmp_path_factory.mktemp("rc-sample")
    generate(out, hours=1.0, rate=2, seed=5)
    path = out / "posts.jsonl"
    add_malformed(path)
    result = replay(path, progress=False)  # no params file
    frame = result.counts.copy()
    for col in ("window_start", "window_end"):
        frame[col] = frame[col].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    expected = (frame.set_index(["keyword", "window_start", "window_end"])[["count", "unique_authors", "unique_contents"]].sort_index(),
                [a.to_dict() for a in result.alerts])

    ensure_topics(settings, job_topics(settings), partitions=settings.flink_parallelism)
    job_id = None
    try:
        produced = produce(settings, path, progress=False)
        env = {**os.environ, **settings.to_env()}
        done = _run([sys.executable, "-m", "trendlab.cli", "deploy", "--json"], env=env, timeout=600)
        job_id = json.loads(done.stdout)["job_id"]
        close_all_windows(settings, read_stream(path)[0])
        assert_same_output(settings, expected, produced.stats.malformed)
        with FlinkClient.from_settings(settings) as client:
            assert client.job_state(job_id) == "RUNNING"
            checkpoint = client.latest_checkpoint(job_id)
        assert checkpoint is not None and checkpoint.external_path.startswith(f"s3://{settings.minio_bucket}/")
    finally:
        if job_id:
            with FlinkClient.from_settings(settings) as client:
                client.cancel(job_id)
        delete_topics(settings, job_topics(settings))
    # the cluster ran the job with its own Python, configured by its own trendlab (trendlab.flink_kafka_conf)
    conf_file = Path(remote[1]["TRENDLAB_HOME"]) / "stack" / "flink" / "conf" / "config.yaml"
    text = conf_file.read_text()
    assert f"python.executable: {cluster_python}" in text and sys.executable not in text
