"""Submit, list, stop and resume the trendlab job through the Flink REST API.

``deploy_job`` uploads the ``flink-python`` jar of the ``apache-flink`` wheel (once; it is reused while
the JobManager keeps it) and runs its ``PythonDriver`` with ``-pym trendlab.flink.job``: the JobManager
starts the job's Python entry point, which builds the same pipeline as the embedded profile with Kafka
tables. The submission shares nothing with the caller's machine: the cluster runs the job with its own
Python (``python.executable``/``python.client.executable`` of its configuration,
:func:`trendlab.flink_kafka_conf.flink_cluster_conf`) and the ``trendlab`` installed there (the
``docker/flink/Dockerfile`` image, or a virtual environment with the trendlab wheel); parameters and
settings travel as JSON program arguments. The Kafka connector is in the cluster's ``lib/``.

Resuming: ``from_savepoint`` is a checkpoint/savepoint path of a job of the same name in the bucket, or
``"latest"`` for the newest completed checkpoint or savepoint of such a job (:mod:`trendlab.flink.restore`).

**Deploys and stops are serialised** (:func:`job_operation`): one at a time per Flink cluster, across
threads (the REST service) and processes on this machine (the CLI, notebooks), by a lock file under
``TRENDLAB_HOME``; another one in progress is refused at once with :class:`~trendlab.errors.JobConflict`
naming it (the service answers 409). Under that lock a deploy first asks the cluster for a job of the
same name (the same topics) that is not finished: one that runs (or starts, or restarts) is refused
the same way, naming its id and state, unless ``allow_running`` (``trendlab deploy --allow-running``).

**A deploy is bounded in time** (``TRENDLAB_DEPLOY_TIMEOUT_S``): a job whose tasks are not all running
by then (typically: the cluster has no free task slots) is cancelled and the deploy fails in one line
that says how many slots were free.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from trendlab.config import Profile, Settings
from trendlab.core.detect import DetectionParams
from trendlab.params_files import load_params
from trendlab.errors import JobConflict
from trendlab.flink.rest_client import TERMINAL_STATES, FlinkClient, FlinkError, JobInfo
from trendlab.flink.job import job_name
from trendlab.flink.restore import check_restore_path, latest_restore_path, record_job_name

PYTHON_DRIVER = "org.apache.flink.client.python.PythonDriver"
JOB_MODULE = "trendlab.flink.job"

#: Settings the job needs on the cluster (sent as ``--settings-json``; secrets are not sent).
JOB_SETTINGS = (
    "kafka_bootstrap_servers", "kafka_topic_posts", "kafka_topic_trends", "kafka_topic_alerts",
    "kafka_topic_dead_letter", "kafka_topic_late", "flink_parallelism", "minio_bucket", "max_out_of_orderness_s",
    "source_idle_timeout_s",
    "checkpoint_interval_ms", "log_level", "max_message_bytes", "max_keywords", "max_future_s", "min_event_time",
)


def flink_python_jar() -> Path:
    """The ``flink-python`` jar shipped in the ``apache-flink`` wheel."""
    import pyflink

    root = Path(pyflink.__file__).parent
    for folder in ("opt", "lib"):
        found = sorted((root / folder).glob("flink-python*.jar"))
        if found:
            return found[-1]
    raise FlinkError(f"no flink-python jar in {root}/opt or {root}/lib; is apache-flink installed?")


def _jar_id(client: FlinkClient, jar: Path) -> str:
    for entry in client.jars():
        if entry.get("name") == jar.name:
            return entry["id"]
    return client.upload_jar(jar)


def program_args(settings: Settings, params_json: str, *, extra: list[str] | None = None) -> list[str]:
    """The PythonDriver's arguments: the job module, then the job's own (no path or executable of
    the caller: the cluster's configuration names its Python, and trendlab is installed there)."""
    job_settings = {name: getattr(settings, name) for name in JOB_SETTINGS}
    return [
        "-pym", JOB_MODULE,
        "--profile", Profile.REMOTE.value,
        "--params-json", params_json,
        "--settings-json", json.dumps(job_settings, sort_keys=True),
        *(extra or []),
    ]


def list_jobs(settings: Settings, name: str | None = None) -> list[JobInfo]:
    with FlinkClient.from_settings(settings) as client:
        jobs = client.jobs()
    return [j for j in jobs if name is None or j.name == name]


# -- one deploy or stop at a time ---------------------------------------------------------------

_local_locks: dict[str, threading.Lock] = {}
_local_holders: dict[str, str] = {}  # Flink URL -> what holds its lock in this process (JSON)
_local_guard = threading.Lock()


def _lock_path(settings: Settings) -> Path:
    cluster = f"{settings.flink_jobmanager_host}-{settings.flink_jobmanager_port}".replace("/", "_").replace(":", "_")
    return Path(settings.home) / "locks" / f"flink-{cluster}.lock"


def _holder_text(raw: str) -> str:
    try:
        holder = json.loads(raw)
        age = max(0.0, time.time() - float(holder["since"]))
        return f"a {holder['action']} of {holder['job']!r} is in progress (pid {holder['pid']}, for {age:.0f}s)"
    except (ValueError, KeyError, TypeError):
        return "another deploy or stop is in progress"


def _read_holder(fd: int, wait_s: float = 0.5) -> str:
    """What the lock file says of the process that holds it; it writes that just after taking the lock,
    so an empty file is read again for up to ``wait_s`` (a refusal then names the holder)."""
    deadline = time.monotonic() + wait_s
    while True:
        text = os.pread(fd, 4096, 0).decode("utf-8", "replace")
        if text.strip() or time.monotonic() >= deadline:
            return text
        time.sleep(0.01)


@contextmanager
def job_operation(settings: Settings, action: str, job: str) -> Iterator[None]:
    """Hold the cluster's deploy/stop lock for ``action`` (``deploy``/``stop``) of ``job`` (a name or an
    id), or raise :class:`JobConflict` at once naming the one that holds it. Threads of this process
    and processes of this machine (through ``TRENDLAB_HOME``) share it."""
    import fcntl

    with _local_guard:
        local = _local_locks.setdefault(settings.flink_rest_url, threading.Lock())
    holder = {"action": action, "job": job, "pid": os.getpid(), "since": time.time()}
    if not local.acquire(blocking=False):
        raise JobConflict(f"{_holder_text(_local_holders.get(settings.flink_rest_url, ''))} on {settings.flink_rest_url}; "
                          f"try again when it is done")
    # named at once: a thread refused from here on reads who holds it (not an empty holder)
    _local_holders[settings.flink_rest_url] = json.dumps(holder)
    fd = None
    try:
        path = _lock_path(settings)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            fd = None  # an unwritable home: this process's lock still serialises its own threads
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                other = _read_holder(fd)
                raise JobConflict(f"{_holder_text(other)} on {settings.flink_rest_url}; try again when it is done") \
                    from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(holder).encode(), 0)
        yield
    finally:
        if fd is not None:
            try:
                os.ftruncate(fd, 0)
            except OSError:
                pass
            os.close(fd)  # releases the flock
        _local_holders[settings.flink_rest_url] = ""
        local.release()


