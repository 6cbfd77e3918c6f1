"""The job record: what notebook 03 started, written for notebook 04 and the report.

``out_dir/job/job.json`` holds one :class:`JobRecord`. Notebook 03 writes it (profile ``embedded``:
the finished mini-cluster run and its outputs; ``local``: the job id on the cluster and its first
checkpoint), notebook 04 reads it back to find the job's outputs and status, and the report shows it.
The step helpers here (:func:`job_status`, :func:`checkpoint_objects`) keep a notebook cell a line or two.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from trendlab.config import Profile, Settings
from trendlab.errors import ConfigError, InputError, MissingFile

__all__ = ["JOB_RECORD", "Checkpoint", "JobRecord", "checkpoint_objects", "job_status", "read_job_record",
           "write_job_record"]

JOB_RECORD = Path("job") / "job.json"


@dataclass(frozen=True)
class Checkpoint:
    id: int
    path: str


@dataclass(frozen=True)
class JobRecord:
    """One run of the job. ``embedded`` runs are finished when written and carry their figures
    (posts, counts, alerts, seconds, outputs); ``local`` runs carry the checkpoint they reached."""

    profile: Profile
    job_id: str
    state: str
    engine: str
    params: dict[str, Any] = field(default_factory=dict)
    posts: int | None = None
    counts: int | None = None
    alerts: int | None = None
    seconds: float | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    checkpoint: Checkpoint | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "profile", Profile(self.profile))
        if isinstance(self.checkpoint, Mapping):
            object.__setattr__(self, "checkpoint", Checkpoint(int(self.checkpoint["id"]), str(self.checkpoint["path"])))

    def to_dict(self) -> dict[str, Any]:
        """The ``job.json`` form (fields that are not set are left out)."""
        out = {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, {}, [])}
        out["profile"] = self.profile.value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "job record") -> JobRecord:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"{where}: unknown field {unknown[0]!r}")
        try:
            return cls(**dict(data))
        except TypeError as exc:
            raise InputError(f"{where}: {exc}") from None
        except ValueError as exc:  # an unknown profile
            raise InputError(f"{where}: {exc}") from None


def write_job_record(out_dir: str | Path, record: JobRecord) -> Path:
    """``out_dir/job/job.json``: what 03 started, for 04."""
    path = Path(out_dir) / JOB_RECORD
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record.to_dict(), indent=2, default=str))
    return path


def read_job_record(out_dir: str | Path) -> JobRecord:
    path = Path(out_dir) / JOB_RECORD
    if not path.exists():
        raise MissingFile(f"no job record at {path}: run notebooks/03_deploy_job first (same out_dir)")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    return JobRecord.from_dict(data, str(path))


def _split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith(("s3://", "s3a://", "s3p://")):
        raise ConfigError(f"checkpoint path must be an s3:// URI, got {uri!r}")
    bucket, _, prefix = uri.split("://", 1)[1].partition("/")
    return bucket, prefix.rstrip("/") + "/"


def checkpoint_objects(settings: Settings, external_path: str) -> pd.DataFrame:
    """The objects of a checkpoint on MinIO: ``object, bytes, last_modified`` (``_metadata`` first)."""
    from trendlab.stack.minio import client

    bucket, prefix = _split_s3(external_path)
    rows = [
        {"object": f"s3://{bucket}/{o.object_name}", "bytes": o.size, "last_modified": o.last_modified}
        for o in client(settings).list_objects(bucket, prefix=prefix, recursive=True)
    ]
    frame = pd.DataFrame(rows, columns=["object", "bytes", "last_modified"])
    return frame.sort_values("object", key=lambda s: ~s.str.endswith("/_metadata")).reset_index(drop=True)


def job_status(record: JobRecord, settings: Settings | None = None) -> pd.DataFrame:
    """The job's state and its latest checkpoint, as a two-column table.

    Embedded runs are finished when 03 returns, so their record is their status; for ``local`` the
    Flink REST API is asked now.
    """
    rows: list[tuple[str, Any]] = [("profile", record.profile.value), ("job id", record.job_id)]
    if record.profile is Profile.EMBEDDED:
        rows += [("state", record.state), ("engine", record.engine), ("posts", record.posts),
                 ("window counts", record.counts), ("alerts", record.alerts), ("seconds", record.seconds)]
    else:
        from trendlab.env_defaults import settings_from_env
        from trendlab.flink.rest_client import FlinkClient

        settings = settings or settings_from_env()
        with FlinkClient.from_settings(settings) as client:
            rows.append(("state", client.job_state(record.job_id)))
            cp = client.latest_checkpoint(record.job_id)
            counts = client.checkpoints(record.job_id).get("counts", {})
        rows += [("checkpoints completed", counts.get("completed")), ("checkpoints failed", counts.get("failed")),
                 ("latest checkpoint", f"#{cp.id} {cp.external_path}" if cp else "none yet")]
    return pd.DataFrame(rows, columns=["what", "value"])
