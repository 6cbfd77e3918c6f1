"""Flink job throughput and latency, next to the replay engine on the same posts.

    python bench/flink_job.py [--posts 300000] [--embedded-only] [--latency-seconds 60 --latency-rate 200]

1. generate a sample stream (``trendlab.samples``) with about ``--posts`` posts;
2. baseline: ``trendlab.replay`` on the file (same process);
3. embedded profile (PyFlink mini-cluster, file source, RocksDB): posts/s including start-up;
4. real stack (when up): produce everything to fresh topics, deploy the job (p = FLINK_PARALLELISM) and
   time until the last closed window is committed to the counts topic -> sustained posts/s through
   Kafka -> job -> Kafka; the per-operator busy / back-pressured time from the REST API says where the
   time goes;
5. latency: posts produced at a steady rate with their event time set to "now"; latency = when a
   window's count becomes visible (read_committed) minus the window's end. With exactly-once sinks it
   includes up to one checkpoint interval.

Prints ratios against the replay baseline; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trendlab.config import Settings  # noqa: E402
from trendlab.detect import DetectionParams  # noqa: E402


def generate(out: Path, posts: int, rate: float) -> Path:
    from trendlab.samples import generate as gen

    hours = posts / (rate * 3600)
    gen(out, hours=hours, rate=rate, seed=5)
    return out / "posts.jsonl"


def bench_replay(path: Path, params: DetectionParams) -> tuple[float, int]:
    from trendlab.replay import replay

    t0 = time.perf_counter()
    result = replay(path, params, progress=False)
    return time.perf_counter() - t0, len(result.posts)


def bench_embedded(path: Path, params: DetectionParams, settings: Settings):
    from trendlab.flink.job import run_embedded

    with tempfile.TemporaryDirectory() as out:
        return run_embedded(path, out, params, settings)


def where_time_goes(settings: Settings, job_id: str) -> list[str]:
    from trendlab.flink.client import FlinkClient

    lines = []
    with FlinkClient.from_settings(settings) as client:
        for v in client.job(job_id).get("vertices", []):
            try:
                m = client._request("GET", f"/jobs/{job_id}/vertices/{v['id']}/subtasks/metrics",
                                    params={"get": "busyTimeMsPerSecond,backPressuredTimeMsPerSecond,numRecordsInPerSecond",
                                            "agg": "avg"})
            except Exception as exc:  # metrics not ready
                lines.append(f"  {v['name'][:60]}: {exc}")
                continue
            got = {x["id"]: x.get("avg") for x in m}
            lines.append(
                f"  {v['name'][:70]:<70} busy {float(got.get('busyTimeMsPerSecond') or 0) / 10:5.1f}%  "
                f"backpressured {float(got.get('backPressuredTimeMsPerSecond') or 0) / 10:5.1f}%  "
                f"in {float(got.get('numRecordsInPerSecond') or 0):8.0f}/s"
            )
    return lines


def bench_kafka(path: Path, params: DetectionParams, settings: Settings, latency_seconds: float, latency_rate: float):
    from trendlab.flink.deploy import deploy_job, stop_job
    from trendlab.kafka import consume, ensure_topics, job_topics, produce, read_stream

    suffix = uuid.uuid4().hex[:8]
    settings = settings.replace(
        kafka_topic_posts=f"bench-posts-{suffix}", kafka_topic_trends=f"bench-counts-{suffix}",
        kafka_topic_alerts=f"bench-alerts-{suffix}", kafka_topic_dead_letter=f"bench-dlq-{suffix}",
    )
    ensure_topics(settings, job_topics(settings))
    produced = produce(settings, path, progress=False)
    records, _ = read_stream(path)
    watermark = max(r.timestamp_ms for r in records) - settings.max_out_of_orderness_s * 1000
    last_end = watermark // params.spec.slide_ms * params.spec.slide_ms
    last_end_iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(last_end / 1000))
    print(f"produced {produced.sent:,} records in {produced.seconds:.1f}s; waiting for window end {last_end_iso}")

    t0 = time.perf_counter()
    job_id = deploy_job(settings, None, params.window, params.slide)
    t_running = time.perf_counter()
    profile: list[str] = []
    seen = threading.Event()

    def sample_metrics():
        time.sleep(20)
        if not seen.is_set():
            profile.extend(where_time_goes(settings, job_id))

    threading.Thread(target=sample_metrics, daemon=True).start()
    try:
        for value in consume(settings, settings.kafka_topic_trends, from_beginning=True, timeout=600):
            if json.loads(value)["window_end"] >= last_end_iso:
                seen.set()
                break
        t_done = time.perf_counter()
        posts = produced.stats.posts
        print(f"Kafka -> job -> Kafka: {posts:,} posts in {t_done - t0:.1f}s from submit "
              f"({posts / (t_done - t0):,.0f} posts/s), {t_done - t_running:.1f}s from RUNNING "
              f"({posts / (t_done - t_running):,.0f} posts/s)")
        print("where the time goes (avg over subtasks, sampled 20 s into the run):")
        print("\n".join(profile) or "  (run finished before the sample)")
        if latency_seconds > 0:
            print(latency(settings, records, latency_seconds, latency_rate, params))
    finally:
        stop_job(settings, job_id, savepoint=False)


def latency(settings, records, seconds: float, rate: float, params: DetectionParams) -> str:
    """Produce posts stamped with the wall clock; measure window end -> count visible."""
    from trendlab.kafka import StreamRecord, consume, send_records

    n = int(seconds * rate)
    start = time.time()
    fresh = [StreamRecord(int((start + i / rate) * 1000), r.key, r.value) for i, r in enumerate(records[:n])]
    visible: dict[str, float] = {}
    stop = threading.Event()

    def watch():
        for value in consume(settings, settings.kafka_topic_trends, timeout=seconds + 120):
            end = json.loads(value)["window_end"]
            visible.setdefault(end, time.time())
            if stop.is_set() and len(visible) > 2:
                break

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    time.sleep(2)
    send_records(settings, fresh, settings.kafka_topic_posts, rate, progress=False)
    stop.set()
    watcher.join(timeout=params.spec.slide_ms / 1000 + settings.checkpoint_interval_ms / 1000 + 30)
    lat = []
    for end, t in visible.items():
        end_s = time.mktime(time.strptime(end, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
        if start < end_s < start + seconds:
            lat.append(t - end_s)
    if not lat:
        return "latency: no window closed during the latency phase (run longer than one slide)"
    return (f"latency (window end -> committed count), {len(lat)} windows at {rate:.0f} posts/s: "
            f"median {statistics.median(lat):.1f}s, max {max(lat):.1f}s "
            f"(checkpoint interval {settings.checkpoint_interval_ms / 1000:.0f}s, watermark bound "
            f"{settings.max_out_of_orderness_s}s)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--posts", type=int, default=300_000)
    p.add_argument("--rate", type=float, default=100.0, help="posts/s of the generated stream's event time")
    p.add_argument("--input", help="use this posts file instead of generating one")
    p.add_argument("--window", default="10m")
    p.add_argument("--slide", default="1m")
    p.add_argument("--embedded-only", action="store_true")
    p.add_argument("--skip-embedded", action="store_true")
    p.add_argument("--latency-seconds", type=float, default=0.0)
    p.add_argument("--latency-rate", type=float, default=200.0)
    args = p.parse_args()

    settings = Settings.from_env()
    params = DetectionParams(window=args.window, slide=args.slide)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.input) if args.input else generate(Path(tmp), args.posts, args.rate)
        replay_s, posts = bench_replay(path, params)
        print(f"replay (baseline): {posts:,} posts in {replay_s:.1f}s = {posts / replay_s:,.0f} posts/s")
        if not args.skip_embedded:
            result = bench_embedded(path, params, settings)
            print(f"embedded Flink (p={settings.flink_parallelism}, RocksDB, incl. start-up): {result.summary()}")
            print(f"  ratio embedded / replay: {result.posts_per_second / (posts / replay_s):.3f}")
        if not args.embedded_only:
            from trendlab.flink.client import FlinkClient, FlinkError

            try:
                with FlinkClient.from_settings(settings, timeout=3) as client:
                    client.overview()
            except FlinkError as exc:
                print(f"real stack: skipped ({exc})")
                return 0
            bench_kafka(path, params, settings, args.latency_seconds, args.latency_rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
