"""One Jetstream v1 ``/subscribe`` client for both ``record`` and ``ingest``.

The protocol (Jetstream's published v1 description):

* ``GET /subscribe`` upgraded to a WebSocket; the server pushes one event per message.
* ``wantedCollections`` (repeatable): commit events of these collections only; ``prefix.*`` matches a
  prefix (``app.bsky.feed.*``). Identity and account events are delivered whatever the filter.
* ``cursor``: a unix-microseconds time; the server replays from the first event whose ``time_us`` is
  at or after it, then goes on live. Without it the stream starts at the live tip.
* ``compress=true``: every event arrives as a *binary* message holding one zstd frame compressed with
  Jetstream's custom dictionary (``legacy_subscribe.zdict`` beside this file); otherwise text JSON.
* ``maxMessageSizeBytes``: the server leaves out events larger than this (0 = no limit).

What the client adds, so callers see a clean stream:

* **exactly once, in order, through reconnects**: after a dropped or stalled connection it reconnects
  with ``cursor`` = the last ``time_us`` it handed out minus ``rewind_s``, and drops what it already
  handed out (by the event's identity, which is the same on every Jetstream instance);
* **faults**: exponential backoff with jitter between attempts, rotation through the URLs (the public
  instances by default), a connection silent for ``stall_timeout`` s is replaced;
* **bad frames** (not zstd, not JSON, not an event of a known kind, larger than the message cap) are
  counted by reason, logged once per reason, passed to ``on_bad_frame`` and never stop the stream;
* **bounded memory for any frame**: a zstd frame is never decompressed beyond ``max_event_bytes`` (+1)
  bytes of output (``TRENDLAB_MAX_MESSAGE_BYTES``, Jetstream's own 256 KiB cap by default), whatever
  size its header claims (see :meth:`FrameDecoder.decompress`); a frame that expands beyond the cap (a
  decompression bomb), or a text frame longer than it, is a bad frame of reason ``size`` and costs the
  cap, not its expanded size.

Turning an event into a post, a skip or a dead letter is not the client's business: see
:func:`trendlab.jetstream.ingest.classify`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from urllib.parse import urlencode, urlsplit, urlunsplit

import orjson

from trendlab.errors import ConfigError, InputError

log = logging.getLogger(__name__)

#: Bluesky's public Jetstream instances; the client rotates among them on failure.
PUBLIC_URLS = (
    "wss://jetstream1.us-east.bsky.network/subscribe",
    "wss://jetstream2.us-east.bsky.network/subscribe",
    "wss://jetstream1.us-west.bsky.network/subscribe",
    "wss://jetstream2.us-west.bsky.network/subscribe",
)

#: Event kinds of the v1 wire (``#sync`` is not emitted on v1).
KINDS = frozenset({"commit", "identity", "account"})

DICTIONARY_FILE = "legacy_subscribe.zdict"
DICTIONARY_SHA256 = "b8d77b46933aceecbdd5275a01241efc985c970c78162b8150cf67a26522f70c"

#: An event's ``time_us`` further ahead of this machine's clock does not move the cursor.
MAX_AHEAD_US = 3600 * 1_000_000

#: Reasons a frame is bad (the label of the bad-frame counters).
BAD_ZSTD, BAD_JSON, BAD_EVENT, BAD_KIND, BAD_SIZE = "zstd", "json", "event", "kind", "size"

#: The default cap on one event's decompressed size: ``parse.Limits.max_message_bytes`` (Jetstream's
#: own message cap is 256 KiB too).
DEFAULT_MAX_EVENT_BYTES = 262_144


def dictionary_bytes() -> bytes:
    return resources.files("trendlab.jetstream").joinpath(DICTIONARY_FILE).read_bytes()


# -- events -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Event:
    """One Jetstream event: its bytes exactly as received (decompressed) and what the client reads."""

    raw: bytes
    time_us: int
    kind: str
    did: str
    identity: tuple


def event_identity(obj: dict) -> tuple:
    """What makes an event the same event on every Jetstream instance (``time_us`` is the instance's
    clock, so it is not part of it unless nothing else is)."""
    kind = obj.get("kind")
    did = obj.get("did")
    if kind == "commit":
        c = obj.get("commit")
        if isinstance(c, dict):
            return ("commit", did, c.get("rev"), c.get("collection"), c.get("rkey"), c.get("operation"))
    elif kind in ("identity", "account"):
        body = obj.get(kind)
        if isinstance(body, dict) and body.get("seq") is not None:
            return (kind, did, body.get("seq"))
    return (str(kind), did, obj.get("time_us"))


class FrameDecoder:
    """Frames → :class:`Event`; bad frames → ``(reason, detail, payload)`` (see the module docstring).

    No frame costs more than ``max_bytes`` (+1) of output: larger ones are bad frames of reason
    ``size``, found at the cap, never by decompressing the whole frame."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        import zstandard

        if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes <= 0:
            raise ConfigError(f"TRENDLAB_MAX_MESSAGE_BYTES must be a positive integer, got {max_bytes!r}")
        self.max_bytes = max_bytes
        self._dict = zstandard.ZstdCompressionDict(dictionary_bytes())
        self._dctx = zstandard.ZstdDecompressor(dict_data=self._dict)
        self._zstd = zstandard
        self._zstd_error = zstandard.ZstdError

    def decompress(self, frame: bytes) -> bytes | None:
        """The frame's content, or ``None`` when it expands beyond ``max_bytes``. Raises ``ZstdError`` for
        a corrupt or truncated frame. No more than ``max_bytes`` (+1) of output is ever produced:

        * a header that claims more than the cap is refused on its claim;
        * otherwise the one-shot decoder writes into a buffer of the claimed size or, without a claim,
          of the cap, and fails rather than grow it (a header that lies fails there too);
        * only on such a failure does the streaming decoder read at most ``max_bytes`` + 1 bytes, to tell
          a frame over the cap (``None``) from a broken one (the error).
        """
        claimed = self._zstd.frame_content_size(frame)  # -1: not in the header
        if claimed > self.max_bytes:
            return None
        try:
            return self._dctx.decompress(frame, max_output_size=self.max_bytes)
        except self._zstd_error:
            with self._dctx.stream_reader(frame, read_size=16_384, read_across_frames=False) as reader:
                if len(reader.read(self.max_bytes + 1)) > self.max_bytes:
                    return None
            raise

    def _too_large(self, what: str, payload: bytes, note: str = "") -> tuple[str, str, bytes]:
        return BAD_SIZE, f"{what} more than the {self.max_bytes:,}-byte limit (TRENDLAB_MAX_MESSAGE_BYTES{note})", payload

    def decode(self, frame: bytes | str) -> Event | tuple[str, str, bytes]:
        """An :class:`Event`, or ``(reason, detail, payload)`` for a bad frame."""
        if isinstance(frame, str):
            if len(frame) > self.max_bytes:  # characters <= UTF-8 bytes: surely too large, not encoded whole
                return self._too_large(f"text frame of {len(frame):,} characters is",
                                       frame[:self.max_bytes].encode("utf-8", "surrogatepass"))
            raw = frame.encode("utf-8", "surrogatepass")
        elif frame[:4] == b"\x28\xb5\x2f\xfd":  # zstd frame magic
            try:
                raw = self.decompress(frame)
            except self._zstd_error as exc:
                return BAD_ZSTD, f"undecodable zstd frame ({exc})", bytes(frame)
            if raw is None:
                claimed = self._zstd.frame_content_size(frame)
                note = f"; its header claims {claimed:,} bytes" if claimed >= 0 else "; its header claims no size"
                return self._too_large(f"zstd frame of {len(frame):,} bytes expands to", bytes(frame), note)
        else:
            raw = bytes(frame)
        if len(raw) > self.max_bytes:
            return self._too_large(f"frame of {len(raw):,} bytes is", raw)
        return self.decode_json(raw)

    @staticmethod
    def decode_json(raw: bytes) -> Event | tuple[str, str, bytes]:
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return BAD_JSON, f"not JSON ({exc.msg})", raw
        if not isinstance(obj, dict):
            return BAD_EVENT, f"not a JSON object ({type(obj).__name__})", raw
        time_us = obj.get("time_us")
        if not isinstance(time_us, int) or isinstance(time_us, bool) or time_us <= 0:
            return BAD_EVENT, f"time_us is not a positive integer: {time_us!r:.40}", raw
        kind = obj.get("kind")
        if kind not in KINDS:
            return BAD_KIND, f"unexpected kind {kind!r:.40}", raw
        did = obj.get("did")
        return Event(raw, time_us, kind, did if isinstance(did, str) else "", event_identity(obj))


