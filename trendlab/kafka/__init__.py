"""Posts into Kafka and records out of it (what ``trendlab produce`` and ``trendlab consume`` run).

Clients are built in one place, :mod:`trendlab.kafka.clients`, each use naming a profile.

What a produced record is (the Flink job relies on it):

* **value**: the input line exactly as it was (Jetstream event or flat PostData JSON);
* **timestamp**: the post's event time in ms (:attr:`trendlab.core.models.PostData.event_time_us` // 1000) —
  the job reads event time from the record timestamp, so it is the same definition in both engines;
* **key**: the author DID (keeps one author's posts in order on one partition);
* **order**: records are sent in event-time order (a stable sort of the file).

Files are read by the one reader (:mod:`trendlab.postfile`) and the total parser (:mod:`trendlab.core.parse`).
Valid events that are not posts (likes, follows, deletes…) are skipped and counted. Dead letters are
counted, reported, and **sent** (key ``None``, the timestamp of the record before them) so that the job
routes them to the dead-letter topic like any malformed message of a live feed; ``--skip-malformed``
keeps them out. A line over ``TRENDLAB_MAX_MESSAGE_BYTES`` is not sent whole: its dead-letter record
(reason, bounded excerpt, line number) goes straight to the dead-letter topic.

Every send is confirmed: a record the broker refuses is retried alone (its batch-mates are delivered),
then reported with its line number and reason and sent to the dead-letter topic; ``trendlab produce``
exits 1 when anything was refused, and its count of sent records is what the topic holds.

The embedded Flink profile stages its input file with the same reader (:func:`trendlab.staging.stage_stream`).

Topics trendlab creates keep records by size, not age (:data:`trendlab.flink_kafka_conf.TOPIC_CONFIG`): record timestamps are
event times, and a replayed sample's are older than any time retention. After the last post of a
finished stream, :func:`advance_watermark` closes the job's last windows.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from trendlab.flink_kafka_conf import TOPIC_CONFIG
from trendlab.config import Settings
from trendlab.errors import ConfigError
from trendlab.core.parse import DeadLetter, Limits, MessageParser, excerpt
from trendlab.kafka.clients import KafkaProfile, KafkaUnavailable, admin_client, producer, quiet_client_logging, unavailable  # noqa: F401 (KafkaUnavailable, quiet_client_logging: re-exported)
from trendlab.kafka.clients import consumer as kafka_consumer
from trendlab.staging import StreamRecord, StreamStats, read_stream

log = logging.getLogger(__name__)


# -- topics ---------------------------------------------------------------------------------

def ensure_topics(settings: Settings, topics: Iterable[str] | Mapping[str, int], partitions: int | None = None,
                  replication: int = 1, config: Mapping[str, str] | None = None) -> list[str]:
    """Create the topics that do not exist yet (with :data:`TOPIC_CONFIG`, or ``config``); returns the
    ones created.

    ``topics`` is a list of names (each with ``partitions``, default FLINK_PARALLELISM) or a mapping
    from name to its partition count."""
    from kafka.admin import NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    partitions = partitions or settings.flink_parallelism
    try:
        admin = admin_client(settings)
    except KafkaError as exc:
        raise unavailable(settings, exc) from None
    try:
        wanted = dict(topics) if isinstance(topics, Mapping) else dict.fromkeys(topics, partitions)
        existing = set(admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if missing:
            try:
                admin.create_topics([NewTopic(t, wanted[t], replication, topic_configs=dict(TOPIC_CONFIG if config is None else config))
                                     for t in missing])
            except TopicAlreadyExistsError:
                pass
        return missing
    finally:
        admin.close()


def delete_topics(settings: Settings, topics: Iterable[str]) -> None:
    """Delete topics (those that exist); for benchmarks and tests that made their own."""
    from kafka.errors import KafkaError

    try:
        admin = admin_client(settings)
    except KafkaError as exc:
        raise unavailable(settings, exc) from None
    try:
        existing = [t for t in dict.fromkeys(topics) if t in set(admin.list_topics())]
        if existing:
            admin.delete_topics(existing)
    finally:
        admin.close()


def job_topics(settings: Settings) -> list[str]:
    return [settings.kafka_topic_posts, settings.kafka_topic_trends, settings.kafka_topic_alerts,
            settings.kafka_topic_dead_letter, settings.kafka_topic_late]


@dataclass
class ProduceResult:
    topic: str
    #: records the broker confirmed in ``topic`` (what the topic holds from this run)
    sent: int
    stats: StreamStats
    seconds: float
    #: (line number, reason) of every record the broker refused; each went to the dead-letter topic
    refused: list[tuple[int, str]] = field(default_factory=list)
    #: dead-letter records sent straight to the dead-letter topic (refused, or too large to send)
    dead_lettered: int = 0
    dead_letter_topic: str = ""

    def report(self) -> str:
        rate = self.sent / self.seconds if self.seconds else 0.0
        text = f"sent {self.sent:,} records to {self.topic} in {self.seconds:.1f}s ({rate:,.0f}/s): {self.stats.report()}"
        if self.refused:
            where = "; ".join(f"line {n}: {why}" for n, why in self.refused[:3])
            text += f"; the broker REFUSED {len(self.refused):,} records ({where})"
        if self.dead_lettered:
            text += f"; {self.dead_lettered:,} dead letters sent to {self.dead_letter_topic}"
        return text


def produce(
    settings: Settings,
    input_path: str | Path,
    topic: str | None = None,
    rate: float = 0.0,
    *,
    skip_malformed: bool = False,
    progress: bool | None = None,
) -> ProduceResult:
    """Send a posts file to Kafka in event-time order; ``rate`` records/s (0 = as fast as possible).

    Every send is confirmed by the broker. A record the broker refuses is retried alone (so its
    batch-mates are delivered), and if refused again reported (line number, reason) and sent to the
    dead-letter topic; ``ProduceResult.sent`` is what the topic holds from this run."""
    if rate < 0:
        raise ConfigError(f"--rate must be >= 0, got {rate!r}")
    topic = topic or settings.kafka_topic_posts
    parser = MessageParser(Limits.from_settings(settings), now_us=time.time_ns() // 1000)
    records, stats = read_stream(input_path, keep_malformed=not skip_malformed, parser=parser)
    ensure_topics(settings, [topic, settings.kafka_topic_dead_letter])  # not auto-creation: see TOPIC_CONFIG
    return send_records(settings, records, topic, rate, stats=stats, progress=progress)


def _refusal(exc: BaseException | None) -> str:
    name = type(exc).__name__ if exc is not None else "unknown error"
    detail = str(exc).split("\n")[0][:160] if exc is not None else ""
    return f"{name}: {detail}" if detail and detail != name else name


def _is_refusal(exc: BaseException | None) -> bool:
    """A broker's verdict on the record itself (not a connection problem): retrying cannot help."""
    from kafka.errors import KafkaError, KafkaTimeoutError

    if exc is None or isinstance(exc, KafkaTimeoutError):
        return False
    return isinstance(exc, KafkaError) and not getattr(exc, "retriable", False) and not isinstance(
        exc, (ConnectionError, OSError))