def active_jobs(client: FlinkClient, name: str) -> list[JobInfo]:
    """Jobs called ``name`` that are not finished (running, starting, restarting…), newest first."""
    return [j for j in client.jobs() if j.name == name and j.state not in TERMINAL_STATES]


def deploy_job(
    settings: Settings,
    params: DetectionParams | None = None,
    from_savepoint: str | None = None,
    *,
    allow_non_restored_state: bool = False,
    allow_running: bool = False,
    wait_running: bool = True,
    extra_args: list[str] | None = None,
) -> str:
    """Submit the job with ``params`` (``None``: :func:`~trendlab.params_files.load_params`'s defaults, the
    same as ``trendlab replay`` without a params file); returns its id. ``from_savepoint``: a path,
    or ``"latest"``. The parameters travel to the job as JSON program arguments.

    Raises :class:`JobConflict` when another deploy or stop is in progress or a job of the same name
    is not finished (unless ``allow_running``), and :class:`FlinkError` when the job's tasks are not all
    running within ``TRENDLAB_DEPLOY_TIMEOUT_S`` (the job is cancelled)."""
    params = params if params is not None else load_params(None, settings)
    name = job_name(settings)
    deadline = time.monotonic() + settings.deploy_timeout_s
    with FlinkClient.from_settings(settings, timeout=60.0) as client:
        client.overview()  # a clear error when the JobManager does not answer, before Kafka or packaging
    with job_operation(settings, "deploy", name):
        if not allow_running:
            with FlinkClient.from_settings(settings, timeout=60.0) as client:
                running = active_jobs(client, name)
            if running:
                job = running[0]
                raise JobConflict(f"a {name!r} job is already {job.state}: {job.id} on {settings.flink_rest_url}; "
                                  f"stop it first (trendlab stop {job.id}, or POST /flink/stop)")
        if from_savepoint == "latest":
            restore = latest_restore_path(settings)
        else:
            restore = check_restore_path(settings, from_savepoint) if from_savepoint else None
        args = program_args(settings, json.dumps(params.to_dict(), sort_keys=True), extra=extra_args)
        from trendlab.kafka import ensure_topics, job_topics

        # the source fails (UnknownTopicOrPartition) and restarts forever without its topic
        ensure_topics(settings, job_topics(settings), partitions=settings.flink_parallelism)
        with FlinkClient.from_settings(settings, timeout=60.0) as client:
            jar_id = _jar_id(client, flink_python_jar())
            job_id = client.run_jar(
                jar_id, entry_class=PYTHON_DRIVER, program_args=args, parallelism=settings.flink_parallelism,
                savepoint_path=restore, allow_non_restored_state=allow_non_restored_state,
                timeout=max(5.0, deadline - time.monotonic()),
            )
            record_job_name(settings, f"{settings.checkpoint_dir}/{job_id}", name)
            if wait_running:
                _wait_running_or_cancel(settings, client, job_id, deadline)
    return job_id


