"""The Flink standalone cluster of the local stack: one JobManager and one TaskManager.

The distribution is the one inside the installed ``apache-flink`` wheel. Nothing is written into
site-packages: a Flink home is assembled under the stack home, ``<stack>/flink/``, with

- ``lib/``: links to the wheel's ``lib/*.jar``, plus ``flink-python`` (from the wheel's ``opt/``, so
  the cluster runs Python UDFs) and the Kafka SQL connector (from Maven Central): jobs submitted to
  this cluster must *not* ship the connector again in ``pipeline.jars``;
- ``plugins/s3-fs-presto/``: the S3 filesystem plugin, for checkpoints and savepoints on MinIO;
- ``plugins/metrics-prometheus/``: Flink's Prometheus reporter (Maven Central), serving every metric
  of the JobManager and the TaskManager (records in/out, back-pressure, checkpoints, the job's own
  ``trendlab`` counters) on the first free ports of ``TRENDLAB_FLINK_METRICS_PORTS``
  (:func:`metrics_endpoints` finds them);
- ``conf/``: a generated ``config.yaml`` and the wheel's logging configuration.

The processes are started with the wheel's own ``bin/jobmanager.sh start-foreground`` and
``bin/taskmanager.sh start-foreground`` (which compute the JVM memory settings and ``exec`` java), so
the pid the stack records is the JVM's.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import sys
import time
from pathlib import Path

from trendlab.flink_kafka_conf import PYFLINK_RUNTIME_VARIABLES, flink_cluster_conf
from trendlab.config import Settings
from trendlab.stack import artifacts, process
from trendlab.errors import StackError
from trendlab.stack.parts import PartStatus, java_binary, log_dir, run_dir, stack_home

log = logging.getLogger("trendlab.stack")

JOBMANAGER = "jobmanager"
TASKMANAGER = "taskmanager"
_MAIN_CLASS = {
    JOBMANAGER: "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint",
    TASKMANAGER: "org.apache.flink.runtime.taskexecutor.TaskManagerRunner",
}
_SCRIPT = {JOBMANAGER: "jobmanager.sh", TASKMANAGER: "taskmanager.sh"}
_SERVICE = {JOBMANAGER: "standalonesession", TASKMANAGER: "taskexecutor"}
START_TIMEOUT_S = 120.0


# -- the distribution and the assembled Flink home -----------------------------------------------

def distribution() -> Path:
    """The Flink distribution inside the installed ``apache-flink`` wheel (``pyflink/``)."""
    try:
        import pyflink
    except ImportError:
        raise StackError("flink: cannot start, the apache-flink package is not installed") from None
    root = Path(pyflink.__file__).resolve().parent
    if not (root / "bin" / "jobmanager.sh").is_file() or not any((root / "lib").glob("flink-dist-*.jar")):
        raise StackError(f"flink: cannot start, no Flink distribution (bin/, lib/) in {root}")
    return root


def flink_version() -> str:
    from pyflink.version import __version__

    return __version__


def flink_home(settings: Settings) -> Path:
    return stack_home(settings) / "flink"


def _conf_dir(settings: Settings) -> Path:
    return flink_home(settings) / "conf"


def _flink_log_dir(settings: Settings) -> Path:
    return log_dir(settings) / "flink"


def prepare_home(settings: Settings) -> Path:
    """Assemble (again) the Flink home: lib links, plugins, conf. Returns its path."""
    dist = distribution()
    home = flink_home(settings)
    lib = home / "lib"
    if lib.exists():
        shutil.rmtree(lib)
    lib.mkdir(parents=True)
    for jar in sorted((dist / "lib").glob("*.jar")):
        (lib / jar.name).symlink_to(jar)
    python_jars = sorted((dist / "opt").glob("flink-python-*.jar"))
    if not python_jars:
        raise StackError(f"flink: cannot start, no flink-python jar in {dist / 'opt'}")
    (lib / python_jars[0].name).symlink_to(python_jars[0])
    connector = artifacts.kafka_connector_jar(settings)
    (lib / connector.name).symlink_to(connector)

    plugins = home / "plugins"
    if plugins.exists():
        shutil.rmtree(plugins)
    (plugins / "s3-fs-presto").mkdir(parents=True)
    s3 = artifacts.s3_plugin_jar(settings)
    (plugins / "s3-fs-presto" / s3.name).symlink_to(s3)
    (plugins / "metrics-prometheus").mkdir()
    reporter = artifacts.prometheus_reporter_jar(settings)
    (plugins / "metrics-prometheus" / reporter.name).symlink_to(reporter)

    link = home / "bin"  # the scripts find each other through $FLINK_HOME/bin
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(dist / "bin")
    # opt/ must be a real directory holding real files: the JobManager's PythonDriver lists it
    # without following links ("Found 0 flink-python jar" with a linked opt/).
    opt = home / "opt"
    if opt.is_symlink() or opt.is_file():
        opt.unlink()
    elif opt.exists():
        shutil.rmtree(opt)
    opt.mkdir()
    for item in sorted((dist / "opt").iterdir()):
        if item.name.startswith("flink-python") and item.suffix == ".jar":
            shutil.copyfile(item, opt / item.name)
        else:
            (opt / item.name).symlink_to(item)

    conf = _conf_dir(settings)
    conf.mkdir(parents=True, exist_ok=True)
    for name in ("log4j-console.properties", "log4j.properties", "log4j-cli.properties",
                 "logback-console.xml", "logback.xml"):
        if (dist / "conf" / name).is_file():
            shutil.copyfile(dist / "conf" / name, conf / name)
    (conf / "config.yaml").write_text(config_yaml(settings))
    _flink_log_dir(settings).mkdir(parents=True, exist_ok=True)
    return home


def _wheel_java_opts() -> str:
    """The ``env.java.opts.all`` of the wheel's config (the module opens Flink needs on Java 17+)."""
    import yaml

    data = yaml.safe_load((distribution() / "conf" / "config.yaml").read_text()) or {}
    return str(((data.get("env") or {}).get("java") or {}).get("opts", {}).get("all", ""))