def _settle(prod, futures: list, timeout: float) -> None:
    """Wait until every future has its verdict. ``flush`` alone is not enough: when the broker refuses
    a batch as too large, kafka-python splits and re-sends it, and ``flush`` can return (or raise
    "Future not done") while the split batches are still in flight."""
    from kafka.errors import KafkaError, KafkaTimeoutError

    deadline = time.monotonic() + timeout
    while True:
        try:
            prod.flush(timeout=max(1.0, deadline - time.monotonic()))
        except KafkaError:
            pass
        if all(f.is_done for f in futures):
            return
        if time.monotonic() > deadline:
            raise KafkaTimeoutError(f"{sum(not f.is_done for f in futures)} sends unconfirmed after {timeout:.0f} s")
        time.sleep(0.05)


def _close(prod) -> None:
    from kafka.errors import KafkaError

    try:
        prod.close(timeout=10)
    except KafkaError:  # nothing is pending any more (every future settled or reported)
        pass


def send_records(settings: Settings, records: list[StreamRecord], topic: str, rate: float = 0.0, *,
                 stats: StreamStats | None = None, progress: bool | None = None) -> ProduceResult:
    """Send records (``dlq`` ones to the dead-letter topic); every send confirmed (see :func:`produce`)."""
    from kafka.errors import KafkaError
    from tqdm.auto import tqdm

    dlq_topic = settings.kafka_topic_dead_letter
    # Not idempotent: an idempotent producer treats one refused record as fatal and aborts every
    # other batch. One request in flight keeps the order without it; every send is confirmed below.
    prod = producer(settings, enable_idempotence=False, max_in_flight_requests_per_connection=1)
    kafka_log = logging.getLogger("kafka.producer")
    level = kafka_log.level
    kafka_log.setLevel(max(level, logging.ERROR))  # refusals are reported once, by line, in the summary
    t0 = time.perf_counter()
    show = sys.stderr.isatty() if progress is None else progress
    pending: list[tuple[StreamRecord, object]] = []
    refused: list[tuple[StreamRecord, str]] = []
    sent = dead_lettered = 0

    def send(r: StreamRecord):
        return prod.send(dlq_topic if r.dlq else topic, value=r.value, key=r.key, timestamp_ms=r.timestamp_ms)

    try:
        with tqdm(total=len(records), unit="msg", desc=f"produce {topic}", disable=not show, leave=False) as bar:
            for i, r in enumerate(records):
                if rate > 0:
                    ahead = t0 + i / rate - time.perf_counter()
                    if ahead > 0:
                        time.sleep(ahead)
                try:
                    pending.append((r, send(r)))
                except KafkaError as exc:  # refused by the client itself (e.g. larger than max_request_size)
                    if not _is_refusal(exc):
                        raise
                    refused.append((r, _refusal(exc)))
                if i % 5000 == 4999:
                    bar.update(5000)
            _settle(prod, [f for _, f in pending], 120)
            bar.update(len(records) % 5000)
            retry = []
            for r, fut in pending:
                if not fut.failed():  # type: ignore[attr-defined]
                    if r.dlq:
                        dead_lettered += 1
                    else:
                        sent += 1
                    continue
                exc = fut.exception  # type: ignore[attr-defined]
                if not _is_refusal(exc):
                    raise exc if isinstance(exc, KafkaError) else KafkaError(str(exc))
                retry.append(r)
            # a refused record fails its whole batch: send each again alone, so only the culprit stays refused
            for r in retry:
                fut = send(r)
                _settle(prod, [fut], 60)
                if fut.failed():
                    if not _is_refusal(fut.exception):
                        raise fut.exception
                    refused.append((r, _refusal(fut.exception)))
                elif r.dlq:
                    dead_lettered += 1
                else:
                    sent += 1
            # what the broker refused goes to the dead-letter topic, as a dead letter with the reason
            for r, why in refused:
                letter = DeadLetter(f"the Kafka broker refused the record ({why})", excerpt(r.value), len(r.value))
                fut = prod.send(dlq_topic, value=letter.to_json(line=r.line, topic=topic), key=None)
                _settle(prod, [fut], 60)
                if fut.failed():
                    raise fut.exception
                dead_lettered += 1
    except KafkaError as exc:
        raise unavailable(settings, exc) from None
    finally:
        _close(prod)
        kafka_log.setLevel(level)
    return ProduceResult(topic, sent, stats if stats is not None else StreamStats(posts=sent),
                         time.perf_counter() - t0, [(r.line, why) for r, why in refused], dead_lettered, dlq_topic)


