"""The local real stack: Kafka (KRaft), MinIO and a Flink standalone cluster, without Docker.

```python
from trendlab.config import get_settings
from trendlab import stack

settings = get_settings()
stack.up(settings)              # idempotent: starts what is not running, waits until all answer
print(stack.status(settings).table())
stack.down(settings)
```

Artefacts are pinned and cached (:mod:`trendlab.stack.artifacts`); state, data, pid files and logs
live under ``<TRENDLAB_HOME>/stack``. A part that cannot start raises :class:`StackError` with a
one-line message naming it.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterable

from trendlab.config import Settings, get_settings
from trendlab.stack import broker, flink_cluster, minio, process
from trendlab.stack.artifacts import kafka_connector_jar
from trendlab.stack.errors import StackError
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
    settings = settings or get_settings()
    return StackStatus([minio.status(settings), broker.status(settings), *flink_cluster.status(settings)])


def up(settings: Settings | None = None, parts: Iterable[str] | None = None) -> StackStatus:
    """Start the parts that are not running (all by default) and wait until each one answers."""
    settings = settings or get_settings()
    chosen = _parts(parts)
    with process.locked(run_dir(settings)):
        for part in chosen:
            {"minio": minio.start, "kafka": broker.start, "flink": flink_cluster.start}[part](settings)
    return status(settings)


def down(settings: Settings | None = None, parts: Iterable[str] | None = None) -> StackStatus:
    """Stop the parts (all by default): SIGTERM, wait, then SIGKILL. Data and logs are kept."""
    settings = settings or get_settings()
    chosen = _parts(parts)
    with process.locked(run_dir(settings)):
        for part in reversed(chosen):
            {"minio": minio.stop, "kafka": broker.stop, "flink": flink_cluster.stop}[part](settings)
    return status(settings)


def kill_taskmanager(settings: Settings | None = None) -> int | None:
    """``kill -9`` the Flink TaskManager; returns its pid (None when it was not running)."""
    settings = settings or get_settings()
    with process.locked(run_dir(settings)):
        return flink_cluster.kill_taskmanager(settings)


def start_taskmanager(settings: Settings | None = None) -> PartStatus:
    """Start a Flink TaskManager again and wait until its slots are registered."""
    settings = settings or get_settings()
    with process.locked(run_dir(settings)):
        return flink_cluster.start_taskmanager(settings)


# -- CLI -----------------------------------------------------------------------------------------

def _cmd_stack(args: argparse.Namespace) -> int:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("trendlab stack: %(message)s"))
    logger = logging.getLogger("trendlab.stack")
    logger.addHandler(handler)
    logger.propagate = False
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    settings = get_settings()
    try:  # a StackError reaches ``trendlab.cli.main``, which prints it as one line
        if args.action == "up":
            result = up(settings, args.parts)
        elif args.action == "down":
            result = down(settings, args.parts)
        else:
            result = status(settings)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    if getattr(args, "json", False):
        print(json.dumps(result.as_dict(), indent=2))
    else:
        print(result.table())
    chosen = _parts(args.parts)  # `stack up flink` against Kafka and MinIO elsewhere succeeds when Flink runs
    if args.action == "up" and not all(p.running for p in result.parts if p.name.split("-")[0] in chosen):
        return 1
    return 0


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stack", help="the local real stack: Kafka, MinIO, Flink cluster")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    for action, text in [
        ("up", "start the parts that are not running and wait until they answer"),
        ("down", "stop the parts (SIGTERM, then SIGKILL); data and logs are kept"),
    ]:
        a = actions.add_parser(action, help=text)
        a.add_argument("parts", nargs="*", metavar="PART",
                       help=f"one or more of {', '.join(PARTS)} (default: all)")
        a.add_argument("--json", action="store_true", help="print the resulting status as JSON")
        a.set_defaults(func=_cmd_stack)
    s = actions.add_parser("status", help="show each part: running, pid, address, version, log")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=_cmd_stack, parts=None)
