"""The MinIO server of the local stack: S3 storage for Flink checkpoints and savepoints.

The binary is built from the Go module proxy (:func:`trendlab.stack.artifacts.minio_binary`); it is
ready when ``/minio/health/live`` answers 200; the bucket of :class:`Settings` is then created with
the ``minio`` Python client.
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

from trendlab.config import Settings
from trendlab.stack import artifacts, process
from trendlab.errors import StackError
from trendlab.stack.parts import PartStatus, log_dir, run_dir, stack_home

log = logging.getLogger("trendlab.stack")

NAME = "minio"
START_TIMEOUT_S = 60.0


def _data_dir(settings: Settings) -> Path:
    return stack_home(settings) / "minio" / "data"


def log_path(settings: Settings) -> Path:
    return log_dir(settings) / "minio.log"


def address(settings: Settings) -> tuple[str, int]:
    return process.split_host_port(settings.minio_endpoint, 9000)


def _check_credentials(settings: Settings) -> None:
    if len(settings.minio_access_key) < 3:
        raise StackError("minio: MINIO_ACCESS_KEY must be at least 3 characters")
    if len(settings.minio_secret_key) < 8:
        raise StackError("minio: MINIO_SECRET_KEY must be at least 8 characters")


def client(settings: Settings):
    """A ``minio.Minio`` client for the stack's server."""
    from minio import Minio

    host, port = address(settings)
    return Minio(
        f"{host}:{port}", access_key=settings.minio_access_key, secret_key=settings.minio_secret_key,
        secure=settings.minio_url.startswith("https://"),
    )


def _version(binary: Path) -> str:
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return f"minio {artifacts.MINIO_VERSION}"
    first = out.splitlines()[0] if out else ""
    return first.replace("minio version ", "minio ").strip() or f"minio {artifacts.MINIO_VERSION}"


def _marker(settings: Settings) -> tuple[str, str]:
    return ("minio", f"server {_data_dir(settings)}")


def status(settings: Settings) -> PartStatus:
    host, port = address(settings)
    pid = process.running_pid(run_dir(settings), NAME, _marker(settings))
    return PartStatus(
        name=NAME, running=pid is not None, pid=pid, address=f"{host}:{port}",
        log=str(log_path(settings)), version=f"minio {artifacts.MINIO_VERSION}",
        detail=f"console {host}:{settings.minio_console_port}, bucket {settings.minio_bucket}",
    )


def healthy(settings: Settings) -> bool:
    import httpx

    host, port = address(settings)
    scheme = "https" if settings.minio_url.startswith("https://") else "http"
    return httpx.get(f"{scheme}://{host}:{port}/minio/health/live", timeout=2.0).status_code == 200


def start(settings: Settings) -> PartStatus:
    """Start the server unless it runs; wait until it is healthy; create the bucket."""
    _check_credentials(settings)
    if not status(settings).running:
        _launch(settings)
    process.wait_until(
        lambda: healthy(settings), part=NAME, what="/minio/health/live answering 200",
        timeout=START_TIMEOUT_S, pid=status(settings).pid, log_file=log_path(settings),
    )
    ensure_bucket(settings)
    return status(settings)


def _launch(settings: Settings) -> None:
    host, port = address(settings)
    process.check_port_free(NAME, host, port)
    process.check_port_free(NAME, host, settings.minio_console_port)
    binary = artifacts.minio_binary(settings)
    data = _data_dir(settings)
    data.mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ,
        MINIO_ROOT_USER=settings.minio_access_key,
        MINIO_ROOT_PASSWORD=settings.minio_secret_key,
        MINIO_BROWSER="on",
        MINIO_UPDATE="off",
    )
    log.info("starting minio on %s:%d (%s)", host, port, _version(binary))
    pid = process.start(
        [str(binary), "server", str(data), "--address", f"{host}:{port}",
         "--console-address", f"{host}:{settings.minio_console_port}"],
        log_file=log_path(settings), env=env, cwd=data.parent,
    )
    process.write_pid(run_dir(settings), NAME, pid)


def ensure_bucket(settings: Settings) -> bool:
    """Create the checkpoint bucket when missing; True when it was created."""
    from minio.error import S3Error

    minio = client(settings)
    try:
        if minio.bucket_exists(settings.minio_bucket):
            return False
        minio.make_bucket(settings.minio_bucket)
    except S3Error as exc:
        raise StackError(f"minio: cannot create bucket {settings.minio_bucket!r}: {exc.code}: {exc.message}") from None
    log.info("created minio bucket %s", settings.minio_bucket)
    return True


def stop(settings: Settings) -> PartStatus:
    pid = status(settings).pid
    if pid is not None:
        log.info("stopping minio (pid %d)", pid)
        process.stop(pid, timeout=30)
    process.clear_pid(run_dir(settings), NAME)
    return status(settings)
