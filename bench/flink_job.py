"""Flink job throughput and latency, next to the replay engine on the same posts.

    python bench/flink_job.py [--posts 300000 | --input posts.jsonl] [--skip-embedded] \
        [--latency-seconds 150 --latency-rate 200] [--checkpoint-ms 5000] [--conf KEY=VALUE ...]

1. generate a sample stream (``trendlab.samples``) with about ``--posts`` posts (or use ``--input``);
2. baseline: ``trendlab.replay`` on the file (same process);
3. embedded profile (PyFlink mini-cluster, file source, RocksDB): posts/s including start-up;
4. real stack (when up): produce everything to fresh topics (plus a watermark event a day later on
   every partition, so every window closes), deploy the job through REST (p = FLINK_PARALLELISM,
   RocksDB, exactly-once sinks, checkpoints on MinIO every ``--checkpoint-ms``) and print
   * end to end: RUNNING -> the last window committed to the counts topic (warm-up and the last
     exactly-once commit included),
   * sustained: the Kafka source's records read (REST metric ``records-consumed-total``, summed over
     subtasks) between 10 % and 90 % of the backlog, while downstream back-pressures it,
   * where the time goes: per-vertex busy / back-pressured ms per second from the REST API at half of
     the backlog;
   * the tail: last record read -> last window committed. The watermark event closes the last
     window/slide windows of every key in one watermark step of the global window aggregate, and no
     checkpoint (no exactly-once commit) completes during that step; a step longer than the checkpoint
     timeout fails the job, which restores the checkpoint before the event and takes the step again (see
     docs/flink-job.md, "A long watermark step"). A run whose last window is not committed within 900 s of the
     previous count fails naming each vertex's watermark and the job's restores instead of timing the wait;
   once per Python execution mode (``--python-modes process thread``), and then the **ceiling**: the same
   job shape over the same records with their keywords extracted *before* Kafka by the same parser and
   extractor (``<author DID>\\t<keyword>…``), split in SQL (``sql.presplit_view``: no Python per record);
   prints each job's ratio to the ceiling (the goal is >= 0.8);
5. latency: posts produced at a steady rate with their event time set to "now"; latency = when a
   window's count becomes visible (read_committed) minus the window's end. With exactly-once sinks it
   includes the watermark bound and up to one checkpoint interval.

``--conf`` passes Flink/table options to the job (e.g. ``table.exec.mini-batch.enabled=true``) to
measure a variant. Prints ratios against the replay baseline; asserts nothing.
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
from trendlab.core.detect import DetectionParams  # noqa: E402
from trendlab.env_defaults import parser_limits


def generate(out: Path, posts: int, rate: float) -> Path:
    from trendlab.samples import generate as gen

    hours = posts / (rate * 3600)
    gen(out, hours=hours, rate=rate, seed=5)
    return out / "posts.jsonl"


def bench_replay(path: Path, params: DetectionParams) -> tuple[float, int, str]:
    """Seconds, posts, and the last window end (ISO) of the replay engine's counts."""
    from trendlab.replay import replay

    t0 = time.perf_counter()
    result = replay(path, params, progress=False)
    seconds = time.perf_counter() - t0
    return seconds, len(result.posts), result.counts["window_end"].max().strftime("%Y-%m-%dT%H:%M:%SZ")


def bench_embedded(path: Path, params: DetectionParams, settings: Settings):
    from trendlab.flink.job import run_embedded

    with tempfile.TemporaryDirectory() as out:
        return run_embedded(path, out, params, settings)


def where_time_goes(settings: Settings, job_id: str) -> list[str]:
    from trendlab.flink.rest_client import FlinkClient

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


def watermarks(settings: Settings, job_id: str) -> str:
    """Each vertex's lowest input watermark (REST ``/jobs/<id>/vertices/<v>/watermarks``), for a stalled run."""
    from trendlab.flink.rest_client import FlinkClient

    parts = []
    try:
        with FlinkClient.from_settings(settings) as client:
            for v in client.job(job_id).get("vertices", []):
                marks = [int(m["value"]) for m in client._request("GET", f"/jobs/{job_id}/vertices/{v['id']}/watermarks")]
                low = min(marks) if marks else None
                shown = (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(low / 1000))
                         if low is not None and 0 < low < 4e12 else str(low))
                parts.append(f"{v['name'][:40]}: {shown}")
    except Exception as exc:  # noqa: BLE001 — diagnostics only
        parts.append(f"(watermarks unavailable: {exc})")
    return "; ".join(parts)