#: A valid Jetstream event that is not a post: the job skips it, but its timestamp moves the watermark.
WATERMARK_EVENT = b'{"did":"did:plc:trendlab-watermark","time_us":%d,"kind":"identity","identity":{}}'


def advance_watermark(settings: Settings, topic: str, timestamp_ms: int) -> int:
    """Send a non-post event with ``timestamp_ms`` to *every* partition of ``topic``; returns the count.

    The job's watermark is the minimum over the partitions, so a stream that has ended closes its last
    windows only when each partition has seen a later record. Use a time past the last window end plus
    the out-of-orderness bound (e.g. the last event time + window + 1 h).
    """
    from kafka.errors import KafkaError

    prod = producer(settings)
    try:
        partitions = sorted(prod.partitions_for(topic) or [])
        if not partitions:
            raise ConfigError(f"topic {topic!r} has no partitions (does it exist?)")
        for partition in partitions:
            prod.send(topic, value=WATERMARK_EVENT % (timestamp_ms * 1000), partition=partition,
                      timestamp_ms=timestamp_ms)
        prod.flush(timeout=60)
    except KafkaError as exc:
        raise unavailable(settings, exc) from None
    finally:
        prod.close(timeout=10)
    return len(partitions)


def consume(
    settings: Settings,
    topic: str,
    *,
    from_beginning: bool = False,
    timeout: float = 10.0,
    max_records: int | None = None,
) -> Iterator[bytes]:
    """Committed records' values (``isolation_level=read_committed``) until ``timeout`` s pass without one."""
    from kafka.errors import KafkaError

    try:
        consumer = kafka_consumer(settings, KafkaProfile.JOB_OUTPUT_READ_COMMITTED, topic,
                                  auto_offset_reset="earliest" if from_beginning else "latest",
                                  consumer_timeout_ms=int(timeout * 1000))
    except KafkaError as exc:
        raise unavailable(settings, exc) from None
    try:
        count = 0
        for message in consumer:
            yield message.value
            count += 1
            if max_records is not None and count >= max_records:
                return
    finally:
        consumer.close()


def consume_json(settings: Settings, topic: str, **kwargs) -> list[dict]:
    return [orjson.loads(v) for v in consume(settings, topic, **kwargs)]
