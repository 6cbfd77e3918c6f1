"""Small helpers the test suites share (a test fixture module, not part of the package): a free local
port, waiting for a condition with a one-line failure, and Debian's chromium for the browser tests."""

from __future__ import annotations

import shutil
import socket
import time

import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, check, timeout: float, every: float):
    """``check()``'s first true value, asked every ``every`` seconds; the test fails in one line
    ("``what`` within N s") when none comes within ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout:.0f}s", pytrace=False)
        time.sleep(every)


def chromium() -> str:
    """The path of Debian's chromium, or the test is skipped."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("Debian's chromium is not installed (make install installs it; apt-get install chromium)")
