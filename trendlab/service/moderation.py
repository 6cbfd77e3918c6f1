"""What the service publishes: the deny list, the approval mode and the per-language boards.

**State.** The deny list and moderators' decisions are records of one compacted Kafka topic
(``TRENDLAB_TOPIC_MODERATION``, :data:`MODERATION_TOPIC_CONFIG`, one partition: one order for every
replica), as the Jetstream cursor is kept. Every replica tails it from the beginning
(:class:`KafkaModerationLog`) into a :class:`ModerationState`; a change made through one replica's API
is written there (``acks=all``) and reaches the others within one poll. Keys and values (JSON):

* ``deny/<kind>:<value>`` → ``{"type": "deny", "entry", "active", "by", "at"}`` — removing an entry writes
  ``"active": false`` (not a tombstone), so the file does not bring it back at the next start;
* ``decision/<trend id>`` → ``{"type": "decision", "id", "decision": "approved"|"rejected", "topic",
  "display_name", "keywords", "started_at", "last_window_end", "by", "at", "reason", "history"}`` — the
  latest decision on a trend, with the earlier ones in ``history`` (compaction keeps the latest record).

``TRENDLAB_DENY_LIST`` (a file, one entry a line: ``word``, ``a phrase`` or ``/pattern/``; lines starting
with ``# `` and blank lines are skipped) **seeds** the topic: once a replica has read the topic to its
end, it writes the file's entries that the topic has never held. Until then they apply locally (the
deny list fails closed).

**A trend's identity** (:func:`trend_id`) is a hash of its opening keyword (``trend`` on ``/trends``):
stable while it is on the board, whatever phrases join it. A rejected trend is also recognised by its
topic: a later trend with the topic of a rejected one is rejected too.

**What is served** (:class:`Publisher`): a trend a deny entry matches (topic, display name, keywords,
related keywords; :mod:`trendlab.service.muting`) is ``denied``; one a moderator rejected is
``rejected``; with ``TRENDLAB_MODERATION=approval`` a trend is ``pending`` until approved. Readers see
``approved`` trends, and with ``open`` moderation also the ``published`` ones (no decision yet).
Moderators see every trend with its status on ``/moderation/trends``.

**Languages.** ``?lang=ja,en`` (or, without it, ``Accept-Language``, as Bluesky's AppView passes it)
keeps the trends with at least :data:`LANG_MIN_SHARE` of their posts in one of those languages, and
those whose language is unknown (an engine that does not report it). ``lang=all`` (or ``*``) is every
language.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from trendlab.config import Settings
from trendlab.errors import ConfigError
from trendlab.core.models import format_time
from trendlab.service.categories import Categorizer
from trendlab.service.muting import Entry, Matcher, normalise, parse_entry

log = logging.getLogger("trendlab.moderation")

MODERATION_TOPIC_CONFIG = {"cleanup.policy": "compact", "retention.ms": "-1", "min.compaction.lag.ms": "60000"}
#: a trend is on a language's board when at least this share of its posts are in that language
LANG_MIN_SHARE = 0.2
MAX_HISTORY = 20
MAX_DENY_ENTRIES = 10_000
PUBLIC = frozenset({"approved", "published"})
STATUSES = ("pending", "approved", "published", "rejected", "denied")


def trend_id(trend_key: str) -> str:
    return hashlib.sha256(normalise(trend_key).encode()).hexdigest()[:16]


def _now() -> str:
    return format_time(datetime.now(timezone.utc))


def read_deny_file(path: str | Path) -> list[Entry]:
    """The entries of a deny-list file; :class:`ConfigError` naming the file and line of a bad one."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"TRENDLAB_DENY_LIST: cannot read {path}: {exc.strerror or exc}") from None
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped == "#" or stripped.startswith("# "):
            continue
        entries.append(parse_entry(stripped, f"TRENDLAB_DENY_LIST {path}:{number}"))
    if len(entries) > MAX_DENY_ENTRIES:
        raise ConfigError(f"TRENDLAB_DENY_LIST: {path} has {len(entries)} entries, at most {MAX_DENY_ENTRIES}")
    return entries


