"""Where a trendlab job may resume from: checkpoints and savepoints of a job *of the same name*.

A job's name says which topics it reads and writes (:func:`trendlab.flink.job.job_name`), so resuming
another name's state would mix two streams. A restore path is accepted only when it is

* inside the configured bucket: ``s3://<TRENDLAB_BUCKET>/checkpoints/<job id>/chk-<n>`` or
  ``s3://<TRENDLAB_BUCKET>/savepoints/savepoint-<…>`` (no other scheme, bucket or ``..``), and
* of a job with the same name: Flink's REST API knows the job (checkpoints) or lists the savepoint in
  the job's checkpoint history; after a JobManager restart, the name recorded next to the state on
  MinIO (``_trendlab_job``, written by :func:`record_job_name` on deploy and on stop with savepoint).

``latest`` is the newest such path: from the REST API, else from MinIO, never another name's.
"""

from __future__ import annotations

import io
import re

from trendlab.config import Settings
from trendlab.errors import ConfigError
from trendlab.flink.rest_client import FlinkClient

MARKER = "_trendlab_job"
_CHECKPOINT = re.compile(r"checkpoints/(?P<job>[0-9a-f]{32})/chk-\d+")
_SAVEPOINT = re.compile(r"savepoints/savepoint-[0-9a-f]{6}-[0-9a-f]{12}")


def relative_restore_path(settings: Settings, path: str) -> str:
    """The path inside the bucket, or ConfigError when it is anything but the bucket's state dirs
    (checked before anything is asked of Flink or MinIO)."""
    prefix = f"s3://{settings.minio_bucket}/"
    rel = path[len(prefix):].rstrip("/") if path.startswith(prefix) else ""
    if not (_CHECKPOINT.fullmatch(rel) or _SAVEPOINT.fullmatch(rel)):
        shown = path if len(path) <= 120 else path[:117] + "..."
        raise ConfigError(
            f"from_savepoint must be 'latest' or s3://{settings.minio_bucket}/checkpoints/<job id>/chk-<n> or "
            f"s3://{settings.minio_bucket}/savepoints/savepoint-<id>, got {shown!r}"
        )
    return rel


def _job_state_paths(client: FlinkClient, job_id: str) -> set[str]:
    """External paths of a job's checkpoints and savepoints that Flink still lists."""
    data = client.checkpoints(job_id)
    paths = set()
    for entry in [*(data.get("history") or []), *(data.get("latest") or {}).values()]:
        if isinstance(entry, dict) and entry.get("external_path"):
            paths.add(entry["external_path"].rstrip("/"))
    return paths


def check_restore_path(settings: Settings, path: str) -> str:
    """``path`` when it is a checkpoint/savepoint of a job named like this one (module docstring)."""
    from trendlab.flink.job import job_name

    rel = relative_restore_path(settings, path)
    name = job_name(settings)
    path = f"s3://{settings.minio_bucket}/{rel}"
    with FlinkClient.from_settings(settings, timeout=10.0) as client:
        for job in client.jobs():
            if job.name != name:
                continue
            match = _CHECKPOINT.fullmatch(rel)
            if match and match.group("job") == job.id:
                return path
            if path in _job_state_paths(client, job.id):
                return path
    recorded = _recorded_name(settings, rel.rsplit("/", 1)[0] if _CHECKPOINT.fullmatch(rel) else rel)
    if recorded == name:
        return path
    raise ConfigError(f"from_savepoint {path!r} is not a checkpoint or savepoint of a {name!r} job")


def latest_restore_path(settings: Settings) -> str:
    """The newest completed checkpoint/savepoint of the newest job of the same name (REST, else MinIO)."""
    from trendlab.flink.job import job_name

    name = job_name(settings)
    with FlinkClient.from_settings(settings) as client:
        for job in client.jobs():
            if job.name != name:
                continue
            cp = client.latest_checkpoint(job.id)
            if cp is not None and cp.external_path:
                return cp.external_path
    path = _latest_on_minio(settings, name)
    if path:
        return path
    raise ConfigError(f"from_savepoint latest: no completed checkpoint or savepoint of a {name!r} job to resume from")


# -- the job name next to the state on MinIO -------------------------------------------------------

def _minio(settings: Settings):
    from minio import Minio

    endpoint = settings.minio_url.split("://", 1)[1]
    return Minio(endpoint, settings.minio_access_key, settings.minio_secret_key,
                 secure=settings.minio_url.startswith("https://"))


def record_job_name(settings: Settings, state_dir: str, name: str) -> None:
    """Write ``<state_dir>/_trendlab_job`` (the job's name) into the bucket; best effort."""
    prefix = f"s3://{settings.minio_bucket}/"
    if not state_dir.startswith(prefix):
        return
    data = name.encode()
    try:
        _minio(settings).put_object(settings.minio_bucket, f"{state_dir[len(prefix):].rstrip('/')}/{MARKER}",
                                    io.BytesIO(data), len(data), content_type="text/plain")
    except Exception:  # noqa: BLE001 - the REST API is the first source; the marker only helps after a restart
        pass


def _recorded_name(settings: Settings, rel_dir: str) -> str | None:
    try:
        response = _minio(settings).get_object(settings.minio_bucket, f"{rel_dir}/{MARKER}")
    except Exception:  # noqa: BLE001 - no marker, or MinIO does not answer: not verifiable
        return None
    try:
        return response.read().decode("utf-8", "replace")
    finally:
        response.close()
        response.release_conn()


def _latest_on_minio(settings: Settings, name: str) -> str | None:
    """Newest ``_metadata`` under ``checkpoints/``/``savepoints/`` whose recorded job name is ``name``."""
    try:
        client = _minio(settings)
        found = []
        for prefix in ("checkpoints/", "savepoints/"):
            for obj in client.list_objects(settings.minio_bucket, prefix=prefix, recursive=True):
                if obj.object_name.endswith("/_metadata"):
                    found.append(obj)
    except Exception:  # noqa: BLE001 - MinIO down: nothing to resume from there
        return None
    for obj in sorted(found, key=lambda o: o.last_modified, reverse=True):
        rel = obj.object_name.rsplit("/", 1)[0]
        owner = rel.rsplit("/", 1)[0] if _CHECKPOINT.fullmatch(rel) else rel
        if (_CHECKPOINT.fullmatch(rel) or _SAVEPOINT.fullmatch(rel)) and _recorded_name(settings, owner) == name:
            return f"s3://{settings.minio_bucket}/{rel}"
    return None
