"""``trendlab jetstream ingest``: Jetstream events into Kafka, each once, resumable from Kafka itself.

What goes where (the Flink job reads the posts topic like one filled by ``trendlab produce``):

* a **post** (the parser's verdict) → the posts topic: value = the event exactly as received,
  key = the author DID, record timestamp = ``time_us // 1000`` (the job's event time);
* a **dead letter** (a malformed post, an event of an unexpected kind, a frame that is not zstd or not
  JSON, a frame over ``TRENDLAB_MAX_MESSAGE_BYTES`` — a zstd bomb is stopped at that cap, so it costs
  the cap, not its expanded size) → the dead-letter topic as ``{"message", "error", "event_time"}`` (the job's dead-letter form);
* any other event (likes, deletes, identity, account…) is **skipped** and counted.

**The cursor lives in Kafka.** Every ``commit_interval`` s the ingester flushes its idempotent producer
and, only once every record sent so far is acknowledged, writes the ``time_us`` it has reached to a
compacted cursor topic (``<topic>-jetstream-cursor`` unless told otherwise). Whoever starts next — this
machine after a crash or ``kill -9``, or another machine — reads that cursor, reads back what the posts
and dead-letter topics hold from ``overlap_s`` before it, subscribes from there and drops every event
already in Kafka (by its identity, the same on every Jetstream instance). So the topic holds every
event once: nothing before the cursor is missing (it was acknowledged), nothing after it is sent twice
(it was read back).

**Kafka unavailable**: the producer's buffer is bounded (``buffer_bytes``); when it is full or Kafka
does not acknowledge within ``flush_timeout``, the ingester stops reading Jetstream (back-pressure),
drops its connection, waits for Kafka with backoff and resumes from the cursor in Kafka as above —
without loss, because Jetstream keeps a day or more of events to replay.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
import time
from contextlib import aclosing
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson

from trendlab.config import Settings
from trendlab.errors import ConfigError
from trendlab.jetstream.subscriber import MAX_AHEAD_US, ClientStats, Event, JetstreamClient, event_identity, now_us
from trendlab.jetstream.progress import ProgressLine, lag_seconds
from trendlab.kafka import KafkaUnavailable, ensure_topics
from trendlab.core.models import PostData, format_time, micros_to_datetime
from trendlab.core.parse import DeadLetter, Limits, MessageParser

log = logging.getLogger(__name__)

POST, SKIP, DEAD = "post", "skipped", "dead_letter"

#: The cursor topic keeps only the latest cursor per key.
CURSOR_TOPIC_CONFIG = {"cleanup.policy": "compact", "retention.ms": "-1", "min.compaction.lag.ms": "60000"}
CURSOR_KEY = b"jetstream"


def cursor_topic_for(topic: str) -> str:
    return f"{topic}-jetstream-cursor"


def classify(parse: MessageParser, raw: bytes):
    """One event → ``(POST, post)``, ``(SKIP, skip)`` or ``(DEAD, dead_letter)``: the one place that asks
    the total parser (:mod:`trendlab.core.parse`) what an event is."""
    outcome = parse(raw)
    if outcome.__class__ is PostData:
        return POST, outcome
    if outcome.__class__ is DeadLetter:
        return DEAD, outcome
    return SKIP, outcome


def dead_letter_identity(message: str) -> tuple:
    """The identity of a dead letter's message: the event's when it is an event, else the text."""
    try:
        obj = orjson.loads(message)
    except orjson.JSONDecodeError:
        obj = None
    if isinstance(obj, dict) and "kind" in obj and "did" in obj:
        return event_identity(obj)
    return ("raw", message)


# -- the Kafka side -----------------------------------------------------------------------------

@dataclass
class SinkStats:
    outcomes: Counter = field(default_factory=Counter)  # (kind, outcome) -> events
    duplicates: int = 0
    committed_us: int | None = None
    commits: int = 0
    kafka_up: bool = False
    resumed_from_us: int | None = None
    read_back: int = 0

    def count(self, outcome: str) -> int:
        return sum(n for (_, o), n in self.outcomes.items() if o == outcome)


class KafkaSink:
    """The posts topic, the dead-letter topic and the cursor, behind one small interface."""

    def __init__(self, settings: Settings, topic: str, *, dead_letter_topic: str | None = None,
                 cursor_topic: str | None = None, overlap_s: float = 5.0, flush_timeout: float = 15.0,
                 buffer_bytes: int = 16 * 1024 * 1024, stats: SinkStats | None = None) -> None:
        self.settings = settings
        self.topic = topic
        self.dead_letter_topic = dead_letter_topic or settings.kafka_topic_dead_letter
        self.cursor_topic = cursor_topic or cursor_topic_for(topic)
        self.overlap_us = int(overlap_s * 1_000_000)
        self.flush_timeout = flush_timeout
        self.buffer_bytes = buffer_bytes
        self.stats = stats or SinkStats()
        self.parse = MessageParser(Limits.from_settings(settings))  # now = the clock at each call: live
        self.producer = None
        self.seen: set[tuple] = set()
        self.position_us: int | None = None  # time_us of the last event handled (sent or skipped)
        self._failed: BaseException | None = None
        self._dirty = False
        self._inflight = 0  # bytes sent and not yet acknowledged
        self._lock = threading.Lock()

    # -- start: the cursor and what is already there --------------------------------------------
    def open(self) -> int | None:
        """Connect, read the cursor and what Kafka holds after it; returns where to subscribe from
        (``None``: no cursor in Kafka yet)."""
        from kafka.errors import KafkaError

        try:
            ensure_topics(self.settings, [self.topic, self.dead_letter_topic])
            ensure_topics(self.settings, [self.cursor_topic], partitions=1, config=CURSOR_TOPIC_CONFIG)
            cursor = self._read_cursor()
            self.stats.committed_us = cursor
            start = None
            if cursor is not None:
                start = max(1, cursor - self.overlap_us)
                self.seen = self._read_back(start // 1000 - 1)
                self.stats.read_back = len(self.seen)
                self.position_us = cursor
            self.stats.resumed_from_us = start
            self.producer = self._producer()
        except KafkaError as exc:
            self.abandon()
            raise self._unavailable(exc) from None
        self.stats.kafka_up = True
        return start

    def _unavailable(self, exc: BaseException) -> KafkaUnavailable:
        self.stats.kafka_up = False
        return KafkaUnavailable(f"Kafka at {self.settings.kafka_bootstrap_servers} does not answer "
                                f"({type(exc).__name__}: {exc})")

    def _producer(self):
        from trendlab.kafka import producer

        # kafka-python 3 has no bounded buffer of its own (no buffer_memory): _send bounds the bytes in
        # flight itself, by flushing (and so not reading Jetstream) when they pass buffer_bytes
        return producer(self.settings, enable_idempotence=True,
                        max_block_ms=int(self.flush_timeout * 1000), linger_ms=20,
                        request_timeout_ms=10_000, delivery_timeout_ms=int(max(self.flush_timeout, 12) * 1000) + 20_000)

    def _consumer(self):
        from trendlab.kafka.clients import KafkaProfile, consumer

        return consumer(self.settings, KafkaProfile.CURSOR)

    def _read_cursor(self) -> int | None:
        from trendlab.kafka.clients import topic_partition as TopicPartition

        consumer = self._consumer()
        try:
            tp = TopicPartition(self.cursor_topic, 0)
            consumer.assign([tp])
            end = consumer.end_offsets([tp])[tp]
            if not end:
                return None
            consumer.seek(tp, max(0, end - 50))
            cursor = None
            deadline = time.monotonic() + 15
            while consumer.position(tp) < end and time.monotonic() < deadline:
                for records in consumer.poll(timeout_ms=500).values():
                    for r in records:
                        if r.key == CURSOR_KEY:
                            try:
                                cursor = int(orjson.loads(r.value)["time_us"])
                            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                                log.warning("jetstream ingest: unreadable cursor record at offset %d", r.offset)
            return cursor
        finally:
            consumer.close()

    def _read_back(self, from_ms: int) -> set[tuple]:
        """Identities of every record in the posts and dead-letter topics with a timestamp >= ``from_ms``."""
        from trendlab.kafka.clients import topic_partition as TopicPartition

        consumer = self._consumer()
        seen: set[tuple] = set()
        try:
            tps = [TopicPartition(t, p) for t in (self.topic, self.dead_letter_topic)
                   for p in sorted(consumer.partitions_for_topic(t) or [])]
            consumer.assign(tps)
            ends = consumer.end_offsets(tps)
            starts = consumer.offsets_for_times({tp: max(from_ms, 0) for tp in tps})
            todo = {}
            for tp in tps:
                found = starts.get(tp)
                if found is not None and found.offset < ends[tp]:
                    consumer.seek(tp, found.offset)
                    todo[tp] = ends[tp]
                else:
                    consumer.pause(tp)
            deadline = time.monotonic() + 120
            while todo and time.monotonic() < deadline:
                for tp, records in consumer.poll(timeout_ms=500, max_records=5000).items():
                    for r in records:
                        if r.offset >= todo.get(tp, -1):
                            continue
                        seen.add(self._identity_of_record(tp.topic, r.value))
                    if consumer.position(tp) >= todo.get(tp, 0):
                        todo.pop(tp, None)
                        consumer.pause(tp)
            if todo:
                raise KafkaUnavailable(f"Kafka at {self.settings.kafka_bootstrap_servers}: could not read back "
                                       f"{sorted(str(t) for t in todo)} within 120s")
            return seen
        finally:
            consumer.close()

    def _identity_of_record(self, topic: str, value: bytes) -> tuple:
        try:
            obj = orjson.loads(value)
        except orjson.JSONDecodeError:
            return ("raw", value.decode("utf-8", "replace"))
        if topic == self.dead_letter_topic and isinstance(obj, dict) and isinstance(obj.get("message"), str):
            return dead_letter_identity(obj["message"])
        if isinstance(obj, dict):
            return event_identity(obj)
        return ("raw", value.decode("utf-8", "replace"))

    # -- sending ------------------------------------------------------------------------------
    def _send(self, topic: str, value: bytes, key: bytes | None, timestamp_ms: int) -> None:
        from kafka.errors import KafkaError

        if self._failed is not None:
            raise self._unavailable(self._failed)
        if self._inflight > self.buffer_bytes:
            self._flush()  # back-pressure: the bounded buffer is full, wait for Kafka (or give up on it)
        try:
            future = self.producer.send(topic, value=value, key=key, timestamp_ms=timestamp_ms)
        except KafkaError as exc:
            raise self._unavailable(exc) from None
        size = len(value)
        with self._lock:
            self._inflight += size
        future.add_both(self._done, size)
        self._dirty = True

    def _done(self, size: int, result) -> None:
        """Producer callback (its I/O thread): a record acknowledged or failed."""
        with self._lock:
            self._inflight -= size
        if isinstance(result, BaseException) and self._failed is None:
            self._failed = result

    def accept(self, event: Event) -> str:
        """Send one event where it belongs (see the module docstring); returns its outcome."""
        if self.stats.committed_us is None:
            # the first event ever: say in Kafka where this stream starts before anything is sent,
            # so that a crash from here on resumes from here, not from the live tip
            self._commit_cursor(event.time_us - 1, flush=True)
        if event.identity in self.seen:
            self.stats.duplicates += 1
            self._advance(event.time_us)
            return "duplicate"
        outcome, detail = classify(self.parse, event.raw)
        if outcome == POST:
            self._send(self.topic, event.raw, event.did.encode(), event.time_us // 1000)
        elif outcome == DEAD:
            # stamped where the stream is, not by the event's own (maybe absurd) time: a resume reads it back
            self._send_dead_letter(detail, max(self.position_us or 0, min(event.time_us, now_us())))
        self.stats.outcomes[(event.kind, outcome)] += 1
        self._advance(event.time_us)
        return outcome

    def _advance(self, time_us: int) -> None:
        if time_us > (self.position_us or 0) and time_us <= now_us() + MAX_AHEAD_US:
            self.position_us = time_us

    def bad_frame(self, reason: str, detail: str, payload: bytes) -> None:
        """A frame the client could not read as an event: to the dead-letter topic with the reason."""
        if self.producer is None:
            return
        from trendlab.core.parse import EXCERPT_CHARS

        dead = DeadLetter(f"bad Jetstream frame ({reason}): {detail}",
                          payload[:EXCERPT_CHARS].decode("utf-8", "backslashreplace"), len(payload))
        if dead_letter_identity(dead.excerpt) in self.seen:
            self.stats.duplicates += 1
            return
        self._send_dead_letter(dead, self.position_us)
        self.stats.outcomes[("frame", DEAD)] += 1

    def _send_dead_letter(self, dead: DeadLetter, time_us: int | None) -> None:
        ts_us = time_us if time_us is not None else now_us()
        value = dead.to_json(event_time=format_time(micros_to_datetime(ts_us)), source="jetstream")
        self._send(self.dead_letter_topic, value, None, ts_us // 1000)

    # -- the cursor ---------------------------------------------------------------------------
    def commit(self) -> None:
        """Flush; once every record sent so far is acknowledged, write the cursor (the position)."""
        if self.producer is None or self.position_us is None:
            return
        if not self._dirty and self.position_us == self.stats.committed_us:
            return
        self._flush()
        self._commit_cursor(self.position_us, flush=False)

    def _flush(self) -> None:
        from kafka.errors import KafkaError

        try:
            self.producer.flush(timeout=self.flush_timeout)
        except KafkaError as exc:
            raise self._unavailable(exc) from None
        if self._failed is not None:
            raise self._unavailable(self._failed)
        self._dirty = False

    def _commit_cursor(self, time_us: int, *, flush: bool) -> None:
        value = orjson.dumps({"time_us": time_us, "time": format_time(micros_to_datetime(time_us)),
                              "topic": self.topic, "host": socket.gethostname(), "pid": os.getpid(),
                              "written_at": format_time(micros_to_datetime(now_us()))})
        self._send(self.cursor_topic, value, CURSOR_KEY, now_us() // 1000)
        if flush:
            self._flush()
        self.stats.committed_us = time_us
        self.stats.commits += 1

    def close(self) -> None:
        """Flush everything, write the final cursor, close."""
        if self.producer is None:
            return
        try:
            self.commit()
            self._flush()
        finally:
            self.producer.close(timeout=10)
            self.producer = None

    def abandon(self) -> None:
        """Drop the producer without delivering what it still holds (Kafka is gone); the next :meth:`open`
        resumes from the cursor in Kafka and reads back what is there.

        The producer's I/O thread must be *stopped*, not merely asked to close: kafka-python's
        ``close(timeout=0)`` first flushes with a zero timeout, which raises while batches are pending and
        leaves the thread running — it would then deliver those batches when Kafka returns, after the next
        session has read the topic back and sent the same events again (duplicates). So the sender is
        force-closed (pending batches fail) and joined before anything else reads Kafka."""
        producer, self.producer = self.producer, None
        if producer is None:
            return
        abandon_producer(producer)


def abandon_producer(producer, join_timeout: float = 30.0) -> None:
    """Stop a kafka-python producer's I/O thread without sending what it still holds; wait for it to end."""
    sender = getattr(producer, "_sender", None)
    if sender is not None:
        sender.force_close()  # fails every pending batch, sends nothing more
        sender.join(join_timeout)
        if sender.is_alive():
            log.warning("jetstream ingest: the abandoned Kafka producer's thread did not stop within %.0fs", join_timeout)
    try:
        producer.close(timeout=0)  # nothing pending any more: releases metrics and the atexit hook
    except Exception:  # noqa: BLE001 - closing a broken producer must not hide the outage
        log.debug("closing the abandoned producer failed", exc_info=True)


