"""One total parser for a message: bytes in; a post, a skip or a dead letter out; never an exception.

Every input path uses it: ``trendlab replay`` and ``trendlab produce`` (through the one post-file
reader, :mod:`trendlab.postfile`), the Flink job (its table function gets the raw Kafka bytes) and the
Jetstream client. So a message means the same thing everywhere::

    from trendlab.core.parse import MessageParser, Limits, DeadLetter, Skip

    parse = MessageParser(Limits.from_settings(settings))  # or MessageParser() for the defaults
    outcome = parse(raw_bytes)                     # bytes, bytearray, memoryview or str
    if isinstance(outcome, DeadLetter):
        dlq.send(outcome.to_json())                # {"error": reason, "message": bounded excerpt, ...}
    elif isinstance(outcome, Skip):
        pass                                       # a like, a delete, an identity event …: outcome.what
    else:
        post = outcome                             # trendlab.core.models.PostData, event time checked

``parse(data)`` returns exactly one of

* :class:`~trendlab.core.models.PostData` — a post creation (Jetstream event or flat ``PostData`` JSON);
* :class:`Skip` — a valid event that is not a post creation (``what`` says which);
* :class:`DeadLetter` — anything else: ``reason`` says in words what is wrong (naming the field and
  value), ``excerpt`` keeps at most :data:`EXCERPT_CHARS` characters of the message (never the whole
  of a huge one), ``size`` its length in bytes.

and never raises, whatever the input (any bytes, any JSON, any size, any nesting).

**Event-time policy** (docs/event-time.md): the event time is the Jetstream ``time_us``
(the server's clock) when present — then ``createdAt`` (whatever a client wrote) is not used at all,
and a missing or unreadable one does not cost the post; ``createdAt`` is the event time only without
``time_us``. An event time before ``Limits.min_event_time_us`` (by default :data:`BLUESKY_START`:
before Bluesky existed; ``TRENDLAB_MIN_EVENT_TIME`` or a command's ``--min-event-time`` moves it back
for older archives, see :func:`min_event_time_us`) or more than ``Limits.max_future_s`` seconds ahead
of *now* is a dead letter. *Now* is the wall clock at each call,
or fixed with ``MessageParser(now_us=…)`` (a whole file is read against one *now*). So no accepted post
can make an engine allocate by a wild timestamp, and no accepted post has a timestamp Kafka's broker
refuses (it refuses records more than an hour ahead by default; keep ``max_future_s`` below that).

**Caps** (:class:`Limits`, from ``TRENDLAB_MAX_MESSAGE_BYTES``, ``TRENDLAB_MAX_KEYWORDS``,
``TRENDLAB_MAX_FUTURE_S``, ``TRENDLAB_MIN_EVENT_TIME``): a message larger than ``max_message_bytes`` is a dead letter before any
decoding; a post with more than ``max_keywords`` words (single keywords: words and hashtags) is a
dead letter where keywords are extracted (:meth:`MessageParser.keyword_cap`, used by replay and the
Flink job). Phrases (word pairs, see :mod:`trendlab.core.extract`) are not counted toward that cap, so they
never make a post a dead letter; a post keeps at most ``max_keywords`` of them, the first in order of
appearance (:func:`cap_phrases`; the extractor lists them after the words), so a hostile text cannot
make a few hundred words into tens of thousands of pairs. The defaults are far above any real post (a
Bluesky post is at most 300 graphemes, so at most ~150 words and as many pairs; its Jetstream event a
few KB).

Speed matters (replay parses ~10^5 lines/s per core): the happy path is ``orjson.loads`` plus a few
checks; the work of describing a failure is only done for dead letters.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Union

import orjson

from trendlab.config import BLUESKY_START, BLUESKY_START_US, min_event_time_us  # re-exported: the event-time bound is a setting
from trendlab.core.links import post_links
from trendlab.core.models import MalformedPost, PostData, format_time, parse_post

__all__ = [
    "cap_phrases",
    "word_count",
    "BLUESKY_START",
    "BLUESKY_START_US",
    "EXCERPT_CHARS",
    "DeadLetter",
    "Limits",
    "MIN_EVENT_TIME_FLAG",
    "MessageParser",
    "NON_POST",
    "Outcome",
    "Skip",
    "excerpt",
    "min_event_time_flag",
    "min_event_time_us",
    "parse_message",
]

#: Nothing on Bluesky is older: the network's first posts are from November 2022.
#: A dead letter keeps this many characters of its message at most.
EXCERPT_CHARS = 300
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Limits:
    """What the parser accepts. Defaults are far above any real post; :meth:`from_settings` takes the settings' (the environment's: :func:`trendlab.env_defaults.parser_limits`)."""

    #: larger messages are dead letters, refused before decoding (TRENDLAB_MAX_MESSAGE_BYTES)
    max_message_bytes: int = 262_144
    #: posts with more words are dead letters; a post keeps this many phrases at most (TRENDLAB_MAX_KEYWORDS)
    max_keywords: int = 300
    #: event times further ahead of now are dead letters (TRENDLAB_MAX_FUTURE_S)
    max_future_s: int = 600
    #: earlier event times (µs since 1970) are dead letters (TRENDLAB_MIN_EVENT_TIME, ``--min-event-time``)
    min_event_time_us: int = BLUESKY_START_US

    def __post_init__(self) -> None:
        from trendlab.errors import ConfigError

        for name, env in (("max_message_bytes", "TRENDLAB_MAX_MESSAGE_BYTES"),
                          ("max_keywords", "TRENDLAB_MAX_KEYWORDS"), ("max_future_s", "TRENDLAB_MAX_FUTURE_S")):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"{env} must be a positive integer, got {value!r}")
        value = self.min_event_time_us
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= time.time_ns() // 1000:
            raise ConfigError(f"min_event_time_us must be µs since 1970 and not after now, got {value!r}")

    @classmethod
    def from_settings(cls, settings) -> Limits:
        return cls(settings.max_message_bytes, settings.max_keywords, settings.max_future_s,
                   min_event_time_us(settings.min_event_time))



#: The flag every command that parses a post file or stream takes (replay, tune, produce, deploy).
MIN_EVENT_TIME_FLAG = "--min-event-time"


def min_event_time_flag(value: str | None) -> str | None:
    """The ``--min-event-time`` value, checked (a bad one is refused naming the flag), for
    the settings (``min_event_time=…``); ``None`` when the flag was not given."""
    if value is not None:
        min_event_time_us(value, MIN_EVENT_TIME_FLAG)
    return value


@dataclass(frozen=True, slots=True)
class Skip:
    """A valid event that is not a post creation (a like, a follow, a delete, an identity event…)."""

    what: str


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that is not a usable post: ``reason`` in words, a bounded ``excerpt``, ``size`` in bytes."""

    reason: str
    excerpt: str
    size: int

    def to_dict(self, **extra: Any) -> dict[str, Any]:
        """The dead-letter record: ``{"message": excerpt, "error": reason, "size": bytes, **extra}``
        (the shape the job's dead-letter topic and ``dead_letters.jsonl`` use)."""
        return {"message": self.excerpt, "error": self.reason, "size": self.size, **extra}

    def to_json(self, **extra: Any) -> bytes:
        return orjson.dumps(self.to_dict(**extra))


