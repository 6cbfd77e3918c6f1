"""Live trends: the service follows the job's trend alerts and window counts in Kafka.

:class:`TrendBoard` keeps the current trends: one per trend (an alert's ``trend``, else its keyword),
with every keyword that alerted in it (and up to :data:`MAX_RELATED` co-occurring ones), when it started (the opening alert's ``window_start``), the
latest window count and distinct authors of its keywords, its best score and its status. Time is the
*stream's* time: the latest window end seen on either topic, so a replayed stream shows its own trends.
A trend is ``hot`` while one of its keywords alerted within the last window length, ``cooling`` after,
and leaves the board :data:`EXPIRE_WINDOWS` window lengths after its keywords were last counted.

**The board is bounded** (``TRENDLAB_BOARD_MAX_TRENDS``, default :data:`DEFAULT_MAX_TRENDS`): when a new
trend arrives on a full board, the trend that was least recently updated (by an alert or a count of
its keywords) is evicted, and the eviction is counted (``trendlab_board_evicted_total``). Each trend
keeps at most :data:`MAX_TREND_KEYWORDS` alerted keywords and :data:`MAX_RELATED` related ones, so
memory is bounded whatever the alerts topic holds, and ``/trends`` costs the board's size, never the
number of alerts seen: the ranking is computed once per change of the board (not per request), rows
are built for the trends shown only, and expiry runs only when the stream's clock has moved.

:class:`KafkaFollower` reads both topics (``read_committed``: only what the exactly-once job committed)
from at most :data:`BACKLOG` records back per partition, and keeps following; it waits for topics that
do not exist yet and reconnects when Kafka goes away. Malformed records are counted, never raised.

:func:`get_trends` is the same board in the shape of Bluesky's ``app.bsky.unspecced.getTrends``
(``{"trends": [trendView]}``: ``topic``, ``displayName``, ``link``, ``startedAt``, ``postCount``,
``status``, ``category``, ``actors``; plus ``language``). What is served is filtered by
:mod:`trendlab.service.moderation` first.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import orjson

from trendlab.config import Settings
from trendlab.errors import ConfigError
from trendlab.core.models import TrendAlert, format_time, parse_time

log = logging.getLogger(__name__)

BACKLOG = 50_000
MAX_RELATED = 10
#: alerted keywords kept per trend (a trend's alerts may name any number of keywords)
MAX_TREND_KEYWORDS = 50
#: trends on the board at most (``TRENDLAB_BOARD_MAX_TRENDS``)
DEFAULT_MAX_TRENDS = 1000
EXPIRE_WINDOWS = 3
#: languages kept per trend (the largest shares)
MAX_LANGUAGES = 16
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
    name: str | None = None  # what the trend is about (its alerts' topic: a phrase when it has one)
    display_name: str | None = None
    #: posts per language over the trend's alerts (each alert's shares times its count)
    language_posts: dict[str, float] = field(default_factory=dict)
    language_total: float = 0.0
    #: ``"topic"``, or ``"link"`` for a trending link (its own board: ``/trends?kind=link``)
    kind: str = "topic"


@dataclass
class Latest:
    window_end: datetime
    count: int
    unique_authors: int


class TrendBoard:
    """The current trends, at most ``max_trends`` of them; thread-safe (the follower writes, request
    handlers read). ``on_evict(n)`` is told of every trend evicted to keep the bound."""

    def __init__(self, on_alert=None, *, max_trends: int = DEFAULT_MAX_TRENDS, on_evict=None) -> None:
        if not isinstance(max_trends, int) or isinstance(max_trends, bool) or max_trends <= 0:
            raise ConfigError(f"TRENDLAB_BOARD_MAX_TRENDS must be a positive integer, got {max_trends!r}")
        self.max_trends = max_trends
        self._lock = threading.Lock()
        # least recently updated first: the next to evict
        self._trends: OrderedDict[str, Trend] = OrderedDict()
        self._by_keyword: dict[str, str] = {}
        self._latest: dict[str, Latest] = {}
        self.clock: datetime | None = None
        self._swept_at: datetime | None = None
        self._version = 0  # moves with every change that can change what current() shows
        self._cached: tuple[int, int | None, list[dict[str, Any]]] | None = None  # (version, limit, rows)
        self.alerts_seen = 0
        self.counts_seen = 0
        self.malformed = 0
        self.evicted = 0
        self._on_alert = on_alert
        self._on_evict = on_evict

    def __len__(self) -> int:
        return len(self._trends)

    @property
    def version(self) -> int:
        """Moves with every change that can change what :meth:`current` shows."""
        return self._version

    def _advance(self, when: datetime) -> None:
        if self.clock is None or when > self.clock:
            self.clock = when

    def _drop(self, key: str) -> None:
        """Remove one trend and what only it keeps (the lock is held)."""
        trend = self._trends.pop(key)
        for word in trend.keywords:
            if self._by_keyword.get(word) == key:
                del self._by_keyword[word]
                self._latest.pop(word, None)

    def add_alert(self, alert: TrendAlert, seen_at: float | None = None) -> None:
        key = alert.trend or alert.keyword
        evicted = 0
        with self._lock:
            trend = self._trends.get(key)
            if trend is None:
                while len(self._trends) >= self.max_trends:
                    self._drop(next(iter(self._trends)))  # the least recently updated
                    evicted += 1
                trend = self._trends[key] = Trend(topic=key, started_at=alert.window_start,
                                                  window=alert.window_end - alert.window_start, kind=alert.kind)
                self._swept_at = None  # it may be expired already (an old alert): the next sweep says
            else:
                self._trends.move_to_end(key)
            if alert.keyword in trend.keywords or len(trend.keywords) < MAX_TREND_KEYWORDS:
                trend.keywords[alert.keyword] = None
                self._by_keyword[alert.keyword] = key
                latest = self._latest.get(alert.keyword)
                if latest is None or alert.window_end >= latest.window_end:
                    self._latest[alert.keyword] = Latest(alert.window_end, alert.count, alert.unique_authors)
            for word in alert.related_keywords:
                if len(trend.related) >= MAX_TREND_KEYWORDS + MAX_RELATED:
                    break
                trend.related[word] = None
            if trend.last_alert_end is None or alert.window_end > trend.last_alert_end:
                trend.last_alert_end = alert.window_end
            trend.score = max(trend.score, alert.score)
            trend.language = trend.language or alert.language
            _add_languages(trend, alert)
            if alert.topic and (trend.name is None or " " in alert.topic or " " not in trend.name):
                trend.name, trend.display_name = alert.topic, alert.display_name or alert.topic
            trend.alerts += 1
            self._advance(alert.window_end)
            self._version += 1
            self.alerts_seen += 1
            self.evicted += evicted
        if evicted and self._on_evict is not None:
            self._on_evict(evicted)
        if self._on_alert is not None:
            self._on_alert(alert, time.time() if seen_at is None else seen_at)

    def add_count(self, record: dict[str, Any]) -> None:
        """One window count (``WindowedKeywordCount`` JSON); only trending keywords are kept."""
        end = parse_time(record["window_end"], "window_end")
        keyword = record["keyword"]
        with self._lock:
            self.counts_seen += 1
            if self.clock is None or end > self.clock:
                self._advance(end)
                self._version += 1
            key = self._by_keyword.get(keyword)
            if key is not None:
                self._version += 1
                latest = self._latest.get(keyword)
                if latest is None or end >= latest.window_end:
                    self._latest[keyword] = Latest(end, int(record["count"]), int(record["unique_authors"]))
                self._trends.move_to_end(key)

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

    def _expire(self) -> None:
        """Drop trends whose keywords were last counted more than :data:`EXPIRE_WINDOWS` window lengths
        before the stream's clock; only when the clock has moved since the last sweep (the lock is held)."""
        clock = self.clock
        if clock is None or clock == self._swept_at:
            return
        self._swept_at = clock
        for key in [k for k, t in self._trends.items() if clock - self._last_seen(t) > EXPIRE_WINDOWS * t.window]:
            self._drop(key)

    def _last_seen(self, trend: Trend) -> datetime:
        return max((self._latest[k].window_end for k in trend.keywords if k in self._latest),
                   default=trend.last_alert_end)

    def current(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The trends on the board now, hot first, then by latest count; expired ones are dropped. The rows
        are computed once per change of the board and shared by the requests that follow it."""
        with self._lock:
            cached = self._cached
            if cached is not None and cached[0] == self._version and (cached[1] is None or (
                    limit is not None and limit <= cached[1])):
                return cached[2][:limit]
            version = self._version
            self._expire()
            clock = self.clock
            ranked = []
            for trend in self._trends.values():
                latest = [self._latest[k] for k in trend.keywords if k in self._latest]
                last_seen = max((x.window_end for x in latest), default=trend.last_alert_end)
                count = max((x.count for x in latest if x.window_end == last_seen), default=0)
                hot = clock is not None and trend.last_alert_end is not None and \
                    clock - trend.last_alert_end < trend.window
                ranked.append((not hot, -count, trend.topic, trend, last_seen))
            top = sorted(ranked) if limit is None else heapq.nsmallest(limit, ranked, key=lambda r: r[:3])
            rows = []
            for cold, neg_count, _, trend, last_seen in top:
                newest = [self._latest[k] for k in trend.keywords
                          if k in self._latest and self._latest[k].window_end == last_seen]
                related = [w for w in trend.related if w not in trend.keywords][:MAX_RELATED]
                rows.append({
                    "topic": trend.name or trend.topic,
                    "display_name": trend.display_name or trend.name or trend.topic,
                    "trend": trend.topic,
                    "kind": trend.kind,
                    "keywords": list(trend.keywords),
                    "related_keywords": related,
                    "count": -neg_count,
                    "unique_authors": max((x.unique_authors for x in newest), default=0),
                    "started_at": format_time(trend.started_at),
                    "last_window_end": format_time(last_seen) if last_seen else None,
                    "status": "cooling" if cold else "hot",
                    "score": round(trend.score, 3),
                    "alerts": trend.alerts,
                    "language": _main_language(trend),
                    "languages": _shares(trend),
                })
            self._cached = (version, limit, rows)
        return rows

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {"stream_time": format_time(self.clock) if self.clock else None, "alerts_seen": self.alerts_seen,
                    "counts_seen": self.counts_seen, "malformed": self.malformed, "trends_kept": len(self._trends),
                    "max_trends": self.max_trends, "evicted": self.evicted}


def _add_languages(trend: Trend, alert: TrendAlert) -> None:
    """Add an alert's language shares (else its one language) to its trend, weighted by its posts."""
    shares = alert.languages if alert.languages is not None else ({alert.language: 1.0} if alert.language else {})
    if not shares:
        return
    weight = max(alert.count, 1)
    trend.language_total += weight
    posts = trend.language_posts
    for lang, share in shares.items():
        key = lang.strip().lower().split("-", 1)[0][:16]
        if key:
            posts[key] = posts.get(key, 0.0) + share * weight
    if len(posts) > MAX_LANGUAGES:
        for lang in sorted(posts, key=posts.__getitem__)[: len(posts) - MAX_LANGUAGES]:
            del posts[lang]


def _shares(trend: Trend) -> dict[str, float]:
    if not trend.language_total:
        return {}
    ranked = sorted(trend.language_posts.items(), key=lambda kv: (-kv[1], kv[0]))
    return {lang: round(posts / trend.language_total, 3) for lang, posts in ranked}


def _main_language(trend: Trend) -> str | None:
    if not trend.language_posts:
        return None
    return min(trend.language_posts.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def trend_view(row: dict[str, Any]) -> dict[str, Any]:
    """One board row as ``app.bsky.unspecced.defs#trendView``: ``category`` is the trend's category
    (:mod:`trendlab.service.categories`), the language its own field (``language``, when known).
    ``actors`` (profile views) stays empty: the job counts authors, it does not keep their profiles."""
    view: dict[str, Any] = {
        "topic": row["topic"],
        "displayName": row["display_name"],
        "link": BLUESKY_SEARCH + quote(row["topic"], safe=""),
        "startedAt": row["started_at"],
        "postCount": row["count"],
        "actors": [],
    }
    if row["status"] == "hot":
        view["status"] = "hot"
    view["category"] = row.get("category") or "other"
    if row.get("language"):
        view["language"] = row["language"]
    return view


def get_trends(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """``app.bsky.unspecced.getTrends``'s output: ``{"trends": [app.bsky.unspecced.defs#trendView]}``."""
    return {"trends": [trend_view(row) for row in rows]}


def broker_silence(settings: Settings) -> str | None:
    """``None`` when Kafka answers an ``ApiVersions`` request, else why not. kafka-python leaks a selector
    and a socket pair when its constructor fails: a follower asks this first."""
    import asyncio

    from trendlab.service.probes import PROBE_TIMEOUT_S, kafka_api_versions

    try:
        asyncio.run(asyncio.wait_for(kafka_api_versions(settings.kafka_bootstrap_servers), PROBE_TIMEOUT_S))
        return None
    except Exception as exc:  # noqa: BLE001 - down, refused, hung: try again later
        return f"Kafka at {settings.kafka_bootstrap_servers} does not answer ({type(exc).__name__})"


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
        silence = broker_silence(self.settings)
        if silence is not None:
            self.error = silence
        return silence is None

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
        from trendlab.kafka.clients import KafkaProfile, consumer

        return consumer(self.settings, KafkaProfile.TAIL)

    def _assign(self, consumer) -> bool:
        from trendlab.kafka.clients import topic_partition as TopicPartition

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
