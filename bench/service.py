"""Load on the REST service with its dependencies hung: errors, p50/p99, the server's threads and fds.

A real ``trendlab serve`` runs in a child process whose Flink, Kafka and MinIO addresses all point at a
local socket that accepts connections and never answers (a hung dependency). Then, at 50 concurrent:

1. baseline: 2,000 ``GET /health/live`` with nothing else going on;
2. 2,000 each of ``/health/live``, ``/metrics`` and ``/trends``;
3. 500 ``GET /health`` (each waits for its probes' 2 s timeout) while 2,000 ``/health/live`` run beside them.

It prints, per run, errors (non-2xx other than /health's expected 503, or transport errors), p50/p99,
the server's threads and open descriptors before and after, and liveness p99 under (3) as a ratio to (1).

4. The trend board: a served app (its own process) is fed ``--board-alerts`` distinct alerts as the
   Kafka follower feeds them (raw records, one new trend each), once with the default bound
   (``TRENDLAB_BOARD_MAX_TRENDS``) and once with a bound of that many alerts (the board as it was before
   it had one); it prints the process's RSS before and after feeding, and ``/trends`` p50/p99 — and the
   bounded board's latency as a ratio to the unbounded one's.

5. Moderation: a served app whose board holds ``--moderation-trends`` trends in approval mode with a deny
   list of ``--deny-entries`` entries, against the same board open and without a deny list (the baseline,
   same run): ``/trends`` (all languages, ``ja``), ``/moderation/trends``, ``/moderation/pending``,
   approve/reject and deny-list changes (one at a time), and ``/trends`` right after a decision — as
   ratios to the baseline's ``/trends`` p50. The moderation state is in memory: the Kafka write of a
   decision (``acks=all``) is not in these figures.

    python bench/service.py [--concurrency 50] [--requests 2000] [--health 500] [--board-alerts 200000]
                            [--moderation-trends 1000] [--deny-entries 1000] [--only-board | --only-moderation]
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
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test fixture: a dependency that hangs
from hung_server import HungServer  # noqa: E402
from trendlab.service.probes import wait_until_live


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def threads_and_fds(pid: int, over_s: float = 5.0) -> tuple[int, int]:
    """The server's threads and open descriptors, each the least seen over ``over_s`` seconds: the trend
    follower's retry against the hung "Kafka" holds a selector and a socket for 2 s of every 4, which is
    a cycle, not growth."""
    seen = []
    deadline = time.monotonic() + over_s
    while True:
        seen.append((len(os.listdir(f"/proc/{pid}/task")), len(os.listdir(f"/proc/{pid}/fd"))))
        if time.monotonic() >= deadline:
            return min(t for t, _ in seen), min(f for _, f in seen)
        time.sleep(0.1)


class Connection:
    """One keep-alive HTTP/1.1 connection over asyncio streams: the load generator is a plain socket client,
    so on a small machine the measured latency is the server's, not a Python HTTP client's (httpx at 50
    concurrent spent more CPU than the server it measured: p99 ~1.3 s for a route wrk measured at 20 ms)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def get(self, path: str, method: str = "GET", headers: dict[str, str] | None = None,
                  body: bytes = b"") -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        if body or method != "GET":
            extra += f"Content-Length: {len(body)}\r\n"
        self.writer.write(f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{extra}\r\n".encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        if "content-length" not in headers:
            raise ValueError(f"{path}: response without Content-Length")
        await self.reader.readexactly(int(headers["content-length"]))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


async def load(base: str, path: str, n: int, concurrency: int, ok=(200,), timeout: float = 30.0,
               method: str = "GET", headers: dict[str, str] | None = None, bodies=None) -> dict:
    """``n`` GETs of ``path`` over ``concurrency`` keep-alive connections; errors are non-``ok`` statuses,
    transport errors and requests slower than ``timeout``. ``bodies(i)``: the body of request ``i``."""
    host, port = base.removeprefix("http://").split(":")
    latencies: list[float] = []
    errors: dict[str, int] = {}
    left = n

    async def worker():
        nonlocal left
        conn = Connection(host, int(port))
        try:
            while left > 0:
                left -= 1
                body = bodies(left) if bodies else b""
                t0 = time.perf_counter()
                try:
                    status = await asyncio.wait_for(conn.get(path, method, headers, body), timeout)
                    if status not in ok:
                        errors[str(status)] = errors.get(str(status), 0) + 1
                except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.TimeoutError) as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    await conn.close()
                latencies.append(time.perf_counter() - t0)
        finally:
            await conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, n))))
    seconds = time.perf_counter() - t0
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return {"path": path, "n": n, "errors": errors, "p50_ms": pick(0.5), "p99_ms": pick(0.99),
            "max_ms": latencies[-1] * 1000, "rps": n / seconds}


