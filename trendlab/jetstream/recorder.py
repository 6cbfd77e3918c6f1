"""``trendlab jetstream record``: Jetstream events into a JSON-lines file every command reads.

Each event is written exactly as received (decompressed), one per line, once and in order through
reconnects (the client's guarantee); ``.gz`` / ``.zst`` in the file name compress the file. The
recording stops after ``max_events`` events written, after ``duration_s`` seconds, or on SIGINT /
SIGTERM — always with the file flushed and closed, so a recording cut short is still a valid stream.

No line is longer than ``TRENDLAB_MAX_MESSAGE_BYTES``: a frame over it (a zstd frame that expands
beyond it is found at the cap, see :class:`trendlab.jetstream.subscriber.FrameDecoder`) is a bad frame of
reason ``size``, counted in the report and logged, and not written.
"""

from __future__ import annotations

import asyncio
import gzip
import signal
import time
from contextlib import aclosing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from trendlab.jetstream.subscriber import ClientStats, JetstreamClient
from trendlab.jetstream.progress import ProgressLine
from trendlab.env_defaults import parser_limits


def open_stream_writer(path: str | Path) -> BinaryIO:
    """A binary writer to ``path``, compressing for ``.gz`` and ``.zst`` (what :mod:`trendlab.postfile`
    reads back); parent directories are created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".gz":
        return gzip.open(path, "wb", compresslevel=6)  # type: ignore[return-value]
    if suffix in (".zst", ".zstd"):
        import zstandard

        return zstandard.ZstdCompressor(level=6).stream_writer(open(path, "wb"), closefd=True)  # type: ignore[return-value]
    return open(path, "wb")


@dataclass
class RecordResult:
    path: Path
    written: int
    stats: ClientStats
    seconds: float
    first_time_us: int | None
    last_time_us: int | None

    def report(self) -> str:
        s = self.stats
        bad = ", ".join(f"{n} {reason}" for reason, n in sorted(s.bad_frames.items())) or "none"
        return (f"wrote {self.written:,} events to {self.path} in {self.seconds:.1f}s "
                f"(time_us {self.first_time_us}..{self.last_time_us}); {s.reconnects} reconnects, "
                f"{s.duplicates} duplicates dropped, bad frames: {bad}")


async def record_async(
    out: str | Path,
    urls: Sequence[str] | str | None = None,
    *,
    max_events: int | None = None,
    duration_s: float | None = None,
    cursor: int | None = None,
    collections: Sequence[str] = (),
    compress: bool = True,
    max_message_size: int = 0,
    max_event_bytes: int | None = None,
    stall_timeout: float = 30.0,
    progress_every: float | None = None,
    handle_signals: bool = True,
) -> RecordResult:
    out = Path(out)
    if max_event_bytes is None:
        max_event_bytes = parser_limits().max_message_bytes
    stats = ClientStats()
    client = JetstreamClient(urls, collections=collections, cursor=cursor, compress=compress,
                             max_message_size=max_message_size, stall_timeout=stall_timeout,
                             max_event_bytes=max_event_bytes, stats=stats)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    if handle_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
    if duration_s:
        loop.call_later(duration_s, stop.set)
    written = 0
    first = last = None
    progress = ProgressLine("jetstream record", stats, every=progress_every, extra=lambda: f"written {written:,}")
    t0 = time.monotonic()

    async def pump(fh) -> None:
        nonlocal written, first, last
        async with aclosing(client.events()) as events:  # closes the connection when we stop
            async for event in events:
                fh.write(event.raw)
                fh.write(b"\n")
                written += 1
                if first is None:
                    first = event.time_us
                last = event.time_us
                progress.tick()
                if (max_events is not None and written >= max_events) or stop.is_set():
                    return

    async def tick() -> None:
        while True:
            await asyncio.sleep(0.5)
            progress.tick()

    with open_stream_writer(out) as fh:
        if max_events is None or max_events > 0:
            tasks = [asyncio.create_task(pump(fh)), asyncio.create_task(tick()), asyncio.create_task(stop.wait())]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            if tasks[0] in done and not tasks[0].cancelled() and tasks[0].exception() is not None:
                raise tasks[0].exception()
    progress.close()
    return RecordResult(out, written, stats, time.monotonic() - t0, first, last)


def record(out: str | Path, urls: Sequence[str] | str | None = None, **kwargs) -> RecordResult:
    """Record Jetstream into ``out`` (see :func:`record_async` for the options)."""
    return asyncio.run(record_async(out, urls, **kwargs))
