"""The one source of the Flink and Kafka configuration, split into cluster-level and job-level.

**Job-level** settings travel with the job to whatever cluster runs it (:func:`flink_job_conf`: how
it checkpoints, restarts and runs its Python; :data:`TOPIC_CONFIG` and
:data:`JOB_TRANSACTION_TIMEOUT_MS` for its Kafka topics and sinks). **Cluster-level** settings belong
to the cluster's own processes (:func:`flink_cluster_conf`: addresses, memory, slots, the S3
filesystem, the Python the TaskManagers run; :func:`kafka_broker_conf`: the broker's policy).

Everything that builds a configuration takes it from here:

- the job (:func:`trendlab.flink.job.job_configuration`) sets :func:`flink_job_conf`;
- the local stack writes :func:`flink_cluster_conf` into its Flink ``config.yaml``
  (:mod:`trendlab.stack.flink_cluster`) and :func:`kafka_broker_conf` into ``server.properties``
  (:mod:`trendlab.stack.broker`);
- ``docker-compose.yml`` holds the same values (``FLINK_PROPERTIES``, the broker's ``KAFKA_*``
  variables); ``tests/unit/test_compose.py`` keeps it equal to these functions.

A cluster's configuration includes the job-level set as its defaults, so a job submitted without
trendlab's own options (``flink run``) checkpoints and restarts the same way.
"""

from __future__ import annotations

from trendlab.config import Settings

__all__ = [
    "PYFLINK_RUNTIME_VARIABLES", "JOB_TRANSACTION_TIMEOUT_MS", "TOPIC_CONFIG", "TRANSACTION_MAX_TIMEOUT_MS", "flink_cluster_conf",
    "flink_job_conf", "kafka_broker_conf",
]

#: Variables PyFlink writes into a process that has run a job in-process (its Python UDF launcher's).
#: A process started from it must not inherit them: a Jupyter kernel refuses to start its own Java
#: gateway, and a TaskManager sends every Python worker to the (gone) process's loopback server
#: (``PYTHON_LOOPBACK_SERVER_ADDRESS``: "failed to connect to all addresses", the job never runs).
PYFLINK_RUNTIME_VARIABLES = ("PYFLINK_GATEWAY_DISABLED", "PYFLINK_GATEWAY_PORT", "_PYFLINK_CONN_INFO_PATH",
                             "PYTHON_LOOPBACK_SERVER_ADDRESS")

# -- Kafka ----------------------------------------------------------------------------------------

#: Topic configuration of the topics trendlab creates. Records carry the *event* time as their
#: timestamp (a replayed sample can be months old), and Kafka's time retention deletes segments whose
#: newest timestamp is older than ``retention.ms`` (and rolls such segments at once): with the broker's
#: default of 7 days a replayed stream vanished while the job was still reading it. So retention is by
#: size only.
TOPIC_CONFIG = {"retention.ms": "-1", "retention.bytes": str(2 * 1024**3)}

#: The transaction timeout of the job's exactly-once Kafka sinks: a transaction stays open until the
#: checkpoint that commits it completes. It must stay below the broker's ceiling.
JOB_TRANSACTION_TIMEOUT_MS = 600_000

#: The broker's ceiling for transaction timeouts (its default, 15 min, leaves little room over the
#: job's 10 min when a checkpoint is slow).
TRANSACTION_MAX_TIMEOUT_MS = 3_600_000


def kafka_broker_conf() -> dict[str, str]:
    """The broker's policy (one KRaft node): everything but its listeners and directories."""
    return {
        "num.partitions": "1",
        "auto.create.topics.enable": "false",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "4",
        "transaction.max.timeout.ms": str(TRANSACTION_MAX_TIMEOUT_MS),
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        # Records carry the post's event time as their timestamp and samples are replayed from the
        # past: time-based retention would delete them as soon as they are written.
        "log.retention.ms": "-1",
    }


# -- Flink ----------------------------------------------------------------------------------------