#: the child of section 4: an app whose board is fed N distinct alerts, then served on a port
BOARD_SERVER = """
import sys, time
from datetime import datetime, timedelta, timezone
import uvicorn
from trendlab.config import Settings
from trendlab.core.models import TrendAlert
from trendlab.service import create_app

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

port, n, max_trends = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
app = create_app(Settings.from_env(board_max_trends=max_trends), follow_trends=False)
board = app.state.board
t0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
before = rss_mb()
started = time.perf_counter()
for i in range(n):
    end = t0 + timedelta(seconds=i // 100)
    board.add_record("alerts", TrendAlert(keyword=f"keyword-{i}", window_start=end - timedelta(minutes=10),
                                          window_end=end, count=10 + i % 97, unique_authors=5, baseline=0.5,
                                          score=7.5, related_keywords=[f"related-{i}", f"other-{i}"],
                                          language="en").to_json().encode())
fed_s = time.perf_counter() - started
print(f"{before:.0f} {rss_mb():.0f} {len(board)} {board.evicted} {fed_s:.1f}", flush=True)
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
"""


def board_run(n: int, max_trends: int, concurrency: int, requests: int, env: dict) -> dict:
    """Section 4 for one bound: RSS before/after feeding ``n`` alerts, then ``/trends`` under load."""
    port = free_port()
    child = subprocess.Popen([sys.executable, "-c", BOARD_SERVER, str(port), str(n), str(max_trends)], env=env,
                             stdout=subprocess.PIPE, text=True)
    try:
        before, after, kept, evicted, fed_s = child.stdout.readline().split()
        base = f"http://127.0.0.1:{port}"
        wait_until_live(base)
        first = asyncio.run(load(base, "/trends", 1, 1))  # the ranking after a change: computed once
        asyncio.run(load(base, "/trends", 20, 5))  # warm-up
        single = asyncio.run(load(base, "/trends", requests, 1))
        result = asyncio.run(load(base, "/trends", requests, concurrency))
        result.update(first_ms=first["max_ms"], single_p50_ms=single["p50_ms"], single_p99_ms=single["p99_ms"], rss_before=float(before), rss_after=float(after), kept=int(kept), evicted=int(evicted),
                      fed_s=float(fed_s), max_trends=max_trends)
        return result
    finally:
        _stop(child)


#: the child of section 5: a board of N trends in approval mode with a deny list of D entries (a third of
#: them phrases, a tenth patterns), the moderation state in memory (no Kafka: the service's own cost)
MODERATION_SERVER = """
import sys
from datetime import datetime, timedelta, timezone
import uvicorn
from trendlab.config import Settings
from trendlab.core.models import TrendAlert
from trendlab.service import create_app

port, n, deny_n, deny_path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
with open(deny_path, "w") as f:
    for i in range(deny_n):
        f.write(f"/spam{i}\\\\d+x/\\n" if i % 10 == 0 else (f"bad phrase {i}\\n" if i % 3 == 0 else f"badword{i}\\n"))
settings = Settings.from_env(api_token="bench-token", moderation="approval" if deny_n else "open",
                             deny_list=deny_path if deny_n else None, board_max_trends=max(n, 1))
app = create_app(settings, follow_trends=False)
t0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
for i in range(n):
    end = t0 + timedelta(seconds=i // 100)
    app.state.board.add_record("alerts", TrendAlert(
        keyword=f"keyword-{i}", window_start=end - timedelta(minutes=10), window_end=end, count=10 + i % 97,
        unique_authors=5, baseline=0.5, score=7.5, related_keywords=[f"related-{i}", f"other word {i}"],
        topic=f"keyword-{i} story", display_name=f"Keyword-{i} Story",
        languages={("ja" if i % 4 == 0 else "en"): 1.0}).to_json().encode())
print("fed", flush=True)
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
"""


