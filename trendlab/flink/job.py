"""The trendlab Flink job: Kafka posts → keyword window counts and trend alerts → Kafka.

Reads top to bottom like its diagram (the SQL is in :mod:`trendlab.flink.sql`)::

    posts ─► extract_keywords (Python UDTF) ─► HOP windows: COUNT(*), COUNT(DISTINCT author_did)
                   │                                   │
                   └─► dead letters                    ├─► window counts  (WindowedKeywordCount JSON)
                                                       └─► TrendDetector (Python, p=1) ─► trend alerts

Two profiles share :func:`build_job`:

* ``remote``: Kafka source and exactly-once Kafka sinks, submitted to the Flink cluster by
  :mod:`trendlab.flink.deploy` (the flink-python PythonDriver runs ``python -m trendlab.flink.job``);
* ``local``: the same Kafka job in an in-process mini-cluster (runs until interrupted; for debugging
  against the real Kafka without the cluster);
* ``embedded``: a PyFlink mini-cluster in this process, reading a posts file and writing
  ``counts.jsonl``, ``alerts.jsonl`` and ``dead_letters.jsonl``::

      python -m trendlab.flink.job --profile embedded --input posts.jsonl --out DIR [--params P.yaml]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trendlab.flink_kafka_conf import flink_job_conf
from trendlab.config import Profile, Settings
from trendlab.core.detect import DetectionParams
from trendlab.params_files import load_params
from trendlab.errors import ConfigError, TrendlabError
from trendlab.flink import sql
from trendlab.core.parse import Limits

log = logging.getLogger(__name__)

JOB_NAME = "trendlab"


def job_name(settings: Settings) -> str:
    """``trendlab: <posts topic> -> <counts topic>``: ``deploy --from-savepoint latest`` resumes the
    newest job on the same topics, so jobs on other topic sets (tests, benchmarks) never get mixed up."""
    return f"{JOB_NAME}: {settings.kafka_topic_posts} -> {settings.kafka_topic_trends}"


# -- configuration ------------------------------------------------------------------------------

def job_configuration(
    settings: Settings,
    *,
    checkpoint_dir: str | None = None,
    savepoint_dir: str | None = None,
    state_backend: str = "rocksdb",
    python_mode: str = "process",
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Flink configuration of the job: :func:`trendlab.flink_kafka_conf.flink_job_conf` (exactly-once checkpoints,
    RocksDB, exponential-delay restarts) with the job's name, then ``extra``."""
    conf = {"pipeline.name": job_name(settings),
            **flink_job_conf(settings, state_backend=state_backend, checkpoint_dir=checkpoint_dir,
                             savepoint_dir=savepoint_dir, python_mode=python_mode)}
    if python_mode == "thread":
        conf["python.pythonpath"] = thread_mode_pythonpath()
    conf.update(extra or {})
    return conf


def thread_mode_pythonpath() -> str:
    """``python.pythonpath`` for ``python.execution-mode: thread``.

    In thread mode PyFlink runs the UDFs in a CPython interpreter embedded in the TaskManager's JVM
    (pemja), started from the base installation's ``libpython``: a virtualenv's ``site-packages`` is not on
    its ``sys.path`` and the first UDF fails with ``ModuleNotFoundError: No module named 'pemja'`` (or
    ``'trendlab'``) — which, under the job's restart strategy, looks like a hang. This process's own
    ``sys.path`` (the interpreter that builds the job: the venv here, the cluster's Python when the
    JobManager runs ``main()``) plus the directory trendlab was imported from fixes it.
    """
    import sys

    import trendlab

    # where trendlab itself was imported from first: an editable install (pip install -e) puts no directory
    # on sys.path, only an import hook that a .pth file installs at start-up — and pemja's interpreter
    # processes no .pth files, so without this the UDF fails with "No module named 'trendlab'"
    root = os.path.dirname(os.path.dirname(os.path.abspath(trendlab.__file__)))
    # then the existing directories and zip archives on this interpreter's path (site-packages: pemja, …)
    paths = [root] + [p for p in sys.path if p and os.path.exists(p)]
    return os.pathsep.join(dict.fromkeys(paths))


