"""Posts into Kafka and records out of it: ``trendlab produce`` and ``trendlab consume``.

What a produced record is (the Flink job relies on it):

* **value**: the input line exactly as it was (Jetstream event or flat PostData JSON);
* **timestamp**: the post's event time in ms (:attr:`trendlab.models.PostData.event_time_us` // 1000) —
  the job reads event time from the record timestamp, so it is the same definition in both engines;
* **key**: the author DID (keeps one author's posts in order on one partition);
* **order**: records are sent in event-time order (a stable sort of the file).

Valid events that are not posts (likes, follows, deletes…) are skipped and counted. Malformed lines are
counted, reported, and **sent** (key ``None``, the timestamp of the record before them) so that the job
routes them to the dead-letter topic like any malformed message of a live feed; ``--skip-malformed``
keeps them out.

The embedded Flink profile stages its input file with the same code (:func:`stage_stream`).

Topics trendlab creates keep records by size, not age (:data:`TOPIC_CONFIG`): record timestamps are
event times, and a replayed sample's are older than any time retention. After the last post of a
finished stream, :func:`advance_watermark` closes the job's last windows.
"""

from __future__ import annotations

import gzip
import logging
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from trendlab.config import Settings
from trendlab.errors import ServiceUnavailable
from trendlab.models import MalformedPost, parse_post

log = logging.getLogger(__name__)


class KafkaUnavailable(ServiceUnavailable):
    """The brokers do not answer; the message names the bootstrap servers."""


@dataclass(frozen=True, slots=True)
class StreamRecord:
    timestamp_ms: int
    key: bytes | None
    value: bytes
    malformed: bool = False


@dataclass
class StreamStats:
    posts: int = 0
    malformed: int = 0
    skipped: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def records(self) -> int:
        return self.posts + self.malformed

    def report(self) -> str:
        text = f"{self.posts:,} posts, {self.malformed:,} malformed, {self.skipped:,} non-post events skipped"
        if self.examples:
            text += "; first malformed: " + "; ".join(self.examples)
        return text


def _lines(path: str | Path) -> Iterator[bytes]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"input file not found: {path}")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        for line in fh:
            line = line.rstrip(b"\r\n")
            if line.strip():
                yield line


def read_stream(path: str | Path, *, keep_malformed: bool = True, max_examples: int = 5) -> tuple[list[StreamRecord], StreamStats]:
    """Read a posts file into Kafka records in event-time order (see the module docstring)."""
    stats = StreamStats()
    records: list[StreamRecord] = []
    last_ts: int | None = None
    pending_malformed: list[bytes] = []  # malformed lines before the first post get its timestamp
    for number, line in enumerate(_lines(path), start=1):
        try:
            post = parse_post(line)
        except MalformedPost as exc:
            stats.malformed += 1
            if len(stats.examples) < max_examples:
                stats.examples.append(f"line {number}: {exc}")
            if keep_malformed:
                if last_ts is None:
                    pending_malformed.append(line)
                else:
                    records.append(StreamRecord(last_ts, None, line, True))
            continue
        if post is None:
            stats.skipped += 1
            continue
        ts = post.event_time_us // 1000
        if last_ts is None and pending_malformed:
            records.extend(StreamRecord(ts, None, m, True) for m in pending_malformed)
            pending_malformed.clear()
        last_ts = ts
        stats.posts += 1
        records.append(StreamRecord(ts, post.author_did.encode(), line))
    records.extend(StreamRecord(0, None, m, True) for m in pending_malformed)
    records.sort(key=lambda r: r.timestamp_ms)  # stable: file order within one millisecond
    return records, stats


def stage_stream(path: str | Path, target: str | Path) -> StreamStats:
    """Write ``path`` as the embedded job's source: JSON lines ``{"ts": <event ms>, "message": "<line>"}``."""
    records, stats = read_stream(path)
    with open(target, "wb") as out:
        for r in records:
            out.write(orjson.dumps({"ts": r.timestamp_ms, "message": r.value.decode("utf-8", "replace")}) + b"\n")
    return stats


# -- Kafka clients ------------------------------------------------------------------------------

def _unavailable(settings: Settings, exc: Exception) -> KafkaUnavailable:
    return KafkaUnavailable(
        f"Kafka at {settings.kafka_bootstrap_servers} does not answer ({type(exc).__name__}); "
        "is the stack up? (trendlab stack status)"
    )


def producer(settings: Settings, **config):
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    try:
        return KafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            acks="all",
            linger_ms=config.pop("linger_ms", 20),
            batch_size=config.pop("batch_size", 256 * 1024),
            max_request_size=config.pop("max_request_size", 4 * 1024 * 1024),
            **config,
        )
    except KafkaError as exc:
        raise _unavailable(settings, exc) from None


#: Topic configuration of the topics trendlab creates. Records carry the *event* time as their
#: timestamp (a replayed sample can be months old), and Kafka's time retention deletes segments whose
#: newest timestamp is older than ``retention.ms`` (and rolls such segments at once): with the broker's
#: default of 7 days a replayed stream vanished while the job was still reading it. So retention is by
#: size only.
TOPIC_CONFIG = {"retention.ms": "-1", "retention.bytes": str(2 * 1024**3)}