Outcome = Union[PostData, Skip, DeadLetter]

#: The one :class:`Skip` the parser returns (telling a like from a follow would cost a second parse).
NON_POST = Skip("non-post event")


def excerpt(data: bytes | bytearray | memoryview | str, limit: int = EXCERPT_CHARS) -> str:
    """At most ``limit`` characters of a message, undecodable bytes shown as U+FFFD, ``…`` when cut."""
    if isinstance(data, str):
        head = data[: limit + 1]
    else:
        head = bytes(data[: 4 * limit + 4]).decode("utf-8", "replace")[: limit + 1]
    return head if len(head) <= limit else head[: limit - 1] + "…"


def _utf8_problem(data: bytes) -> str | None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"
    return None


def _when(us: int) -> str:
    try:
        return format_time(datetime.fromtimestamp(us / 1_000_000, tz=timezone.utc))
    except (OverflowError, ValueError, OSError):
        return f"{us} µs since 1970"


class MessageParser:
    """The total parser (see the module docstring). Calling it never raises.

    ``now_us`` fixes *now* for the event-time bound (a file is read against one *now*, so a re-read
    gives the same result); ``None`` reads the clock at each call (live streams, the Flink job).
    """

    __slots__ = ("limits", "_fixed_latest", "_ahead_us", "_max_bytes", "_earliest")

    def __init__(self, limits: Limits | None = None, now_us: int | None = None) -> None:
        self.limits = limits or Limits()
        self._max_bytes = self.limits.max_message_bytes
        self._earliest = self.limits.min_event_time_us
        self._ahead_us = self.limits.max_future_s * 1_000_000
        self._fixed_latest = None if now_us is None else now_us + self._ahead_us

    def latest_us(self) -> int:
        """The newest event time accepted now (*now* + ``max_future_s``)."""
        if self._fixed_latest is not None:
            return self._fixed_latest
        return time.time_ns() // 1000 + self._ahead_us

    def __call__(self, data: bytes | bytearray | memoryview | str | None) -> Outcome:
        try:
            if data.__class__ is bytes and len(data) <= self._max_bytes and not data.startswith(_BOM):
                return self._decoded(data)  # the common case: a line or a Kafka value of normal size
            return self._parse(data)
        except Exception as exc:  # noqa: BLE001 — total by contract; a bug here must not stop a stream
            return DeadLetter(f"could not be read ({type(exc).__name__}: {str(exc)[:200]})",
                              _safe_excerpt(data), _safe_size(data))

    def _malformed(self, exc: MalformedPost, raw: bytes) -> DeadLetter:
        if exc.field == "line" and isinstance(exc.value, str):  # not JSON (or not UTF-8)
            return self._not_json(raw)
        return DeadLetter(str(exc), excerpt(raw), len(raw))

    def _in_time(self, post: PostData, raw: bytes) -> Outcome:
        event_us = post.time_us
        if event_us is not None:
            latest = self._fixed_latest
            if self._earliest <= event_us and (event_us <= latest if latest is not None else
                                                 event_us <= self.latest_us()):
                return post
            source = "time_us"
        else:
            event_us = post.event_time_us
            source = "createdAt"
        if event_us < self._earliest:
            if self._earliest == BLUESKY_START_US:
                why = (f"is before Bluesky existed ({format_time(BLUESKY_START)}; older data: "
                       "TRENDLAB_MIN_EVENT_TIME or --min-event-time)")
            else:
                why = f"is before the earliest accepted event time ({_when(self._earliest)}; TRENDLAB_MIN_EVENT_TIME)"
            return DeadLetter(f"event time {_when(event_us)} ({source}) {why}", excerpt(raw), len(raw))
        latest = self.latest_us()
        if event_us > latest:
            return DeadLetter(f"event time {_when(event_us)} ({source}) is more than {self.limits.max_future_s} s "
                              f"ahead of now (latest accepted {_when(latest)}; TRENDLAB_MAX_FUTURE_S)",
                              excerpt(raw), len(raw))
        return post

    def _parse(self, data) -> Outcome:
        if data is None:
            return DeadLetter("message is empty (null)", "", 0)
        if isinstance(data, str):
            size = len(data)  # characters; the byte size is at least this
            if size > self.limits.max_message_bytes or len(data.encode("utf-8", "surrogatepass")) > \
                    self.limits.max_message_bytes:
                return self._too_large(data, len(data.encode("utf-8", "surrogatepass")))
            try:
                raw: bytes = data.encode("utf-8")
            except UnicodeEncodeError as exc:
                return DeadLetter(f"message is not valid text (lone surrogate at character {exc.start})",
                                  excerpt(data.encode("utf-8", "replace")), size)
        else:
            raw = data if isinstance(data, bytes) else bytes(data)
            if len(raw) > self.limits.max_message_bytes:
                return self._too_large(raw, len(raw))
        if raw.startswith(_BOM):
            raw = raw[3:]
        return self._decoded(raw)

    def _decoded(self, raw: bytes) -> Outcome:
        """Bytes of an accepted size, without a BOM: a post within the event-time bounds, a skip or a
        dead letter."""
        try:
            post = parse_post(raw)
        except MalformedPost as exc:
            return self._malformed(exc, raw)
        if post is None:
            return NON_POST
        return self._in_time(post, raw)

    def _too_large(self, data, size: int) -> DeadLetter:
        return DeadLetter(f"message is {size:,} bytes, more than the {self.limits.max_message_bytes:,}-byte "
                          "limit (TRENDLAB_MAX_MESSAGE_BYTES)", excerpt(data), size)

    def _not_json(self, raw: bytes) -> DeadLetter:
        problem = _utf8_problem(raw)
        if problem is None:
            try:
                orjson.loads(raw)
                problem = "is not a JSON object"
            except orjson.JSONDecodeError as exc:
                problem = f"is not valid JSON ({exc.msg} at character {exc.pos})"
        if not raw.strip():
            problem = "is empty"
        return DeadLetter("message " + problem, excerpt(raw), len(raw))

    def keyword_cap(self, post: PostData, keywords: list[str]) -> DeadLetter | None:
        """A dead letter when ``post`` has more words (keywords that are not phrases) than
        ``Limits.max_keywords``, else ``None``."""
        if len(keywords) <= self.limits.max_keywords:
            return None
        words = word_count(keywords)
        if words <= self.limits.max_keywords:
            return None
        return DeadLetter(f"post has {words:,} keywords, more than the limit of "
                          f"{self.limits.max_keywords:,} (TRENDLAB_MAX_KEYWORDS)",
                          excerpt(post.text), len(post.text.encode("utf-8", "replace")))

    def post_keywords(self, data, extractor, size: int | None = None
                      ) -> DeadLetter | tuple[PostData, list[str]] | None:
        """One message all the way to keywords, as every reader takes it: a dead letter (malformed, or
        more keywords than ``max_keywords``), ``None`` for a non-post event, else the post and
        ``extractor``'s keywords for its language. ``size``: the real size of a line too long to load,
        when ``data`` is only its head (a dead letter then)."""
        outcome = self.oversized(size, data) if size is not None and size > self._max_bytes else self(data)
        if outcome.__class__ is DeadLetter:
            return outcome  # type: ignore[return-value]
        if outcome.__class__ is not PostData:
            return None
        post: PostData = outcome  # type: ignore[assignment]
        keywords = extractor.extract(post.text, post.langs or None)
        over = self.keyword_cap(post, keywords)
        if over is not None:
            return over
        keywords = cap_phrases(keywords, self.limits.max_keywords)
        if post.links or "://" in post.text:
            keywords = keywords + post_links(post.links, post.text)  # last; never counted toward the cap
        return post, keywords

    def oversized(self, size: int, head: bytes) -> DeadLetter:
        """The dead letter of a line a reader did not load whole (``head``: its first bytes)."""
        return self._too_large(head, size)


def word_count(keywords: list[str]) -> int:
    """How many of ``keywords`` are words or hashtags (not phrases: those hold a space)."""
    return sum(1 for k in keywords if " " not in k)


def cap_phrases(keywords: list[str], cap: int) -> list[str]:
    """``keywords`` with its phrases after the first ``cap`` dropped (its words all kept)."""
    if len(keywords) <= cap:
        return keywords  # the common case: nothing to drop
    out, phrases = [], 0
    for k in keywords:
        if " " in k:
            if phrases >= cap:
                continue
            phrases += 1
        out.append(k)
    return out


def _safe_excerpt(data) -> str:
    try:
        return excerpt(data if data is not None else "")
    except Exception:  # noqa: BLE001
        return ""


def _safe_size(data) -> int:
    try:
        return len(data) if data is not None else 0
    except Exception:  # noqa: BLE001
        return 0


def parse_message(data: bytes | bytearray | memoryview | str | None, limits: Limits | None = None,
                  now_us: int | None = None) -> Outcome:
    """One message → :class:`~trendlab.core.models.PostData`, :class:`Skip` or :class:`DeadLetter`; never raises."""
    return MessageParser(limits, now_us)(data)