def create_table_environment(configuration: Mapping[str, str], settings: Settings | None = None):
    """A StreamTableEnvironment (the alert detector needs the DataStream bridge); ``settings`` sets the
    source's idle timeout (``TRENDLAB_SOURCE_IDLE_TIMEOUT_S``, see :data:`trendlab.flink.sql.TABLE_OPTIONS`)."""
    idle_timeout = ({"table.exec.source.idle-timeout": f"{settings.source_idle_timeout_s} s"}
                    if settings is not None else {})
    from pyflink.common import Configuration
    from pyflink.datastream import StreamExecutionEnvironment
    from pyflink.table import EnvironmentSettings, StreamTableEnvironment

    conf = Configuration()
    for key, value in configuration.items():
        conf.set_string(key, value)
    env = StreamExecutionEnvironment.get_execution_environment(conf)
    t_env = StreamTableEnvironment.create(env, EnvironmentSettings.new_instance().in_streaming_mode().build())
    for key, value in {**sql.TABLE_OPTIONS, **idle_timeout, **configuration}.items():
        t_env.get_config().set(key, value)
    return env, t_env


# -- the pipeline -------------------------------------------------------------------------------

def build_job(t_env, settings: Settings, params: DetectionParams, source: sql.TableIO, *, presplit: bool = False):
    """Register the job's tables and return its statement set (call ``execute()`` or attach it).

    ``source`` chooses the profile (:func:`trendlab.flink.sql.kafka_io` or :func:`~trendlab.flink.sql.file_io`);
    the window shape comes from ``params`` (``window``/``slide``), the watermark bound from ``settings``.
    ``presplit``: the bench's ceiling, messages carry keywords extracted before Kafka (no Python UDTF;
    :func:`trendlab.flink.sql.presplit_view`).
    """
    from pyflink.table import Schema

    from trendlab.flink.alerts import alert_stream
    from trendlab.flink.udfs import extract_keywords_udtf

    spec = params.spec
    if not presplit:
        t_env.create_temporary_function(sql.EXTRACT_FUNCTION, extract_keywords_udtf(limits=Limits.from_settings(settings)))
    bounds = sql.EventTimeBounds.of(Limits.from_settings(settings))
    for statement in sql.job_statements(source, spec.window_ms, spec.slide_ms, settings.max_out_of_orderness_s * 1000,
                                        bounds, presplit=presplit):
        t_env.execute_sql(statement)

    # One Table -> DataStream conversion feeds every sink (see sql.hub_query).
    outputs = t_env.to_data_stream(t_env.sql_query(sql.hub_query()))
    t_env.create_temporary_view(sql.HUB, t_env.from_data_stream(outputs, Schema.new_builder().build()))
    alerts = alert_stream(outputs, params)

    statements = t_env.create_statement_set()
    statements.add_insert_sql(sql.insert_counts())
    if source.dead_letter_options is not None:
        statements.add_insert_sql(sql.insert_dead_letters())
    if source.late_options is not None:
        statements.add_insert_sql(sql.insert_late_posts())
    statements.add_insert(sql.ALERTS_SINK, t_env.from_data_stream(alerts))
    return statements


def run(t_env, env, settings: Settings, params: DetectionParams, source: sql.TableIO, *, wait: bool = True,
        presplit: bool = False):
    statements = build_job(t_env, settings, params, source, presplit=presplit)
    statements.attach_as_datastream()
    if wait:
        return env.execute(job_name(settings))
    return env.execute_async(job_name(settings))


# -- embedded profile ---------------------------------------------------------------------------

@dataclass
class EmbeddedResult:
    out_dir: Path
    posts: int
    malformed: int
    skipped: int
    counts: int
    alerts: int
    dead_letters: int
    seconds: float
    paths: dict[str, Path] = field(default_factory=dict)

    @property
    def posts_per_second(self) -> float:
        return self.posts / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        return (
            f"{self.posts:,} posts ({self.malformed:,} malformed, {self.skipped:,} non-post events skipped) "
            f"in {self.seconds:.1f}s = {self.posts_per_second:,.0f} posts/s; {self.counts:,} window counts, "
            f"{self.alerts} alerts, {self.dead_letters} dead letters -> {_shown_path(self.out_dir)}"
        )