# -- the client ---------------------------------------------------------------------------------

@dataclass
class ClientStats:
    events: int = 0
    duplicates: int = 0
    reconnects: int = 0
    stalls: int = 0
    bad_frames: Counter = field(default_factory=Counter)
    last_time_us: int | None = None
    url: str = ""

    @property
    def bad_total(self) -> int:
        return sum(self.bad_frames.values())


def subscribe_url(base: str, *, collections: Sequence[str] = (), cursor: int | None = None,
                  compress: bool = True, max_message_size: int = 0) -> str:
    """``base`` (``wss://host/subscribe``) with the v1 query parameters."""
    parts = urlsplit(base)
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        raise ConfigError(f"--url must be a ws:// or wss:// URL, got {base!r}")
    query = [("wantedCollections", c) for c in collections]
    if cursor is not None:
        query.append(("cursor", str(int(cursor))))
    if compress:
        query.append(("compress", "true"))
    if max_message_size:
        query.append(("maxMessageSizeBytes", str(int(max_message_size))))
    existing = parts.query + "&" if parts.query else ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/subscribe", existing + urlencode(query, safe="*"), ""))


class JetstreamClient:
    """``async for event in client.events()``: every event once, in order, until the caller stops."""

    def __init__(
        self,
        urls: Sequence[str] | str | None = None,
        *,
        collections: Sequence[str] = (),
        cursor: int | None = None,
        compress: bool = True,
        max_message_size: int = 0,
        stall_timeout: float = 30.0,
        open_timeout: float = 10.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        rewind_s: float = 2.0,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        on_bad_frame: Callable[[str, str, bytes], None] | None = None,
        stats: ClientStats | None = None,
    ) -> None:
        if isinstance(urls, str):
            urls = [urls]
        self.urls = list(urls or PUBLIC_URLS)
        for u in self.urls:
            subscribe_url(u)  # refuse a bad URL now, not on the first connection
        for c in collections:
            if not c or " " in c or (c.endswith("*") and not c.endswith(".*")):
                raise ConfigError(f"--collections: not a collection NSID or prefix.* pattern: {c!r}")
        self.collections = list(collections)
        self.cursor = cursor
        self.compress = compress
        self.max_message_size = max_message_size
        self.stall_timeout = stall_timeout
        self.open_timeout = open_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.rewind_us = int(rewind_s * 1_000_000)
        self.on_bad_frame = on_bad_frame
        self.stats = stats or ClientStats()
        self.decoder = FrameDecoder(max_event_bytes)
        self._logged: set[str] = set()
        # the last time_us handed out by *this* client (stats may be shared by successive clients)
        self._position: int | None = None
        # identities handed out within the rewind window, to drop them when they come again
        self._recent: deque[tuple[int, tuple]] = deque()
        self._recent_set: set[tuple] = set()

    # -- resume state ---------------------------------------------------------------------------
    def resume_cursor(self) -> int | None:
        if self._position is None:
            return self.cursor
        return max(1, self._position - self.rewind_us)

    def _advance(self, time_us: int) -> None:
        """Move the resume point forward only: an event with a time far in the past or the future (a
        broken clock) must not make a reconnection replay the archive or skip the stream."""
        last = self._position
        if (last is None or time_us > last) and time_us <= now_us() + MAX_AHEAD_US:
            self._position = self.stats.last_time_us = time_us

    def _seen(self, event: Event) -> bool:
        if event.identity in self._recent_set:
            return True
        self._recent.append((event.time_us, event.identity))
        self._recent_set.add(event.identity)
        horizon = event.time_us - self.rewind_us - 1_000_000  # a second of slack beyond the rewind
        while self._recent and self._recent[0][0] < horizon:
            self._recent_set.discard(self._recent.popleft()[1])
        return False

    def _bad(self, reason: str, detail: str, payload: bytes) -> None:
        self.stats.bad_frames[reason] += 1
        if reason not in self._logged:
            self._logged.add(reason)
            log.warning("jetstream: bad frame (%s): %s — counted, further ones of this kind are not logged",
                        reason, detail)
        if self.on_bad_frame is not None:
            self.on_bad_frame(reason, detail, payload)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.backoff_max, self.backoff_initial * (2 ** min(attempt, 20)))
        return random.uniform(ceiling / 2, ceiling)  # "equal jitter": never zero, never in lock-step

    # -- the stream -----------------------------------------------------------------------------
    async def events(self) -> AsyncIterator[Event]:
        import websockets
        from websockets.exceptions import InvalidStatus, InvalidURI, WebSocketException

        attempt = 0
        index = 0
        while True:
            base = self.urls[index % len(self.urls)]
            url = subscribe_url(base, collections=self.collections, cursor=self.resume_cursor(),
                                compress=self.compress, max_message_size=self.max_message_size)
            self.stats.url = base
            try:
                async with websockets.connect(
                    url,
                    open_timeout=self.open_timeout,
                    max_size=None,  # the server caps sizes (maxMessageSizeBytes); a client cap would loop
                    compression=None if self.compress else "deflate",  # v1 refuses zstd + deflate together
                    ping_interval=20,
                    ping_timeout=20,
                    close_timeout=1,
                    user_agent_header="trendlab-jetstream",
                ) as ws:
                    log.info("jetstream: connected to %s", url)
                    while True:
                        try:
                            async with asyncio.timeout(self.stall_timeout):  # keeps a cancellation, unlike wait_for
                                frame = await ws.recv(decode=False)
                        except TimeoutError:
                            self.stats.stalls += 1
                            raise _Stalled(f"no message for {self.stall_timeout:g}s") from None
                        decoded = self.decoder.decode(frame)
                        if not isinstance(decoded, Event):
                            self._bad(*decoded)
                            continue
                        if self._seen(decoded):
                            self.stats.duplicates += 1
                            continue
                        attempt = 0
                        self.stats.events += 1
                        self._advance(decoded.time_us)
                        yield decoded
            except InvalidStatus as exc:
                status = exc.response.status_code
                if 400 <= status < 500 and status not in (408, 429):
                    body = exc.response.body.decode("utf-8", "replace").strip()[:200] if exc.response.body else ""
                    raise InputError(f"Jetstream at {base} refused the subscription (HTTP {status}): "
                                     f"{body or 'bad request'}") from None
                reason = f"HTTP {status}"
            except InvalidURI as exc:
                raise ConfigError(f"--url is not a WebSocket URL: {exc}") from None
            except (_Stalled, OSError, asyncio.TimeoutError, WebSocketException) as exc:
                reason = str(exc) or type(exc).__name__
            self.stats.reconnects += 1
            index += 1
            delay = self._backoff(attempt)
            attempt += 1
            log.warning("jetstream: %s: %s; reconnecting in %.1fs to %s", base, reason, delay,
                        self.urls[index % len(self.urls)])
            await asyncio.sleep(delay)


class _Stalled(Exception):
    pass


def now_us() -> int:
    return time.time_ns() // 1000