def moderation_section(args) -> int:
    """Section 5: the moderation routes beside /trends of a board without moderation (same run)."""
    import hashlib
    import tempfile

    n, deny_n = args.moderation_trends, args.deny_entries
    requests = max(200, args.requests // 4)
    auth = {"Authorization": "Bearer bench-token"}
    json_auth = {**auth, "Content-Type": "application/json"}
    ids = [hashlib.sha256(f"keyword-{i}".encode()).hexdigest()[:16] for i in range(n)]
    print(f"5 moderation: a board of {n:,} trends, approval mode, a deny list of {deny_n:,} entries "
          f"(words, phrases, a tenth /patterns/), state in memory; baseline: the same board, open, no deny list; "
          f"{args.concurrency} concurrent")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, entries in (("baseline", 0), ("moderated", deny_n)):
            port = free_port()
            child = subprocess.Popen([sys.executable, "-c", MODERATION_SERVER, str(port), str(n), str(entries),
                                      f"{tmp}/deny-{label}.txt"], env=dict(os.environ, LOG_LEVEL="WARNING"),
                                     stdout=subprocess.PIPE, text=True)
            try:
                child.stdout.readline()
                base = f"http://127.0.0.1:{port}"
                wait_until_live(base)
                first = asyncio.run(load(base, "/trends?lang=all", 1, 1))
                results[label, "first"] = first
                asyncio.run(load(base, "/trends?lang=all", 20, 5))
                results[label, "/trends"] = asyncio.run(load(base, "/trends?lang=all", requests, args.concurrency))
                results[label, "/trends?lang=ja"] = asyncio.run(load(base, "/trends?lang=ja", requests, args.concurrency))
                if label == "baseline":
                    continue
                results[label, "/moderation/trends"] = asyncio.run(
                    load(base, "/moderation/trends", requests // 4, args.concurrency, headers=auth))
                results[label, "/moderation/pending"] = asyncio.run(
                    load(base, "/moderation/pending", requests // 4, args.concurrency, headers=auth))
                decisions = min(requests, n)
                results[label, "approve/reject"] = asyncio.run(load(
                    base, "/moderation/approve", decisions, 1, method="POST", headers=json_auth,
                    bodies=lambda i: f'{{"id": "{ids[i % n]}", "moderator": "bench"}}'.encode()))
                # after every decision the board's rows are decorated again: /trends right after one
                after = []
                for i in range(20):
                    asyncio.run(load(base, "/moderation/reject", 1, 1, method="POST", headers=json_auth,
                                     bodies=lambda _i, i=i: f'{{"id": "{ids[i]}"}}'.encode()))
                    after.append(asyncio.run(load(base, "/trends?lang=all", 1, 1))["max_ms"])
                results[label, "after"] = sorted(after)
                results[label, "deny"] = asyncio.run(load(
                    base, "/moderation/deny", 50, 1, method="POST", headers=json_auth,
                    bodies=lambda i: f'{{"add": ["benchword{i}"]}}'.encode()))
            finally:
                _stop(child)
    for (label, route), r in results.items():
        if isinstance(r, dict) and route != "first":
            show(f"5 {route} ({label})", r)
    base_p50 = results["baseline", "/trends"]["p50_ms"]
    mod = results["moderated", "/trends"]
    print(f"  /trends p50 moderated / baseline: {mod['p50_ms']:.1f} / {base_p50:.1f} ms = {mod['p50_ms'] / base_p50:.2f}x; "
          f"first /trends (rows decorated) {results['moderated', 'first']['max_ms']:.1f} / "
          f"{results['baseline', 'first']['max_ms']:.1f} ms")
    after = results["moderated", "after"]
    print(f"  /trends right after a decision (rows decorated again): median {after[len(after) // 2]:.1f} ms, "
          f"max {after[-1]:.1f} ms = {after[len(after) // 2] / base_p50:.1f}x the baseline p50")
    for route in ("/moderation/trends", "/moderation/pending", "approve/reject", "deny"):
        r = results["moderated", route]
        print(f"  {route}: p50 {r['p50_ms']:.1f} ms = {r['p50_ms'] / base_p50:.1f}x the baseline /trends p50")
    errors = sum(sum(r["errors"].values()) for r in results.values() if isinstance(r, dict))
    return 0 if errors == 0 else 1


def show(label: str, result: dict) -> None:
    errors = sum(result["errors"].values())
    detail = f" {result['errors']}" if errors else ""
    print(f"  {label:<34} {result['n']:>5} requests  errors {errors}{detail}  p50 {result['p50_ms']:7.1f} ms  "
          f"p99 {result['p99_ms']:7.1f} ms  max {result['max_ms']:7.1f} ms  {result['rps']:7.0f} req/s")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--health", type=int, default=500)
    p.add_argument("--board-alerts", type=int, default=200_000)
    p.add_argument("--moderation-trends", type=int, default=1000, help="section 5: trends on the board")
    p.add_argument("--deny-entries", type=int, default=1000, help="section 5: deny-list entries")
    p.add_argument("--only-board", action="store_true", help="run section 4 only")
    p.add_argument("--only-moderation", action="store_true", help="run section 5 only")
    args = p.parse_args()
    if args.only_board:
        return board_section(args)
    if args.only_moderation:
        return moderation_section(args)

    hung = HungServer()
    port = free_port()
    address = f"127.0.0.1:{hung.port}"
    env = dict(os.environ, FLINK_JOBMANAGER_HOST="127.0.0.1", FLINK_JOBMANAGER_PORT=str(hung.port),
               KAFKA_BOOTSTRAP_SERVERS=address, MINIO_ENDPOINT=address, LOG_LEVEL="WARNING")
    server = subprocess.Popen([sys.executable, "-m", "trendlab.cli", "serve", "--port", str(port),
                               "--metrics-port", "0"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_live(base):
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
        time.sleep(12)  # the last probe round times out and closes; idle threadpool workers exit after 10 s
        after = threads_and_fds(server.pid)
        print(f"  server threads/fds after:  {after[0]} / {after[1]}  (growth {after[0] - before[0]:+d} / "
              f"{after[1] - before[1]:+d}); hung connections still open: {hung.open} of {hung.accepted} accepted")
        ratio = live["p99_ms"] / baseline["p99_ms"] if baseline["p99_ms"] else float("nan")
        print(f"  liveness p99 beside 500 hung /health: {live['p99_ms']:.1f} ms = {ratio:.2f}x the idle baseline "
              f"({baseline['p99_ms']:.1f} ms)")
        total_errors = sum(sum(r["errors"].values()) for r in (baseline, health, live))
        return board_section(args) or moderation_section(args) or (0 if total_errors == 0 else 1)
    finally:
        _stop(server)


def _stop(process: subprocess.Popen) -> None:
    """Stop a served child as an operator would (SIGTERM), killing it after 10 s."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


def board_section(args) -> int:
    from trendlab.config import Settings

    env = dict(os.environ, LOG_LEVEL="WARNING")
    bound = Settings.from_env().board_max_trends
    n = args.board_alerts
    requests = max(200, args.requests // 4)
    print(f"4 the trend board: {n:,} distinct alerts fed, then {requests} GET /trends?limit=50 at "
          f"{args.concurrency} concurrent")
    runs = {}
    for label, max_trends in (("bounded", bound), ("unbounded", max(n, 1))):
        r = runs[label] = board_run(n, max_trends, args.concurrency, requests, env)
        show(f"4 /trends, {label} (max {max_trends:,})", r)
        print(f"    RSS {r['rss_before']:.0f} MB before, {r['rss_after']:.0f} MB after {n:,} alerts "
              f"(+{r['rss_after'] - r['rss_before']:.0f} MB); {r['kept']:,} trends kept, {r['evicted']:,} evicted; "
              f"fed in {r['fed_s']:.1f} s; first /trends after the change {r['first_ms']:.1f} ms, then one at a time: p50 {r['single_p50_ms']:.1f} ms, "
              f"p99 {r['single_p99_ms']:.1f} ms")
    b, u = runs["bounded"], runs["unbounded"]
    print(f"  first /trends after a change (the ranking is recomputed), bounded / unbounded: {b['first_ms']:.1f} / "
          f"{u['first_ms']:.1f} ms = {b['first_ms'] / u['first_ms']:.4f}x")
    print(f"  /trends one at a time, p50 bounded / unbounded: {b['single_p50_ms']:.1f} / {u['single_p50_ms']:.1f} ms = "
          f"{b['single_p50_ms'] / u['single_p50_ms']:.3f}x; RSS growth {b['rss_after'] - b['rss_before']:.0f} / "
          f"{u['rss_after'] - u['rss_before']:.0f} MB")
    return 0 if not b["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
