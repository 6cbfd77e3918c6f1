"""``/health``'s probes: Flink's REST API, Kafka and MinIO, asked at the same time, each with a short timeout.

They run on the service's event loop (no worker thread is taken, so ``/health/live`` and the other
routes answer while a dependency hangs), every connection is closed when its probe ends (answer,
error or timeout), and concurrent ``/health`` calls share one round of probes (:class:`HealthProbe`):
500 callers against a hung Kafka cost one connection per part, not 500.

The Kafka probe speaks Kafka's protocol itself: an ``ApiVersions`` request (key 18, version 0) and its
answer's correlation id and error code, so a port that accepts connections but never answers is down.
"""

from __future__ import annotations

import asyncio
import functools
import struct
import time
from typing import Any

import httpx

from trendlab.config import Settings
from trendlab.stack.process import split_host_port

PROBE_TIMEOUT_S = 2.0
#: a finished round of probes is reused for this long (a scraper polling /health costs nothing more)
REUSE_S = 1.0


async def _timed(name: str, probe, timeout: float) -> dict[str, Any]:
    t0 = time.perf_counter()
    error = None
    try:
        await asyncio.wait_for(probe(), timeout)
    except asyncio.TimeoutError:
        error = f"no answer within {timeout:g}s"
    except Exception as exc:  # noqa: BLE001 - any failure to answer is "down", with its reason
        text = str(exc).splitlines()[0][:200] if str(exc).strip() else ""
        error = text or type(exc).__name__
    out: dict[str, Any] = {"up": error is None, "seconds": round(time.perf_counter() - t0, 3)}
    if error:
        out["error"] = error
    return out


async def _http_ok(url: str, timeout: float) -> None:
    # TLS only for https: building a verifying SSL context loads the CA bundle (~0.2 s on the event loop)
    verify = _tls_context() if url.startswith("https://") else False
    async with httpx.AsyncClient(timeout=httpx.Timeout(timeout), verify=verify) as client:
        response = await client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code} from {url}")


@functools.lru_cache(maxsize=1)
def _tls_context():
    import ssl

    import certifi

    return ssl.create_default_context(cafile=certifi.where())


async def kafka_api_versions(bootstrap: str) -> None:
    """One ``ApiVersions`` round trip with the first bootstrap server; raises when it does not answer right."""
    host, port = split_host_port(bootstrap.split(",")[0].strip(), 9092)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        client_id = b"trendlab-health"
        correlation = 0x7E57
        body = struct.pack(">hhih", 18, 0, correlation, len(client_id)) + client_id
        writer.write(struct.pack(">i", len(body)) + body)
        await writer.drain()
        size = struct.unpack(">i", await reader.readexactly(4))[0]
        answer = await reader.readexactly(min(size, 1 << 16))
        got, error_code = struct.unpack(">ih", answer[:6])
        if got != correlation:
            raise RuntimeError(f"Kafka answered correlation id {got}, not {correlation}")
        if error_code != 0:
            raise RuntimeError(f"Kafka ApiVersions error code {error_code}")
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except Exception:  # noqa: BLE001 - the connection is closed either way
            pass


async def check_parts(settings: Settings, timeout: float = PROBE_TIMEOUT_S) -> dict[str, dict[str, Any]]:
    """Flink, Kafka and MinIO probed in parallel; each part ``{"up", "seconds", "error"?, address}``."""
    minio_scheme = "https" if settings.minio_url.startswith("https://") else "http"
    minio_host, minio_port = split_host_port(settings.minio_url.split("://", 1)[1], 9000)
    flink, kafka, minio = await asyncio.gather(
        _timed("flink", lambda: _http_ok(f"{settings.flink_rest_url}/overview", timeout), timeout),
        _timed("kafka", lambda: kafka_api_versions(settings.kafka_bootstrap_servers), timeout),
        _timed("minio", lambda: _http_ok(f"{minio_scheme}://{minio_host}:{minio_port}/minio/health/live", timeout),
               timeout),
    )
    return {
        "flink": {**flink, "url": settings.flink_rest_url},
        "kafka": {**kafka, "bootstrap": settings.kafka_bootstrap_servers},
        "minio": {**minio, "endpoint": settings.minio_endpoint},
    }


class HealthProbe:
    """One round of probes at a time, shared by every caller that asks while it runs (and for REUSE_S after)."""

    def __init__(self, settings: Settings, timeout: float = PROBE_TIMEOUT_S, reuse: float = REUSE_S) -> None:
        self.settings = settings
        self.timeout = timeout
        self.reuse = reuse
        self._running: asyncio.Task | None = None
        self._done: tuple[float, dict[str, Any]] | None = None
        self.rounds = 0

    async def parts(self) -> dict[str, dict[str, Any]]:
        if self._done is not None and time.monotonic() - self._done[0] < self.reuse:
            return self._done[1]
        running = self._running
        if running is None or running.done() or running.get_loop() is not asyncio.get_running_loop():
            self._running = asyncio.ensure_future(self._round())
        return await asyncio.shield(self._running)

    async def _round(self) -> dict[str, Any]:
        self.rounds += 1
        result = await check_parts(self.settings, self.timeout)
        self._done = (time.monotonic(), result)
        return result


def wait_until_live(base_url: str, timeout: float = 60.0) -> bool:
    """Whether a ``trendlab serve`` at ``base_url`` answers ``/health/live`` with 200 within ``timeout``
    seconds (for scripts and tests that start the service in a child process)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/health/live", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            time.sleep(0.2)
    return False
