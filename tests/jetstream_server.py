"""A local Jetstream v1 ``/subscribe`` server for tests and benchmarks (there is no internet here).

It replays a recorded JSON-lines file the way Jetstream serves its archive, speaking the v1 protocol
as Jetstream describes it:

* ``wantedCollections`` (repeatable, ``prefix.*`` allowed) filters commit events; identity and account
  events always come;
* ``cursor`` (unix µs): replay from the first event with ``time_us >= cursor``; without it, from the
  start of the file (the "live tip" of a replayed stream);
* ``compress=true`` (or ``Socket-Encoding: zstd``): each event is a binary message holding one zstd frame
  made with Jetstream's dictionary (every other frame without its content size, as some encoders do);
  asking for it together with permessage-deflate is refused (HTTP 400), as Jetstream does;
* ``maxMessageSizeBytes``: larger events are left out.

Faults, each fired once, keyed by how many events the server has sent in total: ``drop_after`` (abort
the TCP connection, no close frame), ``stall_at`` (go silent; the client must give up on it),
``bad_frames_at`` (frames that are not events: garbage zstd, broken JSON, an unknown kind…), and
``reject_first`` (the first N connection attempts get HTTP 503). ``rate`` paces events per second.
``connections`` records every request's query for assertions.
"""

from __future__ import annotations

import asyncio
import bisect
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import orjson
import zstandard

from trendlab.jetstream.subscriber import dictionary_bytes

#: Frames that are not events, for ``bad_frames_at``.
BAD_FRAMES = {
    "zstd": b"\x28\xb5\x2f\xfd" + b"\x00garbage-after-the-magic" * 3,  # zstd magic, then nonsense
    "json": b'{"did":"did:plc:broken","time_us":1,"kind":"commit","commit":',  # cut short
    "kind": b'{"did":"did:plc:x","time_us":1739131201000000,"kind":"mystery","mystery":{}}',
    "object": b"[1, 2, 3]",
}


def bomb_frame(expanded_bytes: int, *, content_size: bool = True, head: bytes = b"") -> bytes:
    """A zstd frame made with Jetstream's dictionary that expands to ``expanded_bytes``: ``head`` (e.g. a
    valid event, which makes the whole a valid JSON document) and then spaces. Cheap to make: zstd folds
    the spaces, so a gigabyte fits in a frame of about 100 KB. ``content_size`` writes the size into
    the frame header (a decoder that trusts it allocates it all at once)."""
    cctx = zstandard.ZstdCompressor(level=1, dict_data=zstandard.ZstdCompressionDict(dictionary_bytes()),
                                    write_content_size=content_size)
    obj = cctx.compressobj(size=expanded_bytes if content_size else -1)
    parts = [obj.compress(head)]
    chunk = b" " * (16 << 20)
    left = expanded_bytes - len(head)
    while left > 0:
        parts.append(obj.compress(chunk[:min(left, len(chunk))]))
        left -= min(left, len(chunk))
    parts.append(obj.flush())
    return b"".join(parts)


def lying_bomb_frame(expanded_bytes: int, claims: int, *, head: bytes = b"") -> bytes:
    """:func:`bomb_frame` whose header claims ``claims`` bytes (a 4-byte size field) while it expands to
    ``expanded_bytes``: a decoder that sizes its buffer by the claim and grows it would follow the bomb."""
    frame = bomb_frame(expanded_bytes, head=head)
    true_size = expanded_bytes.to_bytes(4, "little")
    at = frame.find(true_size, 4, 18)
    assert at > 0 and expanded_bytes >= 1 << 16, "the size must be in a 4-byte field of the header"
    return frame[:at] + claims.to_bytes(4, "little") + frame[at + 4:]


@dataclass
class Faults:
    drop_after: set[int] = field(default_factory=set)
    stall_at: set[int] = field(default_factory=set)
    bad_frames_at: dict[int, list[bytes]] = field(default_factory=dict)
    reject_first: int = 0


@dataclass(frozen=True)
class _Event:
    time_us: int
    kind: str
    collection: str | None
    raw: bytes


def _load(source: str | Path | Iterable[bytes]) -> list[_Event]:
    lines = Path(source).read_bytes().splitlines() if isinstance(source, (str, Path)) else list(source)
    events: list[_Event] = []
    for line in lines:
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            obj = None
        if not isinstance(obj, dict):
            obj = {}
        commit = obj.get("commit") if isinstance(obj.get("commit"), dict) else {}
        # a line without a usable time (a malformed message in a test file) is served where it stands
        previous = events[-1].time_us if events else 0
        time_us = obj.get("time_us")
        if not isinstance(time_us, int) or time_us < previous:
            time_us = previous
        events.append(_Event(time_us, obj.get("kind"), commit.get("collection"), bytes(line)))
    return events