def ensure_topics(settings: Settings, topics: Iterable[str] | Mapping[str, int], partitions: int | None = None,
                  replication: int = 1, config: Mapping[str, str] | None = None) -> list[str]:
    """Create the topics that do not exist yet (with :data:`TOPIC_CONFIG`, or ``config``); returns the
    ones created.

    ``topics`` is a list of names (each with ``partitions``, default FLINK_PARALLELISM) or a mapping
    from name to its partition count."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    partitions = partitions or settings.flink_parallelism
    try:
        admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, request_timeout_ms=15000)
    except KafkaError as exc:
        raise _unavailable(settings, exc) from None
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
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, request_timeout_ms=15000)
    except KafkaError as exc:
        raise _unavailable(settings, exc) from None
    try:
        existing = [t for t in dict.fromkeys(topics) if t in set(admin.list_topics())]
        if existing:
            admin.delete_topics(existing)
    finally:
        admin.close()


def job_topics(settings: Settings) -> list[str]:
    return [settings.kafka_topic_posts, settings.kafka_topic_trends, settings.kafka_topic_alerts,
            settings.kafka_topic_dead_letter]


@dataclass
class ProduceResult:
    topic: str
    sent: int
    stats: StreamStats
    seconds: float

    def report(self) -> str:
        rate = self.sent / self.seconds if self.seconds else 0.0
        return f"sent {self.sent:,} records to {self.topic} in {self.seconds:.1f}s ({rate:,.0f}/s): {self.stats.report()}"


def produce(
    settings: Settings,
    input_path: str | Path,
    topic: str | None = None,
    rate: float = 0.0,
    *,
    skip_malformed: bool = False,
    progress: bool | None = None,
) -> ProduceResult:
    """Send a posts file to Kafka in event-time order; ``rate`` records/s (0 = as fast as possible)."""
    if rate < 0:
        raise ValueError(f"--rate must be >= 0, got {rate!r}")
    topic = topic or settings.kafka_topic_posts
    records, stats = read_stream(input_path, keep_malformed=not skip_malformed)
    ensure_topics(settings, [topic])  # not the broker's auto-creation: see TOPIC_CONFIG
    return send_records(settings, records, topic, rate, stats=stats, progress=progress)


def send_records(settings: Settings, records: list[StreamRecord], topic: str, rate: float = 0.0, *,
                 stats: StreamStats | None = None, progress: bool | None = None) -> ProduceResult:
    from kafka.errors import KafkaError
    from tqdm.auto import tqdm

    prod = producer(settings)
    t0 = time.perf_counter()
    sent = 0
    show = sys.stderr.isatty() if progress is None else progress
    try:
        with tqdm(total=len(records), unit="msg", desc=f"produce {topic}", disable=not show, leave=False) as bar:
            for i, r in enumerate(records):
                if rate > 0:
                    ahead = t0 + i / rate - time.perf_counter()
                    if ahead > 0:
                        time.sleep(ahead)
                prod.send(topic, value=r.value, key=r.key, timestamp_ms=r.timestamp_ms)
                sent += 1
                if sent % 5000 == 0:
                    bar.update(5000)
            prod.flush(timeout=120)
            bar.update(sent % 5000)
    except KafkaError as exc:
        raise _unavailable(settings, exc) from None
    finally:
        prod.close(timeout=10)
    return ProduceResult(topic, sent, stats or StreamStats(posts=sent), time.perf_counter() - t0)


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
            raise ValueError(f"topic {topic!r} has no partitions (does it exist?)")
        for partition in partitions:
            prod.send(topic, value=WATERMARK_EVENT % (timestamp_ms * 1000), partition=partition,
                      timestamp_ms=timestamp_ms)
        prod.flush(timeout=60)
    except KafkaError as exc:
        raise _unavailable(settings, exc) from None
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
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError

    try:
        consumer = KafkaConsumer(
            topic,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest" if from_beginning else "latest",
            isolation_level="read_committed",
            consumer_timeout_ms=int(timeout * 1000),
        )
    except KafkaError as exc:
        raise _unavailable(settings, exc) from None
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


# -- CLI ----------------------------------------------------------------------------------------

def cmd_produce(args) -> int:
    settings = Settings.from_env()
    result = produce(settings, args.input, args.topic, args.rate, skip_malformed=args.skip_malformed)
    print(result.report(), file=sys.stderr)
    return 0


def cmd_consume(args) -> int:
    settings = Settings.from_env()
    out = sys.stdout.buffer
    for value in consume(settings, args.topic, from_beginning=args.from_beginning, timeout=args.timeout,
                         max_records=args.max):
        out.write(value + b"\n")
        out.flush()
    return 0


def _non_negative(name: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{name} must be a number, got {text!r}") from None
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {text!r}")
        return value

    parse.__name__ = name
    return parse


def add_cli(sub) -> None:
    p = sub.add_parser("produce", help="send a posts file to Kafka in event-time order")
    p.add_argument("input", help="Jetstream or PostData JSON lines (.jsonl or .jsonl.gz)")
    p.add_argument("--topic", help="topic (default KAFKA_TOPIC_POSTS)")
    p.add_argument("--rate", type=str, default="0", help="records per second; 0 = as fast as possible")
    p.add_argument("--skip-malformed", action="store_true", help="do not send malformed lines")
    p.set_defaults(func=lambda a: cmd_produce(_coerce(a, "rate", "--rate")))

    c = sub.add_parser("consume", help="print a topic's committed records as JSON lines")
    c.add_argument("--topic", required=True)
    c.add_argument("--from-beginning", action="store_true")
    c.add_argument("--timeout", type=str, default="10", help="stop after S seconds without a record")
    c.add_argument("--max", type=int, help="stop after N records")
    c.set_defaults(func=lambda a: cmd_consume(_coerce(a, "timeout", "--timeout")))


def _coerce(args, attr: str, flag: str):
    setattr(args, attr, _non_negative(flag)(getattr(args, attr)))
    return args