def restarts(settings: Settings, job_id: str) -> str:
    """How often the job was restored from a checkpoint, and the latest failure (REST), for a stalled run:
    a watermark step that outlasts the checkpoint timeout fails the job, which restores the checkpoint
    before the step and takes the same step again."""
    from trendlab.flink.rest_client import FlinkClient

    try:
        with FlinkClient.from_settings(settings) as client:
            restored = client._request("GET", f"/jobs/{job_id}/checkpoints")["counts"].get("restored")
            entries = client._request("GET", f"/jobs/{job_id}/exceptions").get("exceptionHistory", {}).get("entries", [])
        latest = entries[0]["stacktrace"].splitlines()[0][:300] if entries else "none"
        return f"restored from a checkpoint {restored} time(s); latest failure: {latest}"
    except Exception as exc:  # noqa: BLE001 — diagnostics only
        return f"(restarts unavailable: {exc})"


def _source_metric(client, job_id: str, vertex_id: str) -> str | None:
    """The id of the Kafka source's records-read counter (names differ between connector versions)."""
    names = [m["id"] for m in client._request("GET", f"/jobs/{job_id}/vertices/{vertex_id}/subtasks/metrics")]
    for pattern in ("records-consumed-total", "Source__posts.numRecordsOut", "numRecordsOut"):
        hits = [n for n in names if n.endswith(pattern) and (pattern != "numRecordsOut" or "Source" in n)]
        if hits:
            return hits[0]
    return None


def source_progress(settings: Settings, job_id: str, samples: list[tuple[float, float]], done: threading.Event):
    """Poll the source's records read (summed over subtasks) once a second: (time, records)."""
    from trendlab.flink.rest_client import FlinkClient

    with FlinkClient.from_settings(settings) as client:
        vertex = next(v for v in client.job(job_id)["vertices"] if v["name"].startswith("Source"))
        metric = None
        while not done.is_set():
            try:
                metric = metric or _source_metric(client, job_id, vertex["id"])
                if metric:
                    m = client._request("GET", f"/jobs/{job_id}/vertices/{vertex['id']}/subtasks/metrics",
                                        params={"get": metric, "agg": "sum"})
                    if m and m[0].get("sum") is not None:
                        samples.append((time.perf_counter(), float(m[0]["sum"])))
            except Exception:  # the metric appears once the tasks run
                pass
            time.sleep(1.0)


def sustained_rate(samples: list[tuple[float, float]], total: float) -> float | None:
    """Records/s between 10 % and 90 % of ``total`` (leaves out warm-up and the tail)."""
    lo = next((s for s in samples if s[1] >= 0.1 * total), None)
    hi = next((s for s in samples if s[1] >= 0.9 * total), None)
    if lo is None or hi is None or hi[0] <= lo[0]:
        return None
    return (hi[1] - lo[1]) / (hi[0] - lo[0])


def presplit_records(records):
    """The ceiling's input: every record with its keywords extracted *before* Kafka, by the same parser
    and extractor, with the post's content key and the volume row's empty keyword
    (``<author DID>\\t<content key>\\t<post hash>\\t\\t<keyword>\\t…``; a dead letter becomes an empty message). Same keys,
    timestamps and order, so both jobs read the same number of records into the same partitions."""
    import dataclasses

    from trendlab.core.extract import KeywordExtractor
    from trendlab.core.content import content_key
    from trendlab.core.cooccur import post_hash
    from trendlab.flink.sql import PRESPLIT_SEPARATOR, VOLUME_KEY
    from trendlab.core.models import PostData
    from trendlab.core.parse import Limits, MessageParser

    extractor, parser = KeywordExtractor(), MessageParser(parser_limits())
    out = []
    for r in records:
        post = None if r.malformed or r.dlq else parser(r.value)
        if post.__class__ is not PostData:
            out.append(r if r.dlq else dataclasses.replace(r, value=b""))
            continue
        keywords = extractor.extract(post.text, post.langs)
        fields = [post.author_did, content_key(keywords, post.author_did), str(post_hash(post.author_did, keywords)),
                  VOLUME_KEY, *keywords]
        out.append(dataclasses.replace(r, value=PRESPLIT_SEPARATOR.join(fields).encode()))
    return out