def _wait_running_or_cancel(settings: Settings, client: FlinkClient, job_id: str, deadline: float) -> None:
    """Wait for every task of ``job_id`` to run until ``deadline``; past it, cancel the job and fail with
    the cluster's free slots (a job waiting for slots would otherwise start whenever one frees up)."""
    try:
        client.wait_until_running(job_id, timeout=max(1.0, deadline - time.monotonic()))
        return
    except FlinkError:
        if client.job_state(job_id) in TERMINAL_STATES:
            raise  # it failed on its own: that error says why
    try:
        overview = client.overview()
        slots = f"{overview.get('slots-available')} of {overview.get('slots-total')} task slots free"
    except FlinkError:
        slots = "the cluster's free slots unknown"
    try:
        client.cancel(job_id)
    except FlinkError:
        pass
    raise FlinkError(f"job {job_id}: tasks not all running within {settings.deploy_timeout_s}s "
                     f"(TRENDLAB_DEPLOY_TIMEOUT_S; {slots}, the job needs {settings.flink_parallelism}); "
                     f"cancelled it")


def stop_job(settings: Settings, job_id: str, savepoint: bool = True, target_directory: str | None = None) -> str | None:
    """Stop with a savepoint (returns its path) or cancel (returns ``None``); one deploy or stop at a
    time (:func:`job_operation`)."""
    with job_operation(settings, "stop", job_id), FlinkClient.from_settings(settings) as client:
        if not savepoint:
            client.cancel(job_id)
            client.wait_for_state(job_id, {"CANCELED"}, timeout=60)
            return None
        name = client.job(job_id).get("name", "")
        path = client.stop_with_savepoint(job_id, target_directory or settings.savepoint_dir)
        record_job_name(settings, path, name)
        client.wait_for_state(job_id, {"FINISHED", "CANCELED"}, timeout=60)
        return path
