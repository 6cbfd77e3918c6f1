"""What every stack part shares: where it lives on disk, its status record, the Java it runs on."""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from trendlab.config import Settings
from trendlab.errors import StackError


def stack_home(settings: Settings) -> Path:
    """State, data and logs of the local stack: ``<TRENDLAB_HOME>/stack``."""
    return Path(settings.home).expanduser() / "stack"


def run_dir(settings: Settings) -> Path:
    """Pid files."""
    return stack_home(settings) / "run"


def log_dir(settings: Settings) -> Path:
    return stack_home(settings) / "logs"


def java_binary(part: str) -> str:
    """``$JAVA_HOME/bin/java`` when set, else ``java`` on PATH; a one-line error naming ``part`` otherwise."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.access(Path(java_home) / "bin" / "java", os.X_OK):
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise StackError(f"{part}: cannot start, no Java runtime (no 'java' on PATH and JAVA_HOME not set)")
    return found


@dataclass
class PartStatus:
    """One part of the stack as ``trendlab stack status`` shows it."""

    name: str
    running: bool
    pid: int | None
    address: str
    log: str
    version: str
    detail: str = ""

    def line(self) -> str:
        state = "running" if self.running else "stopped"
        pid = f"pid {self.pid}" if self.pid else "pid -"
        extra = f"  {self.detail}" if self.detail else ""
        return f"{self.name:<18} {state:<8} {pid:<10} {self.address:<16} {self.version:<22} log {self.log}{extra}"


@dataclass
class StackStatus:
    parts: list[PartStatus] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return bool(self.parts) and all(part.running for part in self.parts)

    def part(self, name: str) -> PartStatus:
        for part in self.parts:
            if part.name == name:
                return part
        raise KeyError(name)

    def as_dict(self) -> dict[str, object]:
        return {"running": self.running, "parts": [asdict(part) for part in self.parts]}

    def table(self) -> str:
        return "\n".join(part.line() for part in self.parts)