def wants(collections: list[str], event: _Event) -> bool:
    if event.kind != "commit" or not collections or not event.collection:
        return True
    for c in collections:
        if c.endswith(".*") and event.collection.startswith(c[:-1]):
            return True
        if c == event.collection:
            return True
    return False


class JetstreamServer:
    def __init__(self, source, *, rate: float | None = None, faults: Faults | None = None) -> None:
        self.events = _load(source)
        self.times = [e.time_us for e in self.events]
        self.rate = rate
        self.faults = faults or Faults()
        self.sent = 0  # events sent, over all connections
        self.connections: list[dict] = []
        self.attempts = 0
        self.fired: set[tuple[str, int]] = set()
        self._dict = zstandard.ZstdCompressionDict(dictionary_bytes())
        self._cctx = [zstandard.ZstdCompressor(level=3, dict_data=self._dict, write_content_size=flag)
                      for flag in (True, False)]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server = None
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/subscribe"

    def compress(self, raw: bytes, index: int = 0) -> bytes:
        return self._cctx[index % 2].compress(raw)

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> JetstreamServer:
        self._thread = threading.Thread(target=self._run, name="jetstream-test-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(20):
            raise RuntimeError("the test Jetstream server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(20)

    def __enter__(self) -> JetstreamServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        from websockets.asyncio.server import serve

        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        async with serve(self._handler, "127.0.0.1", self.port, process_request=self._process_request,
                         max_size=None, ping_interval=None) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stopped.wait()
            server.close(close_connections=True)

    # -- protocol -----------------------------------------------------------------------------
    def _process_request(self, connection, request):
        self.attempts += 1
        parts = urlsplit(request.path)
        if parts.path != "/subscribe":
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        if self.attempts <= self.faults.reject_first:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "try again later\n")
        query = parse_qs(parts.query)
        compress = query.get("compress", ["false"])[0] == "true" or "zstd" in request.headers.get("Socket-Encoding", "")
        if compress and "permessage-deflate" in request.headers.get("Sec-WebSocket-Extensions", ""):
            return connection.respond(HTTPStatus.BAD_REQUEST, "choose one compression scheme\n")
        for c in query.get("wantedCollections", []):
            if c.endswith("*") and not c.endswith(".*"):
                return connection.respond(HTTPStatus.BAD_REQUEST, f"invalid collection: {c}\n")
        cursor = query.get("cursor", [None])[0]
        try:
            cursor_us = int(cursor) if cursor is not None else None
        except ValueError:
            return connection.respond(HTTPStatus.BAD_REQUEST, "invalid cursor\n")
        try:
            max_size = max(0, int(query.get("maxMessageSizeBytes", ["0"])[0]))
        except ValueError:
            max_size = 0
        self.connections.append({"collections": query.get("wantedCollections", []), "cursor": cursor_us,
                                 "compress": compress, "max_size": max_size})
        connection.subscription = self.connections[-1]
        return None

    def _fire(self, kind: str, at: int, armed: Iterable[int]) -> bool:
        if at in armed and (kind, at) not in self.fired:
            self.fired.add((kind, at))
            return True
        return False

    async def _handler(self, ws) -> None:
        sub = ws.subscription
        start = 0 if sub["cursor"] is None else bisect.bisect_left(self.times, sub["cursor"])
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        paced = 0
        for i in range(start, len(self.events)):
            event = self.events[i]
            if not wants(sub["collections"], event):
                continue
            if sub["max_size"] and len(event.raw) > sub["max_size"]:
                continue
            if self._fire("bad", self.sent, self.faults.bad_frames_at):
                for frame in self.faults.bad_frames_at[self.sent]:
                    await ws.send(self._bad_frame(frame, sub["compress"]))
            if self._fire("drop", self.sent, self.faults.drop_after):
                ws.transport.abort()
                return
            if self._fire("stall", self.sent, self.faults.stall_at):
                await ws.wait_closed()
                return
            if self.rate:
                paced += 1
                ahead = t0 + paced / self.rate - loop.time()
                if ahead > 0:
                    await asyncio.sleep(ahead)
            await ws.send(self.compress(event.raw, i) if sub["compress"] else event.raw.decode())
            self.sent += 1
        await ws.wait_closed()  # the live tip: nothing new for now

    def _bad_frame(self, frame: bytes, compress: bool) -> bytes | str:
        if frame[:4] == b"\x28\xb5\x2f\xfd":
            return frame  # a broken zstd frame, binary either way
        return self.compress(frame) if compress else frame.decode("utf-8", "replace")

    # -- what a client should have seen -------------------------------------------------------
    def expected(self, collections: list[str] | None = None, cursor: int | None = None) -> list[bytes]:
        start = 0 if cursor is None else bisect.bisect_left(self.times, cursor)
        return [e.raw for e in self.events[start:] if wants(collections or [], e)]
