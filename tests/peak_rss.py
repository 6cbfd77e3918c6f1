"""Run a command as a child process and measure its peak resident memory.

The peak is the kernel's high-water mark of the child's resident set (``VmHWM`` in ``/proc/PID/status``,
returned as ``ru_maxrss`` by ``wait4`` when the child is reaped), so no sampling can miss a spike.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass


@dataclass
class Measured:
    returncode: int
    peak_mb: float
    stderr: str


def run_with_peak_rss(cmd: list[str], *, env: dict[str, str] | None = None, timeout: float = 300) -> Measured:
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err, text=True)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                os.kill(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        err.seek(0)
        return Measured(proc.returncode, usage.ru_maxrss / 1024, err.read())