def _shown_path(path: Path) -> str:
    """``path`` relative to the working directory when it lies under it (no machine paths in outputs)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve())) or "."
    except ValueError:
        return str(path)


def _is_beam_shutdown_race(args) -> bool:
    """The in-process Python worker's data-plane reader thread, cancelled as a finished local job hangs up
    its gRPC channel ("Multiplexer hanging up"): a shutdown race in Beam, after every result is out."""
    if args.thread is None or args.thread.name != "read_grpc_client_inputs":
        return False
    try:
        import grpc
    except ImportError:  # pragma: no cover
        return False
    code = getattr(args.exc_value, "code", None)
    return isinstance(args.exc_value, grpc.RpcError) and callable(code) and code() == grpc.StatusCode.CANCELLED


def _quiet_beam_shutdown() -> None:
    """Keep that race's traceback (which names the machine's paths) out of terminals and notebooks; every
    other thread exception still reaches the previous hook. Installed once per process."""
    import threading

    previous = threading.excepthook
    if getattr(previous, "_trendlab_quiet_beam", False):
        return

    def hook(args) -> None:
        if _is_beam_shutdown_race(args):
            log.debug("ignored Beam's shutdown race in thread %s: %s", args.thread.name, args.exc_value)
            return
        previous(args)

    hook._trendlab_quiet_beam = True  # type: ignore[attr-defined]
    threading.excepthook = hook


def run_embedded(
    input_path: str | Path,
    out_dir: str | Path,
    params: DetectionParams,
    settings: Settings | None = None,
    *,
    state_backend: str = "rocksdb",
    python_mode: str = "process",
    extra_config: Mapping[str, str] | None = None,
    progress: bool = False,
) -> EmbeddedResult:
    """Run the job in a local mini-cluster over a posts file; outputs land in ``out_dir``.

    The input is first staged by the producer's own code (:func:`trendlab.staging.stage_stream`):
    event-time order, the event time next to each raw line — what ``trendlab produce`` puts in Kafka.
    """
    from trendlab.env_defaults import settings_from_env
    from trendlab.staging import stage_stream

    settings = settings or settings_from_env()
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for name in ("_counts", "_alerts", "_dead_letters", "_late"):
        _clear(out / name)
    work = Path(tempfile.mkdtemp(prefix="trendlab-flink-", dir=out))
    staged = work / "stream.jsonl"
    t0 = time.perf_counter()
    from tqdm.auto import tqdm

    bar = tqdm(total=3, desc="Flink job", unit="step", disable=not progress, file=sys.stderr,
               bar_format="{desc}: {n}/{total} {postfix} [{elapsed}]")
    bar.set_postfix_str("staging the input in event-time order")
    stats = stage_stream(input_path, staged)
    bar.update(1)
    bar.set_postfix_str(f"running the job over {stats.posts:,} posts in a mini-cluster")
    configuration = job_configuration(
        settings,
        checkpoint_dir=(work / "checkpoints").as_uri(),
        savepoint_dir=(work / "savepoints").as_uri(),
        state_backend=state_backend,
        python_mode=python_mode,
        extra=extra_config,
    )
    _quiet_beam_shutdown()
    with _client_environ_kept():
        env, t_env = create_table_environment(configuration, settings)
        run(t_env, env, settings, params, sql.file_io(staged.as_uri(), out.as_uri()))
    seconds = time.perf_counter() - t0
    bar.update(1)
    bar.set_postfix_str("collecting the outputs")
    paths = {
        "counts": _collect(out / "_counts", out / "counts.jsonl", sort_key=_count_key),
        "alerts": _collect(out / "_alerts", out / "alerts.jsonl", sort_key=_alert_key),
        "dead_letters": _collect(out / "_dead_letters", out / "dead_letters.jsonl", sort_key=None),
        "late": _collect(out / "_late", out / "late_posts.jsonl", sort_key=None),
    }
    _clear(work)
    bar.update(1)
    bar.set_postfix_str("done")
    bar.close()
    lines = {k: _line_count(p) for k, p in paths.items()}
    return EmbeddedResult(
        out_dir=out, posts=stats.posts, malformed=stats.malformed, skipped=stats.skipped,
        counts=lines["counts"], alerts=lines["alerts"], dead_letters=lines["dead_letters"],
        seconds=seconds, paths=paths,
    )


@contextmanager
def _client_environ_kept():
    """Running a job in-process makes PyFlink write its launcher's variables into ``os.environ``
    (``PYFLINK_GATEWAY_DISABLED=true``, ``FLINK_HOME``, …). Every child process started afterwards — a
    notebook kernel, another job — would inherit them and refuse to start its own gateway; put the
    environment back as it was."""
    before = dict(os.environ)
    try:
        yield
    finally:
        for key in [k for k in os.environ if k not in before]:
            del os.environ[key]
        for key, value in before.items():
            if os.environ.get(key) != value:
                os.environ[key] = value


def _count_key(obj: dict) -> tuple:
    return obj["window_end"], obj["keyword"]


def _alert_key(obj: dict) -> tuple:
    return obj["window_end"], -obj["score"], obj["keyword"]


def _collect(part_dir: Path, target: Path, sort_key) -> Path:
    """Committed part files of a filesystem sink (in-progress files start with '.') → one sorted file."""
    import orjson

    rows: list[bytes] = []
    if part_dir.is_dir():
        for part in sorted(part_dir.rglob("*")):
            if part.is_file() and not part.name.startswith("."):
                rows.extend(line for line in part.read_bytes().splitlines() if line.strip())
    if sort_key is not None:
        rows.sort(key=lambda line: sort_key(orjson.loads(line)))
    target.write_bytes(b"".join(line + b"\n" for line in rows))
    _clear(part_dir)
    return target


def _line_count(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)


def _clear(path: Path) -> None:
    import shutil

    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)


# -- entry point --------------------------------------------------------------------------------

def _params_json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--params-json is not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"params must be a mapping of parameters, got {type(data).__name__}")
    return data


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m trendlab.flink.job", description=__doc__.split("\n")[0])
    p.add_argument("--profile", choices=[p.value for p in Profile], default=Profile.LOCAL.value)
    p.add_argument("--input", help="embedded: posts file (Jetstream or PostData JSON lines)")
    p.add_argument("--out", help="embedded: output directory")
    p.add_argument("--params", help="params.yaml (window, slide, detection thresholds)")
    p.add_argument("--params-json", help="the parameters inline as JSON (used by deploy)")
    p.add_argument("--settings-json", help="Settings overrides as JSON (used by deploy)")
    p.add_argument("--window", help="window length, e.g. 10m")
    p.add_argument("--slide", help="window slide, e.g. 1m")
    p.add_argument("--parallelism", type=int)
    p.add_argument("--state-backend", choices=["rocksdb", "hashmap"], default="rocksdb")
    p.add_argument("--python-mode", choices=["process", "thread"], default="process")
    p.add_argument("--startup-mode", default="group-offsets",
                   help="Kafka: group-offsets (earliest when none), earliest-offset or latest-offset")
    p.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE", help="extra Flink option")
    p.add_argument("--presplit", action="store_true",
                   help="bench ceiling: messages are '<author DID>\\t<keyword>\\t…' extracted before Kafka")
    return p.parse_args(argv)


def _extra_conf(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--conf must be KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        overrides = json.loads(args.settings_json) if args.settings_json else {}
        if args.parallelism:
            overrides["flink_parallelism"] = args.parallelism
        settings = Settings.from_env(**overrides)
        logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        params = load_params(_params_json(args.params_json) if args.params_json else args.params, settings,
                             window=args.window, slide=args.slide)
        extra = _extra_conf(args.conf)
        if args.profile == Profile.EMBEDDED:
            if not args.input or not args.out:
                raise ConfigError("--profile embedded needs --input and --out")
            result = run_embedded(args.input, args.out, params, settings, state_backend=args.state_backend,
                                  python_mode=args.python_mode, extra_config=extra)
            print(result.summary())
            return 0
        if args.profile == Profile.LOCAL:
            # an in-process mini-cluster against the real Kafka: the connector jar from the stack's cache,
            # checkpoints on local disk (the S3 plugin only exists in the cluster)
            from trendlab.stack import kafka_connector_jar

            local_dir = Path(settings.home) / "flink-local"
            extra = {
                "pipeline.jars": kafka_connector_jar(settings).resolve().as_uri(),
                "execution.checkpointing.dir": (local_dir / "checkpoints").as_uri(),
                "execution.checkpointing.savepoint-dir": (local_dir / "savepoints").as_uri(),
                **extra,
            }
        configuration = job_configuration(settings, state_backend=args.state_backend,
                                          python_mode=args.python_mode, extra=extra)
        env, t_env = create_table_environment(configuration, settings)
        source = sql.kafka_io(
            settings.kafka_bootstrap_servers, settings.kafka_topic_posts, settings.kafka_topic_trends,
            settings.kafka_topic_alerts, settings.kafka_topic_dead_letter, topic_late=settings.kafka_topic_late,
            startup_mode=args.startup_mode,
            **sql.kafka_ids(settings.kafka_topic_posts, settings.kafka_topic_trends),
        )
        run(t_env, env, settings, params, source, wait=args.profile == Profile.LOCAL, presplit=args.presplit)
        return 0
    except TrendlabError as exc:
        print(f"trendlab flink job: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
