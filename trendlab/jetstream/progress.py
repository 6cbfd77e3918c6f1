"""The progress line of ``trendlab jetstream record|ingest`` (events/s, lag, reconnects, bad frames)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from trendlab.jetstream.subscriber import ClientStats, now_us


def lag_seconds(stats: ClientStats, at_us: int | None = None) -> float | None:
    """now − ``time_us`` of the last event received, in seconds (``None`` before the first event)."""
    if stats.last_time_us is None:
        return None
    return ((at_us if at_us is not None else now_us()) - stats.last_time_us) / 1e6


def _lag_text(lag: float | None) -> str:
    if lag is None:
        return "-"
    if abs(lag) < 120:
        return f"{lag:.1f}s"
    if abs(lag) < 7200:
        return f"{lag / 60:.1f}m"
    return f"{lag / 3600:.1f}h"


class ProgressLine:
    """Prints ``label: N events (R/s), lag L, reconnects C, bad frames B[, extra]`` every ``every`` s:
    rewritten in place on a terminal, one line each time otherwise (logs)."""

    def __init__(self, label: str, stats: ClientStats, *, every: float | None = None,
                 extra: Callable[[], str] | None = None, stream: TextIO | None = None) -> None:
        self.label = label
        self.stats = stats
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every = every if every is not None else (1.0 if self.tty else 10.0)
        self.extra = extra
        self._t0 = self._last_t = time.monotonic()
        self._last_n = 0
        self._width = 0

    def line(self) -> str:
        now = time.monotonic()
        n = self.stats.events
        rate = (n - self._last_n) / max(now - self._last_t, 1e-9)
        self._last_t, self._last_n = now, n
        text = (f"{self.label}: {n:,} events ({rate:,.0f}/s), lag {_lag_text(lag_seconds(self.stats))}, "
                f"reconnects {self.stats.reconnects}, bad frames {self.stats.bad_total}")
        if self.extra is not None:
            text += ", " + self.extra()
        return text

    def tick(self, force: bool = False) -> None:
        if self.every <= 0 and not force:
            return
        if not force and time.monotonic() - self._last_t < self.every:
            return
        text = self.line()
        if self.tty:
            pad = max(self._width - len(text), 0)
            self._width = len(text)
            self.stream.write("\r" + text + " " * pad)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.tick(force=True)
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