# -- metrics ------------------------------------------------------------------------------------

class IngestCollector:
    """Prometheus metrics of one ingester, computed when scraped (so lag is now − last ``time_us``)."""

    def __init__(self, client_stats: ClientStats, sink_stats: SinkStats) -> None:
        self.client = client_stats
        self.sink = sink_stats

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        events = CounterMetricFamily("trendlab_jetstream_events", "Jetstream events handled, by event kind and "
                                     "outcome (post, skipped, dead_letter, duplicate)", labels=["kind", "outcome"])
        for (kind, outcome), n in sorted(self.sink.outcomes.items()):
            events.add_metric([kind, outcome], n)
        events.add_metric(["any", "duplicate"], self.sink.duplicates + self.client.duplicates)
        yield events
        lag = lag_seconds(self.client)
        yield GaugeMetricFamily("trendlab_jetstream_lag_seconds", "now minus time_us of the last event received",
                                value=float("nan") if lag is None else lag)
        yield CounterMetricFamily("trendlab_jetstream_reconnects", "Jetstream reconnections",
                                  value=self.client.reconnects)
        bad = CounterMetricFamily("trendlab_jetstream_bad_frames", "frames that are not an event, by reason",
                                  labels=["reason"])
        for reason, n in sorted(self.client.bad_frames.items()):
            bad.add_metric([reason], n)
        yield bad
        yield GaugeMetricFamily("trendlab_jetstream_cursor_time_us", "last cursor committed to Kafka (unix us)",
                                value=float("nan") if self.sink.committed_us is None else self.sink.committed_us)
        yield GaugeMetricFamily("trendlab_jetstream_last_event_time_us", "time_us of the last event received",
                                value=float("nan") if self.client.last_time_us is None else self.client.last_time_us)
        yield GaugeMetricFamily("trendlab_jetstream_kafka_up", "1 when Kafka accepts records", value=int(self.sink.kafka_up))


