"""The one place trendlab builds Kafka clients; each use names a :class:`KafkaProfile`.

A profile carries what a use would otherwise spell out itself: isolation level, timeouts, a client
id. Consumers: :attr:`KafkaProfile.JOB_OUTPUT_READ_COMMITTED` (a job's committed output, read to the end:
``trendlab consume``, tests), :attr:`KafkaProfile.TAIL` (the service following the trend topics), and
:attr:`KafkaProfile.CURSOR` (the Jetstream ingester reading back its own cursor topic). Producers:
:attr:`KafkaProfile.PRODUCE` (acks from all replicas, batched). :attr:`KafkaProfile.ADMIN` for topic admin.
Only this package imports the ``kafka`` client library (``tests/unit/test_layout.py``).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from typing import Any

from trendlab.config import Settings
from trendlab.errors import ServiceUnavailable

__all__ = ["ClientSettings", "KafkaUnavailable", "KafkaProfile", "admin_client", "consumer", "producer",
           "quiet_client_logging", "unavailable"]


class KafkaUnavailable(ServiceUnavailable):
    """The brokers do not answer; the message names the bootstrap servers."""


@dataclass(frozen=True)
class ClientSettings:
    """How one use of Kafka talks to it."""

    #: ``read_committed`` (only committed transactions: a Flink job's exactly-once output) or ``read_uncommitted``
    isolation_level: str = "read_uncommitted"
    #: a request's timeout; ``None``: kafka-python's default
    request_timeout_ms: int | None = None
    #: bound the wait for the first broker by ``TRENDLAB_KAFKA_TIMEOUT_S`` (a command that must fail fast)
    bounded_bootstrap: bool = False
    #: the client id the broker logs (``None``: kafka-python's)
    client_id: str | None = None
    #: producer options (acks, batching), for producer profiles
    producer: tuple[tuple[str, Any], ...] = ()


class KafkaProfile(enum.Enum):
    """The named ways trendlab uses Kafka."""

    #: a job's committed output, read to its end (``trendlab consume``, the tests)
    JOB_OUTPUT_READ_COMMITTED = ClientSettings("read_committed", bounded_bootstrap=True)
    #: the service following the trend topics for ever (short requests: a stop is prompt)
    TAIL = ClientSettings("read_committed", request_timeout_ms=10_000, client_id="trendlab-service-trends")
    #: the service following its moderation topic for ever, and ``trendlab moderation`` reading it once
    #: (plain produced records: no transactions to wait for)
    MODERATION = ClientSettings("read_uncommitted", request_timeout_ms=10_000, client_id="trendlab-service-moderation")
    #: the Jetstream ingester reading back its cursor (its own idempotent writes; no transactions)
    CURSOR = ClientSettings("read_uncommitted", request_timeout_ms=15_000)
    #: topic administration
    ADMIN = ClientSettings(request_timeout_ms=15_000, bounded_bootstrap=True)
    #: posts and events into topics: acknowledged by all replicas, batched
    PRODUCE = ClientSettings(bounded_bootstrap=True, producer=(
        ("acks", "all"), ("linger_ms", 20), ("batch_size", 256 * 1024), ("max_request_size", 4 * 1024 * 1024)))


def _common(settings: Settings, profile: KafkaProfile) -> dict[str, Any]:
    p = profile.value
    out: dict[str, Any] = {"bootstrap_servers": settings.kafka_bootstrap_servers}
    if p.bounded_bootstrap:
        out["bootstrap_timeout_ms"] = settings.kafka_timeout_s * 1000
    if p.request_timeout_ms is not None:
        out["request_timeout_ms"] = p.request_timeout_ms
    if p.client_id is not None:
        out["client_id"] = p.client_id
    return out


def consumer(settings: Settings, profile: KafkaProfile, *topics: str, **config: Any):
    """A ``KafkaConsumer`` of ``profile`` (no group, no auto-commit: trendlab assigns and seeks itself);
    ``config`` adds what only this use knows (``auto_offset_reset``, ``consumer_timeout_ms``).
    Raises kafka-python's errors (callers turn them into :class:`KafkaUnavailable`, :func:`unavailable`)."""
    from kafka import KafkaConsumer

    quiet_client_logging(settings)
    options = {**_common(settings, profile), "group_id": None, "enable_auto_commit": False,
               "isolation_level": profile.value.isolation_level, **config}
    return KafkaConsumer(*topics, **options)


def topic_partition(topic: str, partition: int):
    """kafka-python's ``TopicPartition`` (for assigning and seeking a :func:`consumer`)."""
    from kafka import TopicPartition

    return TopicPartition(topic, partition)


def quiet_client_logging(settings: Settings) -> None:
    """kafka-python logs every failed connection attempt (dozens of lines while a broker is down);
    trendlab reports the failure itself as one :class:`KafkaUnavailable` line. Its log shows only
    with ``LOG_LEVEL=DEBUG``."""
    level = logging.DEBUG if settings.log_level.upper() == "DEBUG" else logging.CRITICAL
    logging.getLogger("kafka").setLevel(level)


def admin_client(settings: Settings, **config):
    """A ``KafkaAdminClient`` (:attr:`KafkaProfile.ADMIN`; raises kafka-python's errors, callers turn them
    into :class:`KafkaUnavailable`)."""
    from kafka.admin import KafkaAdminClient

    quiet_client_logging(settings)
    return KafkaAdminClient(**{**_common(settings, KafkaProfile.ADMIN), **config})


def unavailable(settings: Settings, exc: Exception) -> KafkaUnavailable:
    """The one line a command prints when Kafka does not answer."""
    return KafkaUnavailable(
        f"Kafka at {settings.kafka_bootstrap_servers} does not answer ({type(exc).__name__}); "
        "is the stack up? (trendlab stack status)"
    )


def producer(settings: Settings, profile: KafkaProfile = KafkaProfile.PRODUCE, **config):
    """A ``KafkaProducer`` of ``profile``; ``config`` adds what only this use knows (idempotence,
    delivery timeouts). Kafka not answering is :class:`KafkaUnavailable`."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    quiet_client_logging(settings)
    try:
        return KafkaProducer(**{**_common(settings, profile), **dict(profile.value.producer), **config})
    except KafkaError as exc:
        raise unavailable(settings, exc) from None