def config(settings: Settings) -> dict[str, object]:
    """The cluster configuration (flat Flink keys): :func:`trendlab.flink_kafka_conf.flink_cluster_conf` for this
    machine (everything on ``FLINK_JOBMANAGER_HOST``, the stack's Python) and the wheel's Java options."""
    host = settings.flink_jobmanager_host
    minio_host, minio_port = process.split_host_port(settings.minio_endpoint, 9000)
    scheme = "https" if settings.minio_url.startswith("https://") else "http"
    return {
        "env.java.opts.all": _wheel_java_opts(),
        **flink_cluster_conf(settings, address=host, bind_host=host, python=sys.executable,
                             s3_endpoint=f"{scheme}://{minio_host}:{minio_port}", taskmanager_host=host),
        **metrics_reporter_config(settings),
    }


def metrics_reporter_config(settings: Settings) -> dict[str, object]:
    """Flink's Prometheus reporter on ``TRENDLAB_FLINK_METRICS_PORTS`` (each process takes the next free port)."""
    low, high = settings.flink_metrics_port_range
    return {
        "metrics.reporter.prom.factory.class": "org.apache.flink.metrics.prometheus.PrometheusReporterFactory",
        "metrics.reporter.prom.port": f"{low}-{high}" if high > low else str(low),
    }


def metrics_endpoints(settings: Settings, timeout: float = 2.0) -> list[str]:
    """``http://host:port/metrics`` of every Flink Prometheus reporter answering in the configured range."""
    import httpx

    low, high = settings.flink_metrics_port_range
    host = settings.flink_jobmanager_host
    found = []
    with httpx.Client(timeout=timeout) as client:
        for port in range(low, high + 1):
            if not process.port_open(host, port):
                continue
            url = f"http://{host}:{port}/metrics"
            try:
                response = client.get(url)
            except httpx.HTTPError:
                continue
            if response.status_code == 200 and "flink_" in response.text:
                found.append(url)
    return found


