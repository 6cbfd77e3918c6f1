"""A dependency that hangs: a local socket that accepts connections and never answers.

For tests and benchmarks of the service's probes (``tests/unit/test_service.py``, ``bench/service.py``; a test fixture, not part of the package):
point Flink, Kafka and MinIO at :attr:`HungServer.port` and every probe has to time out. It counts the
connections it accepted, how many are open at once and how many the peer closed, so a caller can tell
whether the probes ran in parallel and closed what they opened.
"""

from __future__ import annotations

import socket
import threading
import time


class HungServer:
    """Accepts connections and never answers (reads and drops what comes, until the peer closes)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.closed = 0
        self.open = 0
        self.peak = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="hung-server", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # closed
                return
            with self._lock:
                self.accepted += 1
                self.open += 1
                self.peak = max(self.peak, self.open)
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn) -> None:
        with conn:
            while True:
                try:
                    if not conn.recv(65536):
                        break
                except OSError:
                    break
        with self._lock:
            self.closed += 1
            self.open -= 1

    def wait_all_closed(self, timeout: float = 20.0) -> bool:
        """True once every accepted connection was closed by its peer (False after ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self.accepted and self.closed == self.accepted:
                    return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        self.sock.close()