def _checkpointing(settings: Settings, state_backend: str, checkpoint_dir: str | None,
                   savepoint_dir: str | None) -> dict[str, str]:
    return {
        "state.backend.type": state_backend,
        "execution.checkpointing.interval": f"{settings.checkpoint_interval_ms} ms",
        "execution.checkpointing.mode": "EXACTLY_ONCE",
        "execution.checkpointing.incremental": "true" if state_backend == "rocksdb" else "false",
        "execution.checkpointing.num-retained": "3",
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        "execution.checkpointing.dir": checkpoint_dir or settings.checkpoint_dir,
        "execution.checkpointing.savepoint-dir": savepoint_dir or settings.savepoint_dir,
    }


#: Restarts after a failure: 1 s, doubling up to 1 min, with jitter; the backoff resets after
#: 10 min without a failure; the job fails after 10 attempts in a row.
RESTART_STRATEGY = {
    "restart-strategy.type": "exponential-delay",
    "restart-strategy.exponential-delay.initial-backoff": "1 s",
    "restart-strategy.exponential-delay.max-backoff": "1 min",
    "restart-strategy.exponential-delay.backoff-multiplier": "2.0",
    "restart-strategy.exponential-delay.reset-backoff-threshold": "10 min",
    "restart-strategy.exponential-delay.jitter-factor": "0.1",
    "restart-strategy.exponential-delay.attempts-before-reset-backoff": "10",
}


def flink_job_conf(
    settings: Settings,
    *,
    state_backend: str = "rocksdb",
    checkpoint_dir: str | None = None,
    savepoint_dir: str | None = None,
    python_mode: str = "process",
) -> dict[str, str]:
    """Job-level: parallelism, exactly-once checkpoints (RocksDB, incremental, on S3), restarts and the
    Python UDF runtime. Flat Flink keys, string values."""
    return {
        "parallelism.default": str(settings.flink_parallelism),
        **_checkpointing(settings, state_backend, checkpoint_dir, savepoint_dir),
        **RESTART_STRATEGY,
        "python.execution-mode": python_mode,
        # Python UDTF bundles: big enough to amortise the Java <-> Python hop, small enough for latency.
        "python.fn-execution.bundle.size": "5000",
        "python.fn-execution.bundle.time": "200",
        "python.metric.enabled": "true",
    }


def flink_cluster_conf(
    settings: Settings,
    *,
    address: str,
    bind_host: str,
    python: str,
    s3_endpoint: str,
    taskmanager_host: str | None = None,
) -> dict[str, str]:
    """Cluster-level: the JobManager's address (``address``, listening on ``bind_host``), memory,
    slots, heartbeats, the S3 filesystem (``s3_endpoint``, keys from the settings), the Python the
    TaskManagers run (``python``: the cluster's own), then the job-level defaults."""
    conf = {
        "jobmanager.rpc.address": address,
        "jobmanager.rpc.port": str(settings.flink_rpc_port),
        "jobmanager.bind-host": bind_host,
        "jobmanager.memory.process.size": "1600m",
        "jobmanager.execution.failover-strategy": "region",
        "taskmanager.bind-host": bind_host,
        "taskmanager.numberOfTaskSlots": str(settings.flink_parallelism),
        "taskmanager.memory.process.size": settings.taskmanager_memory,
        "rest.address": address,
        "rest.bind-address": bind_host,
        "rest.port": str(settings.flink_jobmanager_port),
        "heartbeat.interval": "2000",
        "heartbeat.timeout": "15000",
        "s3.endpoint": s3_endpoint,
        "s3.path.style.access": "true",
        "s3.access-key": settings.minio_access_key,
        "s3.secret-key": settings.minio_secret_key,
        "python.executable": python,
        "python.client.executable": python,
    }
    if taskmanager_host:
        conf["taskmanager.host"] = taskmanager_host
    conf.update(flink_job_conf(settings))
    return conf