def config_yaml(settings: Settings) -> str:
    import yaml

    def typed(value: object) -> object:  # "true" -> true, "2" -> 2: YAML types, as Flink's own files have
        if isinstance(value, str) and value in ("true", "false"):
            return value == "true"
        if isinstance(value, str) and value.isdigit():
            return int(value)
        return value

    header = "# Generated by trendlab.stack.flink_cluster on every `trendlab stack up`; edits are overwritten.\n"
    return header + yaml.safe_dump({k: typed(v) for k, v in config(settings).items()}, sort_keys=False, width=10_000)


# -- processes -----------------------------------------------------------------------------------

def _marker(settings: Settings, role: str) -> tuple[str, str]:
    return (_MAIN_CLASS[role], str(_conf_dir(settings)))


def log_path(settings: Settings, role: str) -> Path:
    """The role's Flink log (log4j); its stdout goes next to it as ``<role>.out``."""
    logs = _flink_log_dir(settings)
    found = sorted(logs.glob(f"flink-trendlab-{_SERVICE[role]}-*.log"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else logs / f"flink-trendlab-{_SERVICE[role]}-0-{socket.gethostname()}.log"


def _env(settings: Settings) -> dict[str, str]:
    home = flink_home(settings)
    env = {k: v for k, v in os.environ.items() if k not in PYFLINK_RUNTIME_VARIABLES}  # see trendlab.flink_kafka_conf
    java = java_binary(f"flink {JOBMANAGER}")
    env.setdefault("JAVA_HOME", str(Path(java).resolve().parent.parent))
    env.update(
        FLINK_HOME=str(home),
        _FLINK_HOME_DETERMINED="1",
        FLINK_CONF_DIR=str(_conf_dir(settings)),
        FLINK_LIB_DIR=str(home / "lib"),
        FLINK_OPT_DIR=str(home / "opt"),
        FLINK_PLUGINS_DIR=str(home / "plugins"),
        FLINK_LOG_DIR=str(_flink_log_dir(settings)),
        FLINK_PID_DIR=str(run_dir(settings) / "flink-scripts"),
        FLINK_IDENT_STRING="trendlab",
    )
    return env


def _rest(settings: Settings, path: str) -> dict:
    import httpx

    response = httpx.get(f"{settings.flink_rest_url}{path}", timeout=3.0)
    response.raise_for_status()
    return response.json()


def overview(settings: Settings) -> dict:
    """``GET /overview`` of the JobManager."""
    return _rest(settings, "/overview")


def _role_status(settings: Settings, role: str) -> PartStatus:
    pid = process.running_pid(run_dir(settings), f"flink-{role}", _marker(settings, role))
    host = settings.flink_jobmanager_host
    if role == JOBMANAGER:
        address = f"{host}:{settings.flink_jobmanager_port}"
        detail = f"rpc {host}:{settings.flink_rpc_port}"
    else:
        address = host
        detail = f"{settings.flink_parallelism} slots"
        if pid is not None:
            try:
                info = overview(settings)
                detail = f"{info.get('slots-available')}/{info.get('slots-total')} slots free"
            except Exception:  # noqa: BLE001 - status never fails because the REST API is down
                pass
    return PartStatus(
        name=f"flink-{role}", running=pid is not None, pid=pid, address=address,
        log=str(log_path(settings, role)), version=f"flink {flink_version()}", detail=detail,
    )


def status(settings: Settings) -> list[PartStatus]:
    return [_role_status(settings, JOBMANAGER), _role_status(settings, TASKMANAGER)]


def _launch(settings: Settings, role: str, *extra: str) -> int:
    script = flink_home(settings) / "bin" / _SCRIPT[role]
    pid = process.start(
        ["bash", str(script), "start-foreground", *extra],
        log_file=_flink_log_dir(settings) / f"{role}.out", env=_env(settings), cwd=flink_home(settings),
    )
    process.write_pid(run_dir(settings), f"flink-{role}", pid)
    return pid


def start(settings: Settings) -> list[PartStatus]:
    """Start the JobManager and the TaskManager unless they run; wait until the slots are there."""
    jm = _role_status(settings, JOBMANAGER)
    tm = _role_status(settings, TASKMANAGER)
    if not jm.running:
        java_binary(f"flink {JOBMANAGER}")
        prepare_home(settings)
        _start_jobmanager(settings)
    if not tm.running:
        start_taskmanager(settings)
    else:
        _wait_for_slots(settings, resource_id=None, pid=tm.pid)
    return status(settings)


def _start_jobmanager(settings: Settings) -> None:
    host = settings.flink_jobmanager_host
    process.check_port_free(f"flink {JOBMANAGER}", host, settings.flink_jobmanager_port)
    process.check_port_free(f"flink {JOBMANAGER}", host, settings.flink_rpc_port)
    log.info("starting flink jobmanager, REST on %s", settings.flink_rest_url)
    pid = _launch(settings, JOBMANAGER)
    process.wait_until(
        lambda: "taskmanagers" in overview(settings), part=f"flink {JOBMANAGER}",
        what=f"GET {settings.flink_rest_url}/overview answering", timeout=START_TIMEOUT_S, pid=pid,
        log_file=log_path(settings, JOBMANAGER),
    )


def start_taskmanager(settings: Settings) -> PartStatus:
    """Start a TaskManager (after :func:`kill_taskmanager`, say); wait until its slots register."""
    current = _role_status(settings, TASKMANAGER)
    if current.running:
        return current
    if not (_conf_dir(settings) / "config.yaml").is_file():
        prepare_home(settings)
    resource_id = f"trendlab-tm-{int(time.time() * 1000)}"
    log.info("starting flink taskmanager %s with %d slots", resource_id, settings.flink_parallelism)
    pid = _launch(settings, TASKMANAGER, "-D", f"taskmanager.resource-id={resource_id}")
    _wait_for_slots(settings, resource_id=resource_id, pid=pid)
    return _role_status(settings, TASKMANAGER)


def _wait_for_slots(settings: Settings, *, resource_id: str | None, pid: int | None) -> None:
    def registered() -> bool:
        managers = _rest(settings, "/taskmanagers").get("taskmanagers", [])
        if resource_id is not None:
            return any(tm.get("id") == resource_id and tm.get("slotsNumber", 0) >= 1 for tm in managers)
        return sum(tm.get("slotsNumber", 0) for tm in managers) >= settings.flink_parallelism

    process.wait_until(
        registered, part=f"flink {TASKMANAGER}",
        what=f"the taskmanager registering {settings.flink_parallelism} slots with the jobmanager",
        timeout=START_TIMEOUT_S, pid=pid, log_file=log_path(settings, TASKMANAGER),
    )


def kill_taskmanager(settings: Settings) -> int | None:
    """``kill -9`` the TaskManager (for recovery tests); returns the pid it had, None if not running."""
    pid = _role_status(settings, TASKMANAGER).pid
    if pid is not None:
        log.info("killing flink taskmanager (pid %d) with SIGKILL", pid)
        process.kill(pid)
    process.clear_pid(run_dir(settings), f"flink-{TASKMANAGER}")
    return pid


def stop(settings: Settings) -> list[PartStatus]:
    """Stop the TaskManager, then the JobManager (SIGTERM, wait, SIGKILL). Running jobs are not savepointed."""
    for role in (TASKMANAGER, JOBMANAGER):
        pid = _role_status(settings, role).pid
        if pid is not None:
            log.info("stopping flink %s (pid %d)", role, pid)
            process.stop(pid, timeout=60)
        process.clear_pid(run_dir(settings), f"flink-{role}")
    shutil.rmtree(run_dir(settings) / "flink-scripts", ignore_errors=True)  # the scripts' own pid files
    return status(settings)
