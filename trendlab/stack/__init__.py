"""The local real stack: Kafka (KRaft), MinIO and a Flink standalone cluster, without Docker.

```python
from trendlab.env_defaults import settings_from_env
from trendlab import stack

settings = settings_from_env()
stack.up(settings)              # idempotent: starts what is not running, waits until all answer
print(stack.status(settings).table())
stack.down(settings)
```

Artefacts are pinned and cached (:mod:`trendlab.stack.artifacts`); state, data, pid files and logs
live under ``<TRENDLAB_HOME>/stack``. A part that cannot start raises :class:`StackError` with a
one-line message naming it.
"""

from __future__ import annotations

from collections.abc import Iterable

from trendlab.config import Settings
from trendlab.env_defaults import settings_from_env
from trendlab.stack import broker, flink_cluster, minio, process
from trendlab.stack.artifacts import kafka_connector_jar
from trendlab.errors import StackError
from trendlab.stack.parts import PartStatus, StackStatus, run_dir, stack_home

__all__ = [
    "PARTS", "PartStatus", "StackError", "StackStatus", "down", "kafka_connector_jar", "kill_taskmanager",
    "stack_home", "start_taskmanager", "status", "up",
]

#: Parts in start order; ``down`` stops them in reverse.
PARTS = ("minio", "kafka", "flink")


def _parts(parts: Iterable[str] | None) -> list[str]:
    chosen = list(PARTS) if not parts else list(dict.fromkeys(parts))
    unknown = [p for p in chosen if p not in PARTS]
    if unknown:
        raise StackError(f"unknown stack part {unknown[0]!r}; choose from {', '.join(PARTS)}")
    return [p for p in PARTS if p in chosen]


def status(settings: Settings | None = None) -> StackStatus:
    """Every part: running or not, pid, address, version, log file."""
    settings = settings or settings_from_env()
    return StackStatus([minio.status(settings), broker.status(settings), *flink_cluster.status(settings)])


def up(settings: Settings | None = None, parts: Iterable[str] | None = None) -> StackStatus:
    """Start the parts that are not running (all by default) and wait until each one answers."""
    settings = settings or settings_from_env()
    chosen = _parts(parts)
    with process.locked(run_dir(settings)):
        for part in chosen:
            {"minio": minio.start, "kafka": broker.start, "flink": flink_cluster.start}[part](settings)
    return status(settings)


def down(settings: Settings | None = None, parts: Iterable[str] | None = None) -> StackStatus:
    """Stop the parts (all by default): SIGTERM, wait, then SIGKILL. Data and logs are kept."""
    settings = settings or settings_from_env()
    chosen = _parts(parts)
    with process.locked(run_dir(settings)):
        for part in reversed(chosen):
            {"minio": minio.stop, "kafka": broker.stop, "flink": flink_cluster.stop}[part](settings)
    return status(settings)


def kill_taskmanager(settings: Settings | None = None) -> int | None:
    """``kill -9`` the Flink TaskManager; returns its pid (None when it was not running)."""
    settings = settings or settings_from_env()
    with process.locked(run_dir(settings)):
        return flink_cluster.kill_taskmanager(settings)


def start_taskmanager(settings: Settings | None = None) -> PartStatus:
    """Start a Flink TaskManager again and wait until its slots are registered."""
    settings = settings or settings_from_env()
    with process.locked(run_dir(settings)):
        return flink_cluster.start_taskmanager(settings)
