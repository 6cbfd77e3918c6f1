"""Live trends: the service follows the job's trend alerts and window counts in Kafka.

:class:`TrendBoard` keeps the current trends: one per trend (an alert's ``trend``, else its keyword),
with every keyword that alerted in it (and up to :data:`MAX_RELATED` co-occurring ones), when it started (the opening alert's ``window_start``), the
latest window count and distinct authors of its keywords, its best score and its status. Time is the
*stream's* time: the latest window end seen on either topic, so a replayed stream shows its own trends.
A trend is ``hot`` while one of its keywords alerted within the last window length, ``cooling`` after,
and leaves the board :data:`EXPIRE_WINDOWS` window lengths after its keywords were last counted.

:class:`KafkaFollower` reads both topics (``read_committed``: only what the exactly-once job committed)
from at most :data:`BACKLOG` records back per partition, and keeps following; it waits for topics that
do not exist yet and reconnects when Kafka goes away. Malformed records are counted, never raised.

:func:`get_trends` is the same board in the shape of Bluesky's ``app.bsky.unspecced.getTrends``
(``{"trends": [trendView]}``: ``topic``, ``displayName``, ``link``, ``startedAt``, ``postCount``,
``status``, ``category``, ``actors``).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import orjson

from trendlab.config import Settings
from trendlab.models import TrendAlert, format_time, parse_time

log = logging.getLogger(__name__)

BACKLOG = 50_000
MAX_RELATED = 10
EXPIRE_WINDOWS = 3
BLUESKY_SEARCH = "https://bsky.app/search?q="


@dataclass
class Trend:
    topic: str
    started_at: datetime
    window: timedelta
    keywords: dict[str, None] = field(default_factory=dict)  # alerted keywords, in order
    related: dict[str, None] = field(default_factory=dict)
    last_alert_end: datetime | None = None
    score: float = 0.0
    language: str | None = None
    alerts: int = 0


@dataclass
class Latest:
    window_end: datetime
    count: int
    unique_authors: int


class TrendBoard:
    """The current trends; thread-safe (the follower writes, request handlers read)."""

    def __init__(self, on_alert=None) -> None:
        self._lock = threading.Lock()
        self._trends: dict[str, Trend] = {}
        self._by_keyword: dict[str, str] = {}
        self._latest: dict[str, Latest] = {}
        self.clock: datetime | None = None
        self.alerts_seen = 0
        self.counts_seen = 0
        self.malformed = 0
        self._on_alert = on_alert

    def _advance(self, when: datetime) -> None:
        if self.clock is None or when > self.clock:
            self.clock = when

    def add_alert(self, alert: TrendAlert, seen_at: float | None = None) -> None:
        key = alert.trend or alert.keyword
        with self._lock:
            trend = self._trends.get(key)
            if trend is None:
                trend = self._trends[key] = Trend(topic=key, started_at=alert.window_start,
                                                  window=alert.window_end - alert.window_start)
            trend.keywords[alert.keyword] = None
            for word in alert.related_keywords:
                trend.related[word] = None
            if trend.last_alert_end is None or alert.window_end > trend.last_alert_end:
                trend.last_alert_end = alert.window_end
            trend.score = max(trend.score, alert.score)
            trend.language = trend.language or alert.language
            trend.alerts += 1
            self._by_keyword[alert.keyword] = key
            latest = self._latest.get(alert.keyword)
            if latest is None or alert.window_end >= latest.window_end:
                self._latest[alert.keyword] = Latest(alert.window_end, alert.count, alert.unique_authors)
            self._advance(alert.window_end)
            self.alerts_seen += 1
        if self._on_alert is not None:
            self._on_alert(alert, time.time() if seen_at is None else seen_at)

    def add_count(self, record: dict[str, Any]) -> None:
        """One window count (``WindowedKeywordCount`` JSON); only trending keywords are kept."""
        end = parse_time(record["window_end"], "window_end")
        keyword = record["keyword"]
        with self._lock:
            self.counts_seen += 1
            self._advance(end)
            if keyword in self._by_keyword:
                latest = self._latest.get(keyword)
                if latest is None or end >= latest.window_end:
                    self._latest[keyword] = Latest(end, int(record["count"]), int(record["unique_authors"]))

    def add_record(self, topic_kind: str, value: bytes | None) -> None:
        """A raw Kafka record of the ``alerts`` or ``counts`` topic; a malformed one is counted."""
        try:
            if topic_kind == "alerts":
                self.add_alert(TrendAlert.from_json(value or b""))
            else:
                self.add_count(orjson.loads(value or b""))
        except (ValueError, KeyError, TypeError) as exc:
            with self._lock:
                self.malformed += 1
            log.debug("malformed %s record: %s", topic_kind, exc)

    def current(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The trends on the board now, hot first, then by latest count; expired ones are dropped."""
        with self._lock:
            clock = self.clock
            rows = []
            for key, trend in list(self._trends.items()):
                latest = [self._latest[k] for k in trend.keywords if k in self._latest]
                last_seen = max((x.window_end for x in latest), default=trend.last_alert_end)
                if clock is not None and last_seen is not None and clock - last_seen > EXPIRE_WINDOWS * trend.window:
                    del self._trends[key]
                    for word in trend.keywords:
                        if self._by_keyword.get(word) == key:
                            del self._by_keyword[word]
                            self._latest.pop(word, None)
                    continue
                newest = [x for x in latest if x.window_end == last_seen]
                hot = clock is not None and trend.last_alert_end is not None and \
                    clock - trend.last_alert_end < trend.window
                related = [w for w in trend.related if w not in trend.keywords][:MAX_RELATED]
                rows.append({
                    "topic": trend.topic,
                    "keywords": list(trend.keywords),
                    "related_keywords": related,
                    "count": max((x.count for x in newest), default=0),
                    "unique_authors": max((x.unique_authors for x in newest), default=0),
                    "started_at": format_time(trend.started_at),
                    "last_window_end": format_time(last_seen) if last_seen else None,
                    "status": "hot" if hot else "cooling",
                    "score": round(trend.score, 3),
                    "alerts": trend.alerts,
                    "language": trend.language,
                })
        rows.sort(key=lambda r: (r["status"] != "hot", -r["count"], r["topic"]))
        return rows if limit is None else rows[:limit]

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {"stream_time": format_time(self.clock) if self.clock else None, "alerts_seen": self.alerts_seen,
                    "counts_seen": self.counts_seen, "malformed": self.malformed}


