"""One typed ``Settings`` object, read from the environment.

The variable names of the original service are kept (``KAFKA_BOOTSTRAP_SERVERS`` …); every new one
starts with ``TRENDLAB_``. Command-line flags override what the environment says, through
:meth:`Settings.replace`.

A bad value is refused with :class:`ConfigError`, whose one-line message names the variable and the
value, e.g. ``FLINK_PARALLELISM must be a positive integer, got 'two'``.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import time
from datetime import datetime, timedelta, timezone
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from trendlab.errors import ConfigError  # re-exported: ``from trendlab.config import ConfigError``


#: When Bluesky began: the default lower bound of accepted event times (TRENDLAB_MIN_EVENT_TIME).
BLUESKY_START = datetime(2022, 11, 1, tzinfo=timezone.utc)
BLUESKY_START_US = int(BLUESKY_START.timestamp()) * 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def min_event_time_us(text: str | None, name: str = "TRENDLAB_MIN_EVENT_TIME") -> int:
    """The lower event-time bound a setting or flag (``name``) gives, in µs since 1970: a date
    (``2006-01-01``) or an ISO 8601 time (``2006-01-01T12:00:00Z``; UTC when it names no zone). Empty or
    ``None``: :data:`BLUESKY_START`. A value that is not a date, is before 1970 or is after now is
    refused with a one-line :class:`~trendlab.errors.ConfigError` naming ``name`` and the value."""
    if text is None or not str(text).strip():
        return BLUESKY_START_US
    raw = str(text).strip()
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a date like 2006-01-01 (or an ISO 8601 time), got {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    if when < _EPOCH:
        raise ConfigError(f"{name} must not be before 1970-01-01, got {text!r}")
    us = (when - _EPOCH) // timedelta(microseconds=1)
    if us > time.time_ns() // 1000:
        raise ConfigError(f"{name} must not be in the future, got {text!r}")
    return us


class Profile(str, enum.Enum):
    """Where the trendlab job runs (its value is what flags, notebook parameters and job records say).

    - ``embedded``: a PyFlink mini-cluster in the calling process, on a posts file (needs only Java);
    - ``local``: against real Kafka — for ``trendlab pipeline`` and notebooks 03/04 the Flink cluster of
      ``trendlab stack up`` (or any session cluster) through its REST API; for ``python -m
      trendlab.flink.job`` a mini-cluster in that process reading Kafka;
    - ``remote``: the job's entry point as ``trendlab deploy`` submits it to a cluster.
    """

    EMBEDDED = "embedded"
    LOCAL = "local"
    REMOTE = "remote"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)



def _home_cache() -> str:
    return str(Path(os.path.expanduser("~")) / ".cache" / "trendlab")


@dataclass(frozen=True)
class _Var:
    env: str
    kind: type
    default: object
    secret: bool = False
    help: str = ""


# name -> (environment variable, type, default).  One table, so the docs (docs/configuration.md), docker-compose test and
# the REST service all read the same list.
VARIABLES: dict[str, _Var] = {
    "kafka_bootstrap_servers": _Var("KAFKA_BOOTSTRAP_SERVERS", str, "127.0.0.1:9092", help="Kafka brokers"),
    "kafka_timeout_s": _Var("TRENDLAB_KAFKA_TIMEOUT_S", int, 10,
                            help="seconds a Kafka client tries the brokers before it reports that they do not answer"),
    "kafka_topic_posts": _Var("KAFKA_TOPIC_POSTS", str, "bluesky-posts", help="topic the job reads posts from"),
    "kafka_topic_trends": _Var("KAFKA_TOPIC_TRENDS", str, "windowed-keyword-counts", help="topic for window counts"),
    "kafka_topic_alerts": _Var("TRENDLAB_TOPIC_ALERTS", str, "trend-alerts", help="topic for trend alerts"),
    "kafka_topic_dead_letter": _Var("TRENDLAB_TOPIC_DEAD_LETTER", str, "bluesky-posts-dlq", help="malformed messages"),
    "kafka_topic_late": _Var("TRENDLAB_TOPIC_LATE", str, "bluesky-posts-late",
                             help="posts that reached the job after their first window had closed (raw messages)"),
    "flink_jobmanager_host": _Var("FLINK_JOBMANAGER_HOST", str, "127.0.0.1", help="Flink JobManager REST host"),
    "flink_jobmanager_port": _Var("FLINK_JOBMANAGER_PORT", int, 8081, help="Flink JobManager REST port"),
    "flink_parallelism": _Var("FLINK_PARALLELISM", int, 2, help="job parallelism and TaskManager slots"),
    "minio_endpoint": _Var("MINIO_ENDPOINT", str, "127.0.0.1:9000", help="MinIO host:port"),
    "minio_access_key": _Var("MINIO_ACCESS_KEY", str, "trendlab", secret=True, help="MinIO access key"),
    "minio_secret_key": _Var("MINIO_SECRET_KEY", str, "trendlab-secret", secret=True, help="MinIO secret key"),
    "minio_bucket": _Var("TRENDLAB_BUCKET", str, "trendlab", help="bucket for checkpoints and savepoints"),
    "window_size_minutes": _Var("WINDOW_SIZE_MINUTES", int, None,
                                help="window length when no params file is given (unset: params.yaml's)"),
    "slide_minutes": _Var("TRENDLAB_SLIDE_MINUTES", int, None,
                          help="window slide when no params file is given (unset: params.yaml's)"),
    "max_out_of_orderness_s": _Var("TRENDLAB_MAX_OUT_OF_ORDERNESS_S", int, 5, help="watermark bound"),
    "source_idle_timeout_s": _Var("TRENDLAB_SOURCE_IDLE_TIMEOUT_S", int, 30,
                                  help="a posts partition silent this long no longer holds the watermark back"),
    "checkpoint_interval_ms": _Var("CHECKPOINT_INTERVAL_MS", int, 60000, help="Flink checkpoint interval"),
    "log_level": _Var("LOG_LEVEL", str, "INFO", help="Python log level"),
    "prometheus_port": _Var("PROMETHEUS_PORT", int, 9464, help="Prometheus metrics port of the service"),
    "api_token": _Var("TRENDLAB_API_TOKEN", str, "", secret=True, help="bearer token for mutating REST calls"),
    "allowed_hosts": _Var("TRENDLAB_ALLOWED_HOSTS", str, "localhost,127.0.0.1,[::1]",
                          help="Host names accepted for deploy/stop without a token (no DNS rebinding)"),
    "flink_metrics_ports": _Var("TRENDLAB_FLINK_METRICS_PORTS", str, "9249-9258",
                                help="port range of the local Flink cluster's Prometheus reporter"),
    "home": _Var("TRENDLAB_HOME", str, "", help="stack state, logs and data (default ~/.local/share/trendlab)"),
    "cache_dir": _Var("TRENDLAB_CACHE", str, "", help="download cache (default ~/.cache/trendlab)"),
    "kafka_controller_port": _Var("TRENDLAB_KAFKA_CONTROLLER_PORT", int, 9093, help="KRaft controller port of the local stack"),
    "minio_console_port": _Var("TRENDLAB_MINIO_CONSOLE_PORT", int, 9001, help="MinIO console port of the local stack"),
    "flink_rpc_port": _Var("TRENDLAB_FLINK_RPC_PORT", int, 6123, help="Flink JobManager RPC port of the local stack"),
    "taskmanager_memory": _Var("TRENDLAB_TASKMANAGER_MEMORY", str, "2560m", help="Flink TaskManager process memory"),
    "max_message_bytes": _Var("TRENDLAB_MAX_MESSAGE_BYTES", int, 262_144, help="larger messages are dead letters"),
    "max_keywords": _Var("TRENDLAB_MAX_KEYWORDS", int, 300, help="posts with more words are dead letters; a post keeps that many phrases at most"),
    "max_future_s": _Var("TRENDLAB_MAX_FUTURE_S", int, 600, help="event times further ahead of now are dead letters"),
    "min_event_time": _Var("TRENDLAB_MIN_EVENT_TIME", str, "2022-11-01",
                           help="event times before this date (UTC) are dead letters; e.g. 2006-01-01 for older archives"),
    "replay_memory_mb": _Var("TRENDLAB_REPLAY_MEMORY_MB", int, 4096, help="replay refuses windows whose arrays need more"),
    "board_max_trends": _Var("TRENDLAB_BOARD_MAX_TRENDS", int, 1000,
                             help="trends the service's board keeps; the least recently updated is evicted"),
    "deploy_timeout_s": _Var("TRENDLAB_DEPLOY_TIMEOUT_S", int, 120,
                             help="a deploy whose tasks are not all running by then (no free slots) fails"),
    "moderation": _Var("TRENDLAB_MODERATION", str, "open",
                       help="open: every trend not denied is served; approval: a trend is served once a moderator approves it"),
    "deny_list": _Var("TRENDLAB_DENY_LIST", str, "",
                      help="file of deny-list entries (one a line: word, phrase or /pattern/) that seeds the moderation topic"),
    "kafka_topic_moderation": _Var("TRENDLAB_TOPIC_MODERATION", str, "trendlab-moderation",
                                   help="compacted topic of the deny list and moderators' decisions, shared by every replica"),
    "categories": _Var("TRENDLAB_CATEGORIES", str, "",
                       help="lexicon file of trend categories (YAML: category -> entries); unset: the shipped starter"),
}

_POSITIVE = {
    "flink_jobmanager_port",
    "flink_parallelism",
    "kafka_timeout_s",
    "window_size_minutes",
    "slide_minutes",
    "checkpoint_interval_ms",
    "prometheus_port",
    "kafka_controller_port",
    "minio_console_port",
    "flink_rpc_port",
    "max_message_bytes",
    "max_keywords",
    "max_future_s",
    "replay_memory_mb",
    "board_max_trends",
    "deploy_timeout_s",
}


@dataclass(frozen=True)
class Settings:
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_timeout_s: int = 10
    kafka_topic_posts: str = "bluesky-posts"
    kafka_topic_trends: str = "windowed-keyword-counts"
    kafka_topic_alerts: str = "trend-alerts"
    kafka_topic_dead_letter: str = "bluesky-posts-dlq"
    kafka_topic_late: str = "bluesky-posts-late"
    flink_jobmanager_host: str = "127.0.0.1"
    flink_jobmanager_port: int = 8081
    flink_parallelism: int = 2
    minio_endpoint: str = "127.0.0.1:9000"
    minio_access_key: str = field(default="trendlab", repr=False)
    minio_secret_key: str = field(default="trendlab-secret", repr=False)
    minio_bucket: str = "trendlab"
    window_size_minutes: int | None = None  # unset: the shipped DetectionParams (trendlab.params_files.load_params)
    slide_minutes: int | None = None
    max_out_of_orderness_s: int = 5
    source_idle_timeout_s: int = 30
    checkpoint_interval_ms: int = 60000
    log_level: str = "INFO"
    prometheus_port: int = 9464
    api_token: str = field(default="", repr=False)
    allowed_hosts: str = "localhost,127.0.0.1,[::1]"
    flink_metrics_ports: str = "9249-9258"
    home: str = ""
    cache_dir: str = ""
    kafka_controller_port: int = 9093
    minio_console_port: int = 9001
    flink_rpc_port: int = 6123
    taskmanager_memory: str = "2560m"
    max_message_bytes: int = 262_144
    max_keywords: int = 300
    max_future_s: int = 600
    min_event_time: str = "2022-11-01"  # trendlab.core.parse.BLUESKY_START; see min_event_time_us
    replay_memory_mb: int = 4096
    board_max_trends: int = 1000
    deploy_timeout_s: int = 120
    moderation: str = "open"
    deny_list: str = ""
    kafka_topic_moderation: str = "trendlab-moderation"
    categories: str = ""

    def __post_init__(self) -> None:
        for name in _POSITIVE:
            value = getattr(self, name)
            if value is None and VARIABLES[name].default is None:
                continue
            if not isinstance(value, int) or value <= 0:
                raise ConfigError(f"{VARIABLES[name].env} must be a positive integer, got {value!r}")
        if self.max_out_of_orderness_s < 0:
            raise ConfigError(
                f"TRENDLAB_MAX_OUT_OF_ORDERNESS_S must be >= 0, got {self.max_out_of_orderness_s!r}"
            )
        if self.window_size_minutes and self.slide_minutes and self.window_size_minutes % self.slide_minutes:
            raise ConfigError(
                f"WINDOW_SIZE_MINUTES must be a whole multiple of TRENDLAB_SLIDE_MINUTES, "
                f"got {self.window_size_minutes} and {self.slide_minutes}"
            )
        if self.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {self.log_level!r}")
        if self.moderation not in ("open", "approval"):
            raise ConfigError(f"TRENDLAB_MODERATION must be open or approval, got {self.moderation!r}")
        self.flink_metrics_port_range  # refuses a malformed range
        self.min_event_time_us  # refuses a value that is not a date, or is after now
        if not self.home:
            object.__setattr__(self, "home", str(Path(os.path.expanduser("~")) / ".local" / "share" / "trendlab"))
        if not self.cache_dir:
            object.__setattr__(self, "cache_dir", _home_cache())

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read every variable of :data:`VARIABLES`; keyword arguments (flags) win over the environment."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name, var in VARIABLES.items():
            raw = env.get(var.env)
            if raw is None or raw == "":
                continue
            if var.kind is int:
                try:
                    values[name] = int(raw)
                except ValueError:
                    raise ConfigError(f"{var.env} must be an integer, got {raw!r}") from None
            else:
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - set(VARIABLES)
        if unknown:
            raise ConfigError(f"unknown setting {sorted(unknown)[0]!r}")
        return cls(**values)  # type: ignore[arg-type]

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_env(self) -> dict[str, str]:
        """The environment variables that give a child process (``python -m trendlab.cli ...``) these
        settings: the inverse of :meth:`from_env`; unset values are left out."""
        env: dict[str, str] = {}
        for name, var in VARIABLES.items():
            value = getattr(self, name)
            if value is not None and value != "":
                env[var.env] = str(value)
        return env

    def with_own_topics(self, prefix: str) -> Settings:
        """These settings with every Kafka topic of the job renamed ``<prefix>-<role>`` (``-posts``,
        ``-counts``, ``-alerts``, ``-dlq``, ``-late``, and the service's ``-moderation``): a second job, or a
        test, that must not touch the default topics."""
        return self.replace(
            kafka_topic_posts=f"{prefix}-posts", kafka_topic_trends=f"{prefix}-counts",
            kafka_topic_alerts=f"{prefix}-alerts", kafka_topic_dead_letter=f"{prefix}-dlq",
            kafka_topic_late=f"{prefix}-late", kafka_topic_moderation=f"{prefix}-moderation",
        )

    # -- derived ------------------------------------------------------------------------------
    @property
    def flink_rest_url(self) -> str:
        return f"http://{self.flink_jobmanager_host}:{self.flink_jobmanager_port}"

    @property
    def minio_url(self) -> str:
        endpoint = self.minio_endpoint
        return endpoint if "://" in endpoint else f"http://{endpoint}"

    @property
    def flink_metrics_port_range(self) -> tuple[int, int]:
        """``TRENDLAB_FLINK_METRICS_PORTS`` as (first, last): ``9249-9258`` or one port ``9249``."""
        first, _, last = self.flink_metrics_ports.strip().partition("-")
        try:
            low, high = int(first), int(last or first)
        except ValueError:
            low = high = -1
        if not 0 < low <= high < 65536:
            raise ConfigError(f"TRENDLAB_FLINK_METRICS_PORTS must be a port range like 9249-9258, "
                              f"got {self.flink_metrics_ports!r}")
        return low, high

    @property
    def min_event_time_us(self) -> int:
        """``TRENDLAB_MIN_EVENT_TIME`` in µs since 1970 (:func:`min_event_time_us`)."""
        return min_event_time_us(self.min_event_time)

    @property
    def checkpoint_dir(self) -> str:
        return f"s3://{self.minio_bucket}/checkpoints"

    @property
    def savepoint_dir(self) -> str:
        return f"s3://{self.minio_bucket}/savepoints"

    def public_dict(self) -> dict[str, object]:
        """Every setting by its environment name, secrets masked: safe for logs, notebooks and REST."""
        out: dict[str, object] = {}
        for name, var in VARIABLES.items():
            value = getattr(self, name)
            out[var.env] = ("***" if value else "") if var.secret else _home_relative(value)
        return out


def on_binder() -> bool:
    """Whether this runs in a Binder session (mybinder.org sets these in every container it starts)."""
    return any(os.environ.get(v) for v in ("BINDER_LAUNCH_HOST", "BINDER_REPO_URL", "BINDER_SERVICE_HOST"))


def _home_relative(value: object) -> object:
    """A path under the home directory as ``~/…``: shown settings name no user's directory."""
    if isinstance(value, (str, os.PathLike)) and str(value).startswith(("/", "~")):
        home = os.path.expanduser("~")
        text = str(value)
        if home not in ("/", "") and (text == home or text.startswith(home + os.sep)):
            return "~" + text[len(home):]
    return value


def get_settings(**overrides: object) -> Settings:
    return Settings.from_env(**overrides)


#: ``TRENDLAB_NATIVE=0`` runs parsing and extraction in Python even where the compiled kernels are installed.
KERNELS_VARIABLE = "TRENDLAB_NATIVE"


def kernels_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the compiled kernels may be used (``TRENDLAB_NATIVE``, default on). Read at each call,
    not once per process: a benchmark or a test switches it between runs, and worker processes inherit it.
    The one reader of this variable; :func:`trendlab.core.kernels.native_module` asks it."""
    env = os.environ if environ is None else environ
    return env.get(KERNELS_VARIABLE, "1").strip().lower() not in ("0", "false", "no", "off")


def replay_memory_limit_bytes(environ: Mapping[str, str] | None = None) -> int:
    """The replay's memory budget for one aggregation (``TRENDLAB_REPLAY_MEMORY_MB``), in bytes: what
    :func:`trendlab.core.windows.check_memory` refuses beyond when its caller passes no limit."""
    return Settings.from_env(environ).replay_memory_mb * 1024 * 1024