class ModerationState:
    """The deny list and decisions, as the topic says (thread-safe; :attr:`version` moves with every change)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.version = 0
        self.deny_version = 0  # moves with the deny list only (a decision does not re-match the board)
        self.deny: dict[str, dict[str, Any]] = {}  # deny/<key> -> record
        self.decisions: dict[str, dict[str, Any]] = {}  # trend id -> record
        self.rejected_topics: dict[str, str] = {}  # normalised topic -> trend id
        self.from_log: set[str] = set()  # record keys the topic has held
        self._matcher: Matcher | None = None
        self.applied = 0

    def apply(self, key: str, value: Mapping[str, Any] | None, *, from_log: bool = False) -> None:
        with self._lock:
            if from_log:
                self.from_log.add(key)
            self.applied += 1
            if key.startswith("deny/"):
                if value is None:
                    self.deny.pop(key, None)
                else:
                    self.deny[key] = dict(value)
                self._matcher = None
                self.deny_version += 1
            elif key.startswith("decision/"):
                tid = key.split("/", 1)[1]
                old = self.decisions.get(tid)
                if old and old.get("topic"):
                    self.rejected_topics.pop(normalise(old["topic"]), None)
                if value is None:
                    self.decisions.pop(tid, None)
                else:
                    self.decisions[tid] = dict(value)
                    if value.get("decision") == "rejected" and value.get("topic"):
                        self.rejected_topics[normalise(value["topic"])] = tid
            else:
                return
            self.version += 1

    def apply_raw(self, key: bytes | None, value: bytes | None) -> bool:
        """A record of the topic; a malformed one is skipped (False)."""
        try:
            name = (key or b"").decode()
            data = None if value is None else orjson.loads(value)
            if data is not None and not isinstance(data, dict):
                return False
        except (UnicodeDecodeError, orjson.JSONDecodeError):
            return False
        self.apply(name, data, from_log=True)
        return True

    def matcher(self) -> Matcher:
        with self._lock:
            if self._matcher is None:
                entries = []
                for record in self.deny.values():
                    if record.get("active"):
                        try:
                            entries.append(parse_entry(record["entry"]))
                        except (ConfigError, KeyError, TypeError):
                            continue  # refused when written; a hand-made record cannot break the board
                self._matcher = Matcher(entries)
            return self._matcher

    def deny_entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return sorted((r for r in self.deny.values()), key=lambda r: str(r.get("entry", "")))

    def decision_list(self) -> list[dict[str, Any]]:
        with self._lock:
            return sorted(self.decisions.values(), key=lambda r: str(r.get("at", "")), reverse=True)

    def denied_by(self, row: Mapping[str, Any]) -> str | None:
        """The deny entry a row matches (topic, display name, keywords, related keywords), if any."""
        texts = [row.get("topic") or "", row.get("display_name") or "", *row.get("keywords", ()),
                 *row.get("related_keywords", ())]
        hit = self.matcher().first_match(texts)
        return None if hit is None else hit.text

    def status_of(self, row: Mapping[str, Any], tid: str, approval: bool, denied_by: str | None) -> str:
        if denied_by is not None:
            return "denied"
        decision = self.decisions.get(tid)
        if decision is not None:
            return str(decision.get("decision"))
        if normalise(row.get("topic") or "") in self.rejected_topics:
            return "rejected"
        return "pending" if approval else "published"


class MemoryModerationLog:
    """The state without Kafka: for a service that does not follow Kafka (tests, ``follow_trends=False``)."""

    def __init__(self, state: ModerationState, seeds: Iterable[Entry] = ()) -> None:
        self.state = state
        self.error: str | None = None
        self.ready = True
        for entry in seeds:
            state.apply(f"deny/{entry.key}", _deny_record(entry, True, "deny-list file"))

    def write(self, key: str, value: dict[str, Any]) -> None:
        self.state.apply(key, value)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


def _deny_record(entry: Entry, active: bool, by: str) -> dict[str, Any]:
    return {"type": "deny", "entry": entry.text, "kind": entry.kind, "active": active, "by": by, "at": _now()}


class KafkaModerationLog:
    """The state kept in the compacted moderation topic: a daemon thread tails it from the beginning
    (reconnecting when Kafka goes away); :meth:`write` produces a record and applies it at once."""

    def __init__(self, settings: Settings, state: ModerationState, seeds: Iterable[Entry] = (),
                 poll_s: float = 0.2) -> None:
        self.settings = settings
        self.topic = settings.kafka_topic_moderation
        self.state = state
        self.seeds = list(seeds)
        self.poll_s = poll_s
        self.error: str | None = None
        self.ready = False  # read the topic to its end once
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._producer = None
        self._producer_lock = threading.Lock()
        for entry in self.seeds:  # fail closed until the topic is read
            state.apply(f"deny/{entry.key}", _deny_record(entry, True, "deny-list file"))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="trendlab-moderation", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._producer_lock:
            if self._producer is not None:
                self._producer.close(timeout=5)
                self._producer = None

    def write(self, key: str, value: dict[str, Any]) -> None:
        from kafka.errors import KafkaError

        from trendlab.errors import ServiceUnavailable
        from trendlab.kafka import ensure_topics, producer

        try:
            with self._producer_lock:
                if self._producer is None:
                    ensure_topics(self.settings, [self.topic], partitions=1, config=MODERATION_TOPIC_CONFIG)
                    self._producer = producer(self.settings, linger_ms=0, max_block_ms=10_000,
                                              request_timeout_ms=10_000)
                future = self._producer.send(self.topic, key=key.encode(), value=orjson.dumps(value))
            future.get(timeout=15)
        except KafkaError as exc:
            raise ServiceUnavailable(f"the moderation topic {self.topic} at {self.settings.kafka_bootstrap_servers} "
                                     f"did not take the change ({type(exc).__name__})") from None
        self.state.apply(key, value)

    def _run(self) -> None:
        from trendlab.service.trends import broker_silence

        while not self._stop.is_set():
            silence = broker_silence(self.settings)  # no leaked sockets while Kafka is down
            if silence is not None:
                self.error = silence
                self._stop.wait(2.0)
                continue
            consumer = None
            try:
                from trendlab.kafka import ensure_topics

                ensure_topics(self.settings, [self.topic], partitions=1, config=MODERATION_TOPIC_CONFIG)
                consumer = self._consumer()
                self._follow(consumer)
            except Exception as exc:  # noqa: BLE001 - Kafka went away: say so, wait, reconnect
                self.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
                log.warning("moderation follower: %s", self.error)
                self._stop.wait(2.0)
            finally:
                if consumer is not None:
                    consumer.close()

    def _consumer(self):
        from trendlab.kafka.clients import KafkaProfile, consumer

        return consumer(self.settings, KafkaProfile.MODERATION)

    def _follow(self, consumer) -> None:
        from trendlab.kafka.clients import topic_partition

        tp = topic_partition(self.topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        end = consumer.end_offsets([tp])[tp]
        self.error = None
        while not self._stop.is_set():
            batches = consumer.poll(timeout_ms=int(self.poll_s * 1000), max_records=5000)
            for message in batches.get(tp, ()):
                self.state.apply_raw(message.key, message.value)
            if not self.ready and consumer.position(tp) >= end:
                self._seed()  # raises when Kafka refuses: read again from the beginning, seed again
                self.ready = True

    def _seed(self) -> None:
        """The file's entries the topic never held: written once, by whichever replica gets there first
        (two replicas writing the same entry write the same record)."""
        for entry in self.seeds:
            key = f"deny/{entry.key}"
            if key not in self.state.from_log:
                self.write(key, _deny_record(entry, True, "deny-list file"))


class Publisher:
    """The board as readers and moderators see it: every row with its ``id``, ``category`` and
    moderation ``status``; rows are decorated once per change of the board or of the moderation state."""

    def __init__(self, board, state: ModerationState, categorizer: Categorizer, approval: bool) -> None:
        self.board = board
        self.state = state
        self.categorizer = categorizer
        self.approval = approval
        self._lock = threading.Lock()
        self._rows: tuple[tuple[int, int], list[dict[str, Any]]] | None = None
        self._public: dict[tuple, list[dict[str, Any]]] = {}
        self._languages: tuple[list, dict[str, int]] | None = None
        #: (trend, alerts, topic) -> (id, category, deny version, denied_by): a row is matched again only
        #: when an alert changed it or the deny list changed
        self._decor: dict[tuple, tuple[str, str, int, str | None]] = {}

    def rows(self) -> list[dict[str, Any]]:
        with self._lock:
            versions = (self.board.version, self.state.version)
            if self._rows is not None and self._rows[0] == versions:
                return self._rows[1]
            out = []
            deny_version = self.state.deny_version
            current = self.board.current()
            for row in current:
                key = (row["trend"], row["alerts"], row["topic"])
                decor = self._decor.get(key)
                if decor is None:
                    decor = (trend_id(row["trend"]), self.categorizer.category(row), -1, None)
                if decor[2] != deny_version:
                    decor = (decor[0], decor[1], deny_version, self.state.denied_by(row))
                self._decor[key] = decor
                tid, category, _, denied_by = decor
                status = self.state.status_of(row, tid, self.approval, denied_by)
                out.append({**row, "id": tid, "category": category, "moderation": status,
                            **({"denied_by": denied_by} if denied_by else {})})
            if len(self._decor) > 4 * max(len(out), 250):
                keep = {(r["trend"], r["alerts"], r["topic"]) for r in current}
                self._decor = {k: v for k, v in self._decor.items() if k in keep}
            self._rows = (versions, out)
            self._public.clear()
            return out

    def public(self, langs: tuple[str, ...] | None) -> list[dict[str, Any]]:
        rows = self.rows()
        with self._lock:
            cached = self._public.get(langs)
            if cached is not None and self._rows is not None and self._rows[1] is rows:
                return cached
            shown = [r for r in rows if r["moderation"] in PUBLIC and in_languages(r, langs)]
            if len(self._public) > 64:
                self._public.clear()
            self._public[langs] = shown
            return shown

    def languages(self) -> dict[str, int]:
        """Each language → how many public trends have it on their board (for the live page's selector);
        computed once per change, like the rows."""
        rows = self.public(None)
        cached = self._languages
        if cached is not None and cached[0] is rows:
            return cached[1]
        seen: dict[str, int] = {}
        for row in rows:
            for lang, share in row.get("languages", {}).items():
                if share >= LANG_MIN_SHARE:
                    seen[lang] = seen.get(lang, 0) + 1
        result = dict(sorted(seen.items(), key=lambda kv: (-kv[1], kv[0])))
        self._languages = (rows, result)
        return result

    def find(self, tid: str) -> dict[str, Any] | None:
        return next((r for r in self.rows() if r["id"] == tid), None)


def in_languages(row: Mapping[str, Any], langs: tuple[str, ...] | None) -> bool:
    if not langs:
        return True
    shares = row.get("languages") or {}
    if not shares:
        return True  # language unknown: on every board
    return any(shares.get(lang, 0.0) >= LANG_MIN_SHARE for lang in langs)


def wanted_languages(lang: str | None, accept_language: str | None) -> tuple[str, ...] | None:
    """``?lang=`` (comma-separated; ``all``/``*``: every language), else ``Accept-Language`` (its
    languages with a non-zero quality; ``*`` among them: every language); ``None``: no filter."""
    if lang is not None and lang.strip():
        items = [x.strip().lower() for x in lang.split(",") if x.strip()]
        if any(x in ("all", "*") for x in items):
            return None
        for x in items:
            if not (1 <= len(x) <= 35 and all(c.isalnum() or c == "-" for c in x)):
                raise ConfigError(f"lang must be language tags like ja or pt-BR, got {x[:40]!r}")
        return tuple(dict.fromkeys(x.split("-", 1)[0] for x in items))
    if not accept_language:
        return None
    langs = []
    for part in accept_language.split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        q = 1.0
        for p in params.split(";"):
            name, _, value = p.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q <= 0 or not tag:
            continue
        if tag == "*":
            return None
        if 1 <= len(tag) <= 35 and all(c.isalnum() or c == "-" for c in tag):
            langs.append(tag.split("-", 1)[0])
    return tuple(dict.fromkeys(langs)) or None


class Moderation:
    """Decisions and deny-list changes, written to the log (who and when in every record)."""

    def __init__(self, settings: Settings, state: ModerationState, log_, publisher: Publisher) -> None:
        self.settings = settings
        self.state = state
        self.log = log_
        self.publisher = publisher

    def decide(self, tid: str, decision: str, who: str, reason: str | None) -> dict[str, Any]:
        from trendlab.service.security import ServiceError

        row = self.publisher.find(tid)
        if row is None:
            raise ServiceError(404, f"no trend {tid!r} on the board (GET /moderation/trends lists them)")
        previous = self.state.decisions.get(tid)
        history = []
        if previous:
            history = [*previous.get("history", []), {k: previous.get(k) for k in ("decision", "by", "at", "reason")}]
        record = {"type": "decision", "id": tid, "decision": decision, "topic": row["topic"],
                  "display_name": row["display_name"], "trend": row["trend"],
                  "keywords": list(dict.fromkeys([*row["keywords"], *row["related_keywords"]]))[:60],
                  "started_at": row["started_at"], "last_window_end": row["last_window_end"],
                  "by": who, "at": _now(), "reason": reason, "history": history[-MAX_HISTORY:]}
        self.log.write(f"decision/{tid}", record)
        log.info("moderation: %s %s trend %s (%r) %s", who, decision, tid, row["topic"][:80], reason or "")
        return record

    def change_deny(self, add: list[str], remove: list[str], who: str) -> dict[str, Any]:
        added = [parse_entry(x, "add entry") for x in add]  # every entry checked before any is written
        removed = [parse_entry(x, "remove entry") for x in remove]
        if len(self.state.deny) + len(added) > MAX_DENY_ENTRIES:
            raise ConfigError(f"the deny list holds at most {MAX_DENY_ENTRIES} entries")
        for entry in added:
            self.log.write(f"deny/{entry.key}", _deny_record(entry, True, who))
        for entry in removed:
            self.log.write(f"deny/{entry.key}", _deny_record(entry, False, who))
        log.info("moderation: %s denied %d, allowed %d entries", who, len(added), len(removed))
        return {"added": [e.text for e in added], "removed": [e.text for e in removed],
                "entries": [r for r in self.state.deny_entries() if r.get("active")]}

    def decoys(self) -> dict[str, Any]:
        return decoy_labels(self.state)


def decoy_labels(state: ModerationState) -> dict[str, Any]:
    """Rejected trends' keywords as ``labels.json`` decoys (:mod:`trendlab.labels`): moderation feeds
    ``trendlab tune`` / ``evaluate`` (a rejected trend must not alert)."""
    from trendlab.labels import Labels, TrendLabel
    from trendlab.core.models import parse_time

    decoys = []
    for record in sorted(state.decisions.values(), key=lambda r: str(r.get("at"))):
        if record.get("decision") != "rejected" or not record.get("keywords"):
            continue
        try:
            start = parse_time(record["started_at"], "started_at")
            end = parse_time(record.get("last_window_end") or record["started_at"], "last_window_end")
        except (KeyError, TypeError, ValueError):
            continue
        decoys.append(TrendLabel(id=f"rejected-{record['id']}", kind="rejected", keywords=tuple(record["keywords"]),
                                 start=start, end=max(start, end)))
    return Labels(trends=[], decoys=decoys).to_dict()


def read_topic(settings: Settings, timeout_s: float = 30.0) -> ModerationState:
    """The moderation topic read once to its end (for the command line; the service follows it)."""
    from kafka.errors import KafkaError

    from trendlab.errors import ServiceUnavailable
    from trendlab.kafka.clients import KafkaProfile, consumer as kafka_consumer, topic_partition

    state = ModerationState()
    topic = settings.kafka_topic_moderation
    try:
        consumer = kafka_consumer(settings, KafkaProfile.MODERATION, client_id="trendlab-moderation-cli")
    except KafkaError as exc:
        raise ServiceUnavailable(f"Kafka at {settings.kafka_bootstrap_servers} does not answer "
                                 f"({type(exc).__name__})") from None
    try:
        if not consumer.partitions_for_topic(topic):
            raise ConfigError(f"no moderation topic {topic!r} at {settings.kafka_bootstrap_servers} "
                              "(TRENDLAB_TOPIC_MODERATION; a service writes it at its first start)")
        tp = topic_partition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        end = consumer.end_offsets([tp])[tp]
        deadline = time.monotonic() + timeout_s
        while consumer.position(tp) < end:
            if time.monotonic() > deadline:
                raise ServiceUnavailable(f"the moderation topic {topic} was not read to its end within {timeout_s:.0f} s")
            for message in consumer.poll(timeout_ms=500, max_records=5000).get(tp, ()):
                state.apply_raw(message.key, message.value)
    finally:
        consumer.close()
    return state


def who_decides(settings: Settings, headers: Mapping[str, str], body_name: str | None) -> str:
    """The moderator a decision is logged under: the body's ``moderator``, else the
    ``X-Trendlab-Moderator`` header, else the token's fingerprint (or ``loopback`` without a token)."""
    name = body_name or headers.get("x-trendlab-moderator")
    if name:
        name = "".join(ch for ch in name if ch.isprintable()).strip()[:64]
    fingerprint = ("token:" + hashlib.sha256(settings.api_token.encode()).hexdigest()[:8]) if settings.api_token \
        else "loopback"
    return f"{name} ({fingerprint})" if name else fingerprint


def build(settings: Settings, board, *, follow: bool) -> tuple[ModerationState, Any, Publisher, Moderation]:
    """The state, its log (Kafka when ``follow``), the publisher and the decisions, from the settings."""
    state = ModerationState()
    seeds = read_deny_file(settings.deny_list) if settings.deny_list else []
    log_ = KafkaModerationLog(settings, state, seeds) if follow else MemoryModerationLog(state, seeds)
    publisher = Publisher(board, state, Categorizer.from_file(settings.categories or None),
                          approval=settings.moderation == "approval")
    return state, log_, publisher, Moderation(settings, state, log_, publisher)


def wait_ready(log_, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not log_.ready and time.monotonic() < deadline:
        time.sleep(0.05)
    return log_.ready