def serve_metrics(port: int, collector: IngestCollector):
    """Serve ``collector`` on ``port`` (0 = off); returns the server (``.shutdown()`` stops it)."""
    if not port:
        return None
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    try:
        server, _thread = start_http_server(port, addr="0.0.0.0", registry=registry)
    except OSError as exc:
        raise ConfigError(f"PROMETHEUS_PORT {port} cannot be served ({exc.strerror}); set another or --metrics-port 0") from None
    return server


# -- the ingester -------------------------------------------------------------------------------

@dataclass
class IngestResult:
    client: ClientStats
    sink: SinkStats
    seconds: float

    def report(self) -> str:
        s = self.sink
        return (f"{self.client.events:,} events in {self.seconds:.1f}s: {s.count(POST):,} posts sent, "
                f"{s.count(DEAD):,} dead letters, {s.count(SKIP):,} non-post events skipped, "
                f"{s.duplicates + self.client.duplicates:,} duplicates dropped, "
                f"{self.client.reconnects} reconnects, {self.client.bad_total} bad frames; cursor {s.committed_us}")


class Ingester:
    def __init__(self, settings: Settings, *, urls: Sequence[str] | str | None = None, topic: str | None = None,
                 collections: Sequence[str] = ("app.bsky.feed.post",), cursor: int | None = None,
                 compress: bool = True, max_message_size: int = 0, stall_timeout: float = 30.0,
                 cursor_topic: str | None = None, overlap_s: float = 5.0, commit_interval: float = 1.0,
                 flush_timeout: float = 15.0, buffer_bytes: int = 16 * 1024 * 1024,
                 max_events: int | None = None, duration_s: float | None = None,
                 metrics_port: int | None = None, progress_every: float | None = None) -> None:
        self.settings = settings
        self.urls = urls
        self.topic = topic or settings.kafka_topic_posts
        self.client_args = dict(collections=list(collections), compress=compress, max_message_size=max_message_size,
                                stall_timeout=stall_timeout, max_event_bytes=settings.max_message_bytes)
        JetstreamClient(urls, **self.client_args)  # refuse bad URLs and collections before touching Kafka
        self.cursor = cursor
        self.sink_args = dict(cursor_topic=cursor_topic, overlap_s=overlap_s, flush_timeout=flush_timeout,
                              buffer_bytes=buffer_bytes)
        self.commit_interval = commit_interval
        self.max_events = max_events
        self.duration_s = duration_s
        self.metrics_port = settings.prometheus_port if metrics_port is None else metrics_port
        self.client_stats = ClientStats()
        self.sink_stats = SinkStats()
        self.progress = ProgressLine("jetstream ingest", self.client_stats, every=progress_every,
                                     extra=self._progress_extra)
        self.handled = 0

    def _progress_extra(self) -> str:
        s = self.sink_stats
        state = "" if s.kafka_up else ", Kafka unavailable"
        return f"posts {s.count(POST):,}, dead letters {s.count(DEAD):,}{state}"

    def run(self) -> IngestResult:
        return asyncio.run(self.run_async())

    async def run_async(self) -> IngestResult:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
                pass
        metrics = serve_metrics(self.metrics_port, IngestCollector(self.client_stats, self.sink_stats))
        t0 = time.monotonic()
        if self.duration_s:
            loop.call_later(self.duration_s, stop.set)
        attempt = 0
        sink: KafkaSink | None = None
        try:
            while not stop.is_set():
                sink = KafkaSink(self.settings, self.topic, stats=self.sink_stats, **self.sink_args)
                try:
                    start = await asyncio.to_thread(sink.open)
                except KafkaUnavailable as exc:
                    sink = None
                    attempt += 1
                    delay = min(30.0, 0.5 * 2 ** min(attempt, 6))
                    log.warning("jetstream ingest: %s; retrying in %.0fs (the stream waits at its cursor)", exc, delay)
                    self.progress.tick()
                    await _wait(stop, delay)
                    continue
                attempt = 0
                if start is not None:
                    log.info("jetstream ingest: resuming from cursor %d (%d records read back)",
                             start, self.sink_stats.read_back)
                if await self._session(sink, start if start is not None else self.cursor, stop):
                    break  # max events or duration reached, or stopped
                sink.abandon()  # Kafka failed: start over from the cursor in Kafka
                sink = None
            if sink is not None:
                sink.close()
        finally:
            self.progress.close()
            if metrics is not None:
                metrics.shutdown()
        return IngestResult(self.client_stats, self.sink_stats, time.monotonic() - t0)

    async def _session(self, sink: KafkaSink, cursor: int | None, stop: asyncio.Event) -> bool:
        """Stream until stopped (True) or Kafka fails (False)."""
        client = JetstreamClient(self.urls, cursor=cursor, on_bad_frame=sink.bad_frame, stats=self.client_stats,
                                 **self.client_args)
        pump = asyncio.create_task(self._pump(client, sink, stop))
        ticker = asyncio.create_task(self._tick(sink))
        stopper = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait({pump, ticker, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pump, ticker, stopper):
                task.cancel()
            await asyncio.gather(pump, ticker, stopper, return_exceptions=True)
        for task in (pump, ticker):
            if task in done and not task.cancelled() and task.exception() is not None:
                exc = task.exception()
                if isinstance(exc, KafkaUnavailable):
                    log.warning("jetstream ingest: %s; holding the cursor and waiting for Kafka", exc)
                    return False
                raise exc
        return True

    async def _pump(self, client: JetstreamClient, sink: KafkaSink, stop: asyncio.Event) -> None:
        async with aclosing(client.events()) as events:  # closes the connection when we stop
            async for event in events:
                sink.accept(event)
                self.handled += 1
                if self.max_events is not None and self.handled >= self.max_events:
                    stop.set()
                if stop.is_set():
                    return

    async def _tick(self, sink: KafkaSink) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.2)
            if time.monotonic() - last >= self.commit_interval:
                sink.commit()
                last = time.monotonic()
            self.progress.tick()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except asyncio.TimeoutError:
        pass