def run_deployed(label: str, records, posts: int, params: DetectionParams, settings: Settings, last_end_iso: str,
                 extra_args: list[str]) -> dict:
    """Produce ``records`` to fresh topics, deploy the job (``extra_args`` for the job's ``main``), wait
    for the last window; returns end-to-end and sustained posts/s and the per-vertex profile."""
    from trendlab.flink.deploy import deploy_job, stop_job
    from trendlab.kafka import advance_watermark, consume, delete_topics, ensure_topics, job_topics, send_records

    suffix = uuid.uuid4().hex[:8]
    settings = settings.replace(
        kafka_topic_posts=f"bench-posts-{suffix}", kafka_topic_trends=f"bench-counts-{suffix}",
        kafka_topic_alerts=f"bench-alerts-{suffix}", kafka_topic_dead_letter=f"bench-dlq-{suffix}",
    )
    ensure_topics(settings, job_topics(settings))
    try:
        produced = send_records(settings, records, settings.kafka_topic_posts, progress=False)
        last_ts = max(r.timestamp_ms for r in records)
        # close every window: a non-post event a day later on every partition moves the watermark
        advance_watermark(settings, settings.kafka_topic_posts, last_ts + 86_400_000)
        print(f"[{label}] produced {produced.sent:,} records in {produced.seconds:.1f}s; "
              f"the last window ends {last_end_iso}")
        t0 = time.perf_counter()
        job_id = deploy_job(settings, params, extra_args=extra_args, wait_running=False)
        try:  # a job that cannot start (its tasks fail and restart) must not keep the slots after the bench
            from trendlab.flink.rest_client import FlinkClient

            with FlinkClient.from_settings(settings, timeout=60.0) as client:
                client.wait_until_running(job_id, timeout=300)
        except BaseException:
            stop_job(settings, job_id, savepoint=False)
            raise
        t_running = time.perf_counter()
        profile: list[str] = []
        samples: list[tuple[float, float]] = []
        done = threading.Event()
        threading.Thread(target=source_progress, args=(settings, job_id, samples, done), daemon=True).start()

        def sample_metrics():
            while not done.is_set() and (not samples or samples[-1][1] < 0.5 * produced.sent):
                time.sleep(1)
            if not done.is_set():
                profile.extend(where_time_goes(settings, job_id))

        threading.Thread(target=sample_metrics, daemon=True).start()
        try:
            for value in consume(settings, settings.kafka_topic_trends, from_beginning=True, timeout=900):
                if json.loads(value)["window_end"] >= last_end_iso:
                    break
            else:  # 900 s without a committed count: no rate to report (it would time the wait)
                raise RuntimeError(f"[{label}] the last window ({last_end_iso}) was not committed within 900 s "
                                   f"of the previous count; watermarks per vertex: {watermarks(settings, job_id)}; "
                                   f"{restarts(settings, job_id)}")
            t_done = time.perf_counter()
            done.set()
            sustained = sustained_rate(samples, produced.sent)
            # the tail: from the last record read to the last window committed. The watermark event closes
            # the last window/slide windows of every key at once, in one watermark step of the global window
            # aggregate, and no checkpoint (so no exactly-once commit) completes until that step is done
            read_all = next((t for t, n in samples if n >= produced.sent), None)
            result = {
                "deploy_s": t_running - t0, "end_to_end": posts / (t_done - t_running),
                "seconds": t_done - t_running,
                # records read per second; the records are the posts (and a few malformed messages)
                "sustained": sustained * posts / produced.sent if sustained else None,
                "profile": profile, "settings": settings, "job_id": job_id,
                "tail_s": t_done - read_all if read_all else None,
            }
            print(f"[{label}] deploy (REST upload/run until all tasks RUNNING): {result['deploy_s']:.1f}s; last window "
                  f"committed {result['seconds']:.1f}s after RUNNING = {result['end_to_end']:,.0f} posts/s end to end"
                  + (f"; sustained {result['sustained']:,.0f} posts/s" if sustained else "")
                  + (f"; the tail (last record read -> last window committed) {result['tail_s']:.1f}s"
                     if result["tail_s"] is not None else ""))
            print(f"[{label}] where the time goes (avg over subtasks, sampled at half of the backlog):")
            print("\n".join(profile) or "  (run finished before the sample)")
            return result
        finally:
            done.set()
            stop_job(settings, job_id, savepoint=False)
    finally:
        delete_topics(settings, job_topics(settings))