def get_trends(board: TrendBoard, limit: int = 10) -> dict[str, Any]:
    """``app.bsky.unspecced.getTrends``'s output: ``{"trends": [app.bsky.unspecced.defs#trendView]}``.

    ``actors`` (profile views) stays empty: the job counts authors, it does not keep their profiles.
    ``category`` is the post language when the job saw one (Bluesky's own categories need a classifier).
    """
    trends = []
    for row in board.current(limit):
        view: dict[str, Any] = {
            "topic": row["topic"],
            "displayName": row["topic"],
            "link": BLUESKY_SEARCH + quote(row["topic"], safe=""),
            "startedAt": row["started_at"],
            "postCount": row["count"],
            "actors": [],
        }
        if row["status"] == "hot":
            view["status"] = "hot"
        if row["language"]:
            view["category"] = row["language"]
        trends.append(view)
    return {"trends": trends}


class KafkaFollower:
    """A daemon thread that feeds a :class:`TrendBoard` from the alerts and counts topics."""

    def __init__(self, settings: Settings, board: TrendBoard, backlog: int = BACKLOG, poll_s: float = 0.5) -> None:
        self.settings = settings
        self.board = board
        self.backlog = backlog
        self.poll_s = poll_s
        self.error: str | None = None
        self.assigned: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> KafkaFollower:
        self._thread = threading.Thread(target=self._run, name="trendlab-trends", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def topics(self) -> dict[str, str]:
        return {self.settings.kafka_topic_alerts: "alerts", self.settings.kafka_topic_trends: "counts"}

    def _broker_answers(self) -> bool:
        """kafka-python leaks a selector and a socket pair when its constructor fails: ask first."""
        import asyncio

        from trendlab.service.probes import PROBE_TIMEOUT_S, kafka_api_versions

        try:
            asyncio.run(asyncio.wait_for(kafka_api_versions(self.settings.kafka_bootstrap_servers), PROBE_TIMEOUT_S))
            return True
        except Exception as exc:  # noqa: BLE001 - down, refused, hung: try again later
            self.error = f"Kafka at {self.settings.kafka_bootstrap_servers} does not answer ({type(exc).__name__})"
            return False

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._broker_answers():
                self._stop.wait(2.0)
                continue
            consumer = None
            try:
                consumer = self._consumer()
                self._follow(consumer)
            except Exception as exc:  # noqa: BLE001 - Kafka went away: say so, wait, reconnect
                self.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
                log.warning("trend follower: %s", self.error)
                self._stop.wait(2.0)
            finally:
                if consumer is not None:
                    consumer.close()

    def _consumer(self):
        from kafka import KafkaConsumer

        return KafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers, group_id=None, enable_auto_commit=False,
            isolation_level="read_committed", request_timeout_ms=10000,
            client_id="trendlab-service-trends",
        )

    def _assign(self, consumer) -> bool:
        from kafka import TopicPartition

        partitions = []
        for topic in self.topics:
            ids = consumer.partitions_for_topic(topic)
            if not ids:
                return False
            partitions += [TopicPartition(topic, p) for p in sorted(ids)]
        consumer.assign(partitions)
        beginning = consumer.beginning_offsets(partitions)
        end = consumer.end_offsets(partitions)
        for tp in partitions:
            consumer.seek(tp, max(beginning[tp], end[tp] - self.backlog))
        self.assigned = sorted(self.topics)
        return True

    def _follow(self, consumer) -> None:
        while not self._stop.is_set() and not self._assign(consumer):
            self.error = f"waiting for topics {', '.join(sorted(self.topics))}"
            self._stop.wait(2.0)
        self.error = None
        kinds = self.topics
        while not self._stop.is_set():
            batches = consumer.poll(timeout_ms=int(self.poll_s * 1000), max_records=5000)
            # alerts first: a count of a keyword is kept only once the keyword trends
            for tp in sorted(batches, key=lambda tp: kinds[tp.topic] != "alerts"):
                for message in batches[tp]:
                    self.board.add_record(kinds[tp.topic], message.value)
