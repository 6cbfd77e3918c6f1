"""Load on the REST service with its dependencies hung: errors, p50/p99, the server's threads and fds.

A real ``trendlab serve`` runs in a child process whose Flink, Kafka and MinIO addresses all point at a
local socket that accepts connections and never answers (a hung dependency). Then, at 50 concurrent:

1. baseline: 2,000 ``GET /health/live`` with nothing else going on;
2. 2,000 each of ``/health/live``, ``/metrics`` and ``/trends``;
3. 500 ``GET /health`` (each waits for its probes' 2 s timeout) while 2,000 ``/health/live`` run beside them.

It prints, per run, errors (non-2xx other than /health's expected 503, or transport errors), p50/p99,
the server's threads and open descriptors before and after, and liveness p99 under (3) as a ratio to (1).

    python bench/service.py [--concurrency 50] [--requests 2000] [--health 500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time

import httpx

from trendlab.service.hung import HungServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def threads_and_fds(pid: int) -> tuple[int, int]:
    return len(os.listdir(f"/proc/{pid}/task")), len(os.listdir(f"/proc/{pid}/fd"))


async def load(base: str, path: str, n: int, concurrency: int, ok=(200,)) -> dict:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=30.0, limits=limits) as client:
        async def one():
            async with gate:
                t0 = time.perf_counter()
                try:
                    response = await client.get(path)
                    if response.status_code not in ok:
                        errors[str(response.status_code)] = errors.get(str(response.status_code), 0) + 1
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                latencies.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        seconds = time.perf_counter() - t0
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return {"path": path, "n": n, "errors": errors, "p50_ms": pick(0.5), "p99_ms": pick(0.99), "rps": n / seconds}


def show(label: str, result: dict) -> None:
    errors = sum(result["errors"].values())
    detail = f" {result['errors']}" if errors else ""
    print(f"  {label:<34} {result['n']:>5} requests  errors {errors}{detail}  p50 {result['p50_ms']:7.1f} ms  "
          f"p99 {result['p99_ms']:7.1f} ms  {result['rps']:7.0f} req/s")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--health", type=int, default=500)
    args = p.parse_args()

    hung = HungServer()
    port = free_port()
    address = f"127.0.0.1:{hung.port}"
    env = dict(os.environ, FLINK_JOBMANAGER_HOST="127.0.0.1", FLINK_JOBMANAGER_PORT=str(hung.port),
               KAFKA_BOOTSTRAP_SERVERS=address, MINIO_ENDPOINT=address, LOG_LEVEL="WARNING")
    server = subprocess.Popen([sys.executable, "-m", "trendlab.cli", "serve", "--port", str(port),
                               "--metrics-port", "0"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            print("the service did not start", file=sys.stderr)
            return 1
        asyncio.run(load(base, "/metrics", 50, 10))  # warm-up: the first Flink poll (2 s timeout), imports
        asyncio.run(load(base, "/health", 20, 10, ok=(503,)))
        time.sleep(2.5)
        print(f"trendlab serve (pid {server.pid}); Flink, Kafka and MinIO at {address}: accepts, never answers; "
              f"{args.concurrency} concurrent; load {os.getloadavg()[0]:.2f}")
        before = threads_and_fds(server.pid)
        print(f"  server threads/fds before: {before[0]} / {before[1]}")

        baseline = asyncio.run(load(base, "/health/live", args.requests, args.concurrency))
        show("1 baseline /health/live", baseline)
        for path in ("/health/live", "/metrics", "/trends"):
            show(f"2 {path}", asyncio.run(load(base, path, args.requests, args.concurrency)))

        async def mixed():
            return await asyncio.gather(
                load(base, "/health", args.health, args.concurrency, ok=(503,)),
                load(base, "/health/live", args.requests, args.concurrency),
            )

        health, live = asyncio.run(mixed())
        show("3 /health (hung parts, 503 wanted)", health)
        show("3 /health/live beside it", live)
        time.sleep(3)  # the last probe round times out and closes
        after = threads_and_fds(server.pid)
        print(f"  server threads/fds after:  {after[0]} / {after[1]}  (growth {after[0] - before[0]:+d} / "
              f"{after[1] - before[1]:+d}); hung connections still open: {hung.open} of {hung.accepted} accepted")
        ratio = live["p99_ms"] / baseline["p99_ms"] if baseline["p99_ms"] else float("nan")
        print(f"  liveness p99 beside 500 hung /health: {live['p99_ms']:.1f} ms = {ratio:.2f}x the idle baseline "
              f"({baseline['p99_ms']:.1f} ms)")
        total_errors = sum(sum(r["errors"].values()) for r in (baseline, health, live))
        return 0 if total_errors == 0 else 1
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