def bench_kafka(path: Path, params: DetectionParams, settings: Settings, latency_seconds: float, latency_rate: float,
                replay_rate: float, last_end_iso: str, extra_conf: list[str], modes: list[str], ceiling: bool = True):
    """The deployed job (once per Python execution mode in ``modes``) and, in the same run, its ceiling
    (the same job shape over keywords extracted before Kafka, no Python per record): prints each and
    the job's ratio to the ceiling."""
    from trendlab.kafka import read_stream

    records, stats = read_stream(path)
    extra = [a for item in extra_conf for a in ("--conf", item)]
    jobs = {}
    for mode in modes:
        job = jobs[mode] = run_deployed(f"job, python {mode} mode", records, stats.posts, params, settings,
                                        last_end_iso, [*extra, "--python-mode", mode])
        print(f"job ({mode} mode): end to end {job['end_to_end']:,.0f} posts/s (ratio to replay "
              f"{job['end_to_end'] / replay_rate:.3f})" + (
                  f", sustained {job['sustained']:,.0f} posts/s (ratio to replay {job['sustained'] / replay_rate:.3f})"
                  if job["sustained"] else ""))
    if ceiling:
        t0 = time.perf_counter()
        split = presplit_records(records)
        print(f"ceiling input: {len(split):,} records extracted before Kafka in {time.perf_counter() - t0:.1f}s")
        top = run_deployed("ceiling", split, stats.posts, params, settings, last_end_iso, [*extra, "--presplit"])
        print(f"ceiling (same job shape, keywords split in SQL, no Python per record): end to end "
              f"{top['end_to_end']:,.0f} posts/s" + (f", sustained {top['sustained']:,.0f}" if top["sustained"] else ""))
        for mode, job in jobs.items():
            line = f"RATIO job ({mode} mode) / ceiling: end to end {job['end_to_end'] / top['end_to_end']:.2f}"
            if job["sustained"] and top["sustained"]:
                line += f", sustained {job['sustained'] / top['sustained']:.2f}"
            print(line + " (goal >= 0.8)")
    if latency_seconds > 0:
        print(latency_run(records, params, settings, latency_seconds, latency_rate, extra))


def latency_run(records, params, settings, seconds, rate, extra) -> str:
    from trendlab.flink.deploy import deploy_job, stop_job
    from trendlab.kafka import delete_topics, ensure_topics, job_topics

    suffix = uuid.uuid4().hex[:8]
    settings = settings.replace(
        kafka_topic_posts=f"bench-posts-{suffix}", kafka_topic_trends=f"bench-counts-{suffix}",
        kafka_topic_alerts=f"bench-alerts-{suffix}", kafka_topic_dead_letter=f"bench-dlq-{suffix}",
    )
    ensure_topics(settings, job_topics(settings))
    job_id = deploy_job(settings, params, extra_args=extra)
    try:
        return latency(settings, records, seconds, rate, params)
    finally:
        stop_job(settings, job_id, savepoint=False)
        delete_topics(settings, job_topics(settings))


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
    p.add_argument("--checkpoint-ms", type=int, default=5000, help="checkpoint interval (exactly-once commit)")
    p.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE", help="extra Flink option for the job")
    p.add_argument("--no-ceiling", action="store_true", help="skip the ceiling (keywords extracted before Kafka)")
    p.add_argument("--python-modes", nargs="+", default=["process", "thread"], choices=["process", "thread"],
                   help="run the job once per Python execution mode (same posts, same run)")
    args = p.parse_args()

    settings = Settings.from_env().replace(checkpoint_interval_ms=args.checkpoint_ms)
    params = DetectionParams(window=args.window, slide=args.slide)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.input) if args.input else generate(Path(tmp), args.posts, args.rate)
        replay_s, posts, last_end_iso = bench_replay(path, params)
        print(f"replay (baseline): {posts:,} posts in {replay_s:.1f}s = {posts / replay_s:,.0f} posts/s")
        if not args.skip_embedded:
            result = bench_embedded(path, params, settings)
            print(f"embedded Flink (p={settings.flink_parallelism}, RocksDB, incl. start-up): {result.summary()}")
            print(f"  ratio embedded / replay: {result.posts_per_second / (posts / replay_s):.3f}")
        if not args.embedded_only:
            from trendlab.flink.rest_client import FlinkClient, FlinkError

            try:
                with FlinkClient.from_settings(settings, timeout=3) as client:
                    client.overview()
            except FlinkError as exc:
                print(f"real stack: skipped ({exc})")
                return 0
            bench_kafka(path, params, settings, args.latency_seconds, args.latency_rate, posts / replay_s, last_end_iso,
                        args.conf, args.python_modes, ceiling=not args.no_ceiling)
    return 0


if __name__ == "__main__":
    sys.exit(main())
