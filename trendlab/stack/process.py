"""Processes of the stack: start detached, remember by pid file, probe ports, wait, stop.

A part's pid file is ``<stack home>/run/<name>.pid``. A pid only counts as the part's when the process
is alive (not a zombie) and its command line still contains the part's marker, so a recycled pid is
never mistaken for a running part.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from trendlab.errors import StackError


def split_host_port(address: str, default_port: int) -> tuple[str, int]:
    """``'127.0.0.1:9092'`` → ``('127.0.0.1', 9092)``; the first of a comma-separated list; scheme dropped."""
    address = address.split(",")[0].strip()
    if "://" in address:
        address = address.split("://", 1)[1]
    address = address.rstrip("/")
    host, _, port = address.rpartition(":")
    if not host:
        return address or "127.0.0.1", default_port
    try:
        return host.strip("[]"), int(port)
    except ValueError:
        raise StackError(f"bad address {address!r}: port {port!r} is not a number") from None


# -- pid files ----------------------------------------------------------------------------------

def pid_path(run_dir: Path, name: str) -> Path:
    return run_dir / f"{name}.pid"


def read_pid(run_dir: Path, name: str) -> int | None:
    try:
        return int(pid_path(run_dir, name).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def write_pid(run_dir: Path, name: str, pid: int) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    pid_path(run_dir, name).write_text(f"{pid}\n")


def clear_pid(run_dir: Path, name: str, expected: int | None = None) -> None:
    """Remove the pid file; with ``expected``, only while it still names that pid."""
    if expected is not None and read_pid(run_dir, name) != expected:
        return
    pid_path(run_dir, name).unlink(missing_ok=True)


def is_alive(pid: int | None, marker: str | tuple[str, ...] | None = None) -> bool:
    """The process exists, is not a zombie, and (if given) its command line contains every ``marker``."""
    if not pid or pid <= 0:
        return False
    _reap(pid)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    if state in {"Z", "X"}:
        return False
    markers = (marker,) if isinstance(marker, str) else (marker or ())
    return all(m in cmdline for m in markers)


def running_pid(run_dir: Path, name: str, marker: str | tuple[str, ...]) -> int | None:
    """The part's pid when it is running, else None.

    The pid file is a cache: when it is missing or stale, the process table is searched for the
    part's marker (so a part whose pid file was lost is still found, and never started twice), and
    the file is rewritten or removed accordingly.
    """
    recorded = read_pid(run_dir, name)
    if recorded is not None and is_alive(recorded, marker):
        return recorded
    found = find_pid(marker)
    if found is not None:
        write_pid(run_dir, name, found)
        return found
    if recorded is not None:
        clear_pid(run_dir, name, expected=recorded)
    return None


def find_pid(marker: str | tuple[str, ...]) -> int | None:
    """The oldest live process (not this one) whose command line contains every marker."""
    me = os.getpid()
    candidates = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != me and is_alive(int(entry.name), marker):
            candidates.append(int(entry.name))
    return min(candidates) if candidates else None


def _reap(pid: int) -> None:
    """Collect a child of this process that has exited, so it does not linger as a zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    except OSError as exc:  # pragma: no cover - other errors are not ours to handle
        if exc.errno != errno.ECHILD:
            raise


@contextlib.contextmanager
def locked(run_dir: Path) -> Iterator[None]:
    """Serialise stack changes (up, down, TaskManager kill/start) across processes."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "stack.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# -- start / stop -------------------------------------------------------------------------------

def start(argv: Sequence[str], *, log_file: Path, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> int:
    """Start ``argv`` detached in its own session, stdout and stderr appended to ``log_file``."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as out:
        out.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(argv)}\n".encode())
        out.flush()
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
            close_fds=True,
        )
    return process.pid


def stop(pid: int, *, timeout: float = 30.0) -> bool:
    """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL. True when it stopped on SIGTERM."""
    if not _signal(pid, signal.SIGTERM):
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(pid):
            return True
        time.sleep(0.2)
    kill(pid)
    return False


def kill(pid: int) -> None:
    """SIGKILL and wait until it is gone."""
    if not _signal(pid, signal.SIGKILL):
        return
    deadline = time.monotonic() + 10
    while is_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _signal(pid: int, sig: int) -> bool:
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


# -- ports and waiting --------------------------------------------------------------------------

def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def check_port_free(part: str, host: str, port: int) -> None:
    """Raise the part's one-line error when another process already listens on its port."""
    if port_open(host, port):
        raise StackError(f"{part}: cannot start, port {host}:{port} is already taken by another process")


def wait_until(
    ready: Callable[[], bool],
    *,
    part: str,
    what: str,
    timeout: float,
    pid: int | None = None,
    log_file: Path | None = None,
    interval: float = 0.5,
) -> None:
    """Poll ``ready`` until true; fail with a one-line error when ``pid`` dies or time runs out."""
    deadline = time.monotonic() + timeout
    last_error = ""
    while True:
        try:
            if ready():
                return
        except Exception as exc:  # noqa: BLE001 - a probe that fails just means "not yet"
            last_error = f"; last probe error: {type(exc).__name__}: {exc}"[:300]
        where = f" (log: {log_file})" if log_file else ""
        if pid is not None and not is_alive(pid):
            raise StackError(f"{part}: the process exited before {what}{where}")
        if time.monotonic() >= deadline:
            raise StackError(f"{part}: not ready after {timeout:.0f}s: {what} did not happen{where}{last_error}")
        time.sleep(interval)
