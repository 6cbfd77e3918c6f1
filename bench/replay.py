"""Replay engine: speed against a plain-Python reference, sweep cost, and detection quality.

    .venv/bin/python bench/replay.py [--long data/samples/long] [--seeds 101 202] [--rates 5 12]
        [--sections 1b 1c] [--day-stream /tmp/day]   (only these sections; the day's stream kept and reused)

Prints, all measured in this run:

1. full replay (parse + extract + windows + detect) on the long sample next to a plain single-process
   Python reference (json module, whitespace tokens, a dict of sets per window) over the same posts;
   the bar is a ratio >= 4;
1b. replay next to a bare Polars pipeline (``polars_counts``: read the JSON lines, lower-case, a regex
   for words, explode, ``group_by_dynamic`` with ``len`` and ``n_unique``) on the long sample and on a
   generated stream of ``--polars-posts`` (500k) posts, best of N, interleaved; the goal is >= 1.5x;
1c. memory at a day's volume: ``trendlab replay`` in a child process on a generated stream of
   ``--day-hours`` (24) at ``--day-rate`` (25) posts/s (2.2M posts): peak RSS and posts/s; the goal is
   < 2 GB (``--day-hours 0`` skips it: generating the stream alone takes minutes);
2. a 20-point sweep next to one replay; the bar is a ratio <= 3;
3. the shipped parameters (params.yaml) on the long sample and on streams generated with other seeds
   and rates than the training streams of bench/tune_defaults.py (seeds 101/202/303 at 1, 2, 4, 8, 15
   and 30 posts/s for 3 h and 0.02 posts/s for 12 h; generator version 2: campaigns, reply spam, a gap,
   bumps, mis-tagged posts, two-story minutes): the targets of trendlab.evaluate.TARGETS (recall >= 0.9, keyword precision >= 0.9, no
   decoy alert, median latency <= 2 slides).

Exit status 1 when a bar is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trendlab.params_files import load_params  # noqa: E402
from trendlab.evaluate import TARGETS, evaluate, load_labels  # noqa: E402
from trendlab.replay import replay  # noqa: E402
from trendlab.samples import generate  # noqa: E402
from trendlab.tune import tune  # noqa: E402


def reference_counts(path: Path, window_ms: int, slide_ms: int) -> dict:
    """The obvious single-process implementation: json, str.split, dict of sets."""
    n = window_ms // slide_ms
    authors: dict[tuple[str, int], set] = defaultdict(set)
    posts: dict[tuple[str, int], int] = defaultdict(int)
    with open(path) as fh:
        for line in fh:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            commit = ev.get("commit") or {}
            if ev.get("kind") != "commit" or commit.get("collection") != "app.bsky.feed.post" or commit.get("operation") != "create":
                continue
            t_ms = ev["time_us"] // 1000
            first = t_ms // slide_ms + 1
            for word in set(commit["record"]["text"].lower().split()):
                for e in range(first, first + n):
                    posts[(word, e)] += 1
                    authors[(word, e)].add(ev["did"])
    return {k: (posts[k], len(a)) for k, a in authors.items()}


def polars_counts(path: Path, window_ms: int, slide_ms: int):
    """The bare Polars pipeline a user could write in ten lines: read the JSON lines, lower-case, a regex
    for words, explode, sliding windows (``group_by_dynamic``, aligned to the epoch) with ``len`` and
    ``n_unique``. No stop words, URLs, mentions, CJK segmentation or detection: the speed baseline."""
    import polars as pl

    schema = {"did": pl.String, "time_us": pl.Int64, "kind": pl.String,
              "commit": pl.Struct({"operation": pl.String, "collection": pl.String,
                                   "record": pl.Struct({"text": pl.String})})}
    commit = pl.col("commit").struct
    words = commit.field("record").struct.field("text").str.to_lowercase().str.extract_all(r"#?\w+").list.unique()
    return (
        pl.scan_ndjson(path, schema=schema, ignore_errors=True)
        .filter((pl.col("kind") == "commit") & (commit.field("collection") == "app.bsky.feed.post")
                & (commit.field("operation") == "create"))
        .select(pl.col("did"), pl.from_epoch("time_us", time_unit="us").alias("t"), words.alias("word"))
        .explode("word", empty_as_null=True).drop_nulls("word").sort("t")
        .group_by_dynamic("t", every=f"{slide_ms}ms", period=f"{window_ms}ms", offset=f"{slide_ms - window_ms}ms",
                          group_by="word")
        .agg(pl.len().alias("count"), pl.col("did").n_unique().alias("unique_authors"))
        .collect()
    )


def against_polars(name: str, path: Path, params, runs: int) -> float:
    """Best-of-``runs`` replay and Polars pipeline on one file, interleaved (same load), and replay
    without the compiled kernels (``TRENDLAB_NATIVE=0``: the same rules in Python); prints the ratios."""
    from trendlab.core.kernels import native_module

    spec = params.spec
    t_replay = t_polars = t_python = float("inf")
    for _ in range(runs):
        result, t = timed(replay, path, params, progress=False)
        t_replay = min(t_replay, t)
        frame, t = timed(polars_counts, path, spec.window_ms, spec.slide_ms)
        t_polars = min(t_polars, t)
        if native_module() is not None:
            os.environ["TRENDLAB_NATIVE"] = "0"
            try:
                slow, t = timed(replay, path, params, progress=False)
            finally:
                del os.environ["TRENDLAB_NATIVE"]
            t_python = min(t_python, t)
            assert slow.counts.equals(result.counts), "replay without the kernels counted differently"
    ratio = t_polars / t_replay
    print(f"{name}: {len(result.posts):,} posts; Polars (read, lower, regex, explode, group_by_dynamic) "
          f"{t_polars:.2f} s ({len(frame):,} window counts); trendlab replay {t_replay:.2f} s "
          f"({len(result.counts):,} window counts; " + ", ".join(f"{k} {v:.2f}s" for k, v in result.seconds.items())
          + f"); best of {runs}")
    if t_python < float("inf"):
        print(f"   the same replay without the compiled kernels (TRENDLAB_NATIVE=0): {t_python:.2f} s "
              f"(kernels {t_python / t_replay:.2f}x faster; same counts); Polars / that: {t_polars / t_python:.2f}x")
    else:
        print("   (no compiled kernels installed: the rules ran in Python; `make install` with cargo builds them)")
    print(f"RATIO replay vs Polars ({name}): {ratio:.2f}x  (goal >= 1.5x: {'met' if ratio >= 1.5 else 'NOT met'})")
    return ratio


#: runs ``trendlab`` and prints the process's own peak resident memory (VmHWM: the peak of the image
#: after exec, which a fork's copy of the parent does not inflate, unlike ``ru_maxrss``)
_PEAK_WRAPPER = (
    "import re, sys\n"
    "from trendlab.cli import main\n"
    "rc = main(sys.argv[1:])\n"
    "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())\n"
    "print('PEAK_KB', hwm.group(1) if hwm else 0, file=sys.stderr)\n"
    "sys.exit(rc)\n"
)


def day_volume(hours: float, rate: float, params_path: str, stream: Path | None = None) -> tuple[float, float]:
    """``trendlab replay`` of a generated stream (``hours`` at ``rate`` posts/s) in a child process:
    the peak resident memory of its largest process (the replay itself, which holds the occurrences
    and counts, or one of its workers: each one's own VmHWM) and of the replay and its workers together
    (sampled every 0.2 s), and posts/s. Returns (the larger of those two peaks in MB, posts/s): the
    budget holds both."""
    import subprocess

    with tempfile.TemporaryDirectory() as tmp:
        day = stream or Path(tmp) / "day"
        t0 = time.perf_counter()
        if stream is not None and (day / "posts.jsonl").exists():  # generated by an earlier run: reused
            posts = 0  # the replay's report says how many
            print(f"reusing {day / 'posts.jsonl'} (generated earlier; --day-hours and --day-rate are not checked "
                  "against it)")
        else:
            summary = generate(day, hours=hours, rate=rate, seed=13, progress=False)
            posts = summary.posts
            print(f"generated {posts:,} posts ({hours:g} h at {rate:g} posts/s) in {time.perf_counter() - t0:.0f} s")
        cmd = [sys.executable, "-c", _PEAK_WRAPPER, "replay", str(day / "posts.jsonl"), "--out", str(Path(tmp) / "out")]
        if Path(params_path).exists():
            cmd += ["--params", params_path]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        tree_peak = worker_peak = 0.0
        while proc.poll() is None:  # the replay and its worker processes, every 0.2 s
            total, peaks = tree_memory_mb(proc.pid)
            tree_peak = max(tree_peak, total)
            worker_peak = max([worker_peak] + [mb for pid, mb in peaks.items() if pid != proc.pid])
            time.sleep(0.2)
        stdout, stderr = proc.communicate()
        seconds = time.perf_counter() - t0
        reported = re.search(r"^([\d,]+) posts from", stdout, re.M)
        posts = int(reported.group(1).replace(",", "")) if reported else posts
        if proc.returncode != 0:
            print(f"replay failed (exit {proc.returncode}): {stderr.strip().splitlines()[-1:]}")
            return 0.0, 0.0
        found = [line.split()[1] for line in stderr.splitlines() if line.startswith("PEAK_KB")]
        main_peak = int(found[-1]) / 1024 if found else 0.0
    peak_mb = max(main_peak, worker_peak)
    rate_out = posts / seconds
    print(f"replay of {posts:,} posts: {seconds:.1f} s = {rate_out:,.0f} posts/s; peak RSS {main_peak:,.0f} MB "
          f"the replay process, {worker_peak:,.0f} MB its largest worker, {tree_peak:,.0f} MB all of them together "
          "(sampled every 0.2 s)")
    print(f"RATIO peak RSS / 2 GB budget: {peak_mb / 2048:.2f} the largest process, {tree_peak / 2048:.2f} the replay "
          f"with its workers  (goal < 1: {'met' if max(peak_mb, tree_peak) < 2048 else 'NOT met'})")
    return max(peak_mb, tree_peak), rate_out


def tree_memory_mb(pid: int) -> tuple[float, dict[int, float]]:
    """Resident memory of ``pid`` and every process below it, in MB: (their sum now, each one's own
    peak so far, VmHWM), from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/statm") as fh:
                rss[int(entry)] = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, peaks, todo = 0, {}, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        try:
            with open(f"/proc/{p}/status") as fh:
                hwm = next((line.split()[1] for line in fh if line.startswith("VmHWM:")), "0")
            peaks[p] = int(hwm) / 1024
        except OSError:
            pass
        todo.extend(children.get(p, []))
    return total / 2**20, peaks


def load_note() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def quality_line(name: str, ev) -> tuple[str, bool]:
    misses = TARGETS.misses(ev)
    lat = "n/a" if ev.latency_median_slides is None else f"{ev.latency_median_slides:.1f}"
    p90 = "n/a" if ev.latency_p90_slides is None else f"{ev.latency_p90_slides:.1f}"
    return (
        f"{name:<34} recall {ev.recall:.2f} ({ev.detected}/{ev.trends})  precision {ev.keyword_precision:.2f}  "
        f"grouping {ev.grouping:.2f}  decoys {ev.decoy_alerts}  latency median {lat} p90 {p90} slides  "
        f"false/h {ev.false_alerts_per_hour:.2f}"
        f"  {'ok' if not misses else 'MISSED: ' + '; '.join(misses)}",
        not misses,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--long", default=str(ROOT / "data/samples/long"))
    ap.add_argument("--params", default=str(ROOT / "params.yaml"))
    ap.add_argument("--seeds", type=int, nargs="*", default=[101, 202, 303])
    ap.add_argument("--rates", type=float, nargs="*", default=[1.0, 2.0, 4.0, 8.0, 15.0, 30.0])
    ap.add_argument("--low-rate", type=float, default=0.02, help="3: a filtered feed's rate (0: skip)")
    ap.add_argument("--low-hours", type=float, default=12.0)
    ap.add_argument("--hours", type=float, default=3.0)
    ap.add_argument("--polars-posts", type=int, default=500_000, help="posts of the generated stream for 1b")
    ap.add_argument("--day-hours", type=float, default=24.0, help="1c: hours of the day-volume stream (0: skip)")
    ap.add_argument("--day-rate", type=float, default=25.0, help="1c: posts/s of the day-volume stream")
    ap.add_argument("--day-stream", type=Path, default=None,
                    help="1c: a directory for the day-volume stream, kept: generated into it when it has no "
                         "posts.jsonl, reused as it is when it has one")
    ap.add_argument("--sections", nargs="+", default=SECTIONS, choices=SECTIONS,
                    help="which sections to run (default: all); e.g. --sections 1b 1c")
    args = ap.parse_args()
    sections = set(args.sections)
    long_dir = Path(args.long)
    posts = long_dir / "posts.jsonl"
    params = load_params(args.params if Path(args.params).exists() else None)
    ok_all = True

    if "1" in sections:
        result, t_replay, ok = section_1(posts, params)
        ok_all &= ok
    elif sections & {"2", "3"}:  # what they compare with: one replay of the long sample, best of 3
        result, t_replay = min((timed(replay, posts, params, progress=False) for _ in range(3)), key=lambda r: r[1])

    if "1b" in sections:
        print(f"\n== 1b. replay vs a bare Polars pipeline ({load_note()})")
        ok_all &= against_polars("long sample", posts, params, 5) >= 1.5
        with tempfile.TemporaryDirectory() as tmp:
            stream = Path(tmp) / "500k"
            generate(stream, hours=args.polars_posts / (50 * 3600), rate=50, seed=9, progress=False)
            ok_all &= against_polars(f"generated, {args.polars_posts:,} posts at 50/s", stream / "posts.jsonl", params, 2) >= 1.5

    if args.day_hours > 0 and "1c" in sections:
        print(f"\n== 1c. memory at a day's volume ({load_note()})")
        ok_all &= day_volume(args.day_hours, args.day_rate, args.params, args.day_stream)[0] < 2048

    if "2" in sections:
        ok_all &= section_2(posts, long_dir, params, t_replay)
    if "3" in sections:
        ok_all &= section_3(args, long_dir, params, result)
    print("\nall bars met" if ok_all else "\nSOME BARS MISSED")
    return 0 if ok_all else 1


SECTIONS = ["1", "1b", "1c", "2", "3"]


def section_1(posts: Path, params):
    """1: full replay vs the plain-Python reference; returns (result, best time, bar met)."""
    spec = params.spec
    print(f"== 1. full replay vs plain-Python reference on {posts}")
    result, t_cold = timed(replay, posts, params, progress=False)  # loads dictionaries once per process
    t_ref = min(timed(reference_counts, posts, spec.window_ms, spec.slide_ms)[1] for _ in range(3))
    runs = [timed(replay, posts, params, progress=False) for _ in range(3)]
    result, t_replay = min(runs, key=lambda r: r[1])
    ref = reference_counts(posts, spec.window_ms, spec.slide_ms)
    ratio = t_ref / t_replay
    print(f"reference (json + split + dict of sets, 1 process): {t_ref:7.2f} s  ({len(ref):,} window counts; best of 3)")
    print(f"trendlab replay (parse+extract+windows+detect):     {t_replay:7.2f} s  ({len(result.counts):,} window counts; best of 3)")
    print(f"   first replay in a fresh process (loads MeCab and stop words, forks workers): {t_cold:.2f} s")
    print("   where the time goes: " + ", ".join(f"{k} {v:.2f}s" for k, v in result.seconds.items()))
    print(f"speed-up replay/reference: {ratio:.2f}x  (bar >= 4x: {'met' if ratio >= 4 else 'NOT met'})")
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big"
        generate(big, hours=3, rate=10, seed=7, progress=False)
        t_ref_big = timed(reference_counts, big / "posts.jsonl", spec.window_ms, spec.slide_ms)[1]
        res_big, t_big = timed(replay, big / "posts.jsonl", params, progress=False)
        print(f"at Bluesky-like volume (generated, 3 h at 10 posts/s, {len(res_big.posts):,} posts): reference "
              f"{t_ref_big:.2f} s, replay {t_big:.2f} s = {t_ref_big / t_big:.2f}x")
    return result, t_replay, ratio >= 4


def section_2(posts: Path, long_dir: Path, params, t_replay: float) -> bool:
    print("\n== 2. a 20-point sweep vs one replay")
    # 20 points around the region that matters (scores below ~4.5 alert on noise)
    grid = {"window": ["5m", "6m"], "min_ratio": [1.5, 2.0], "min_score": [4.5, 5.0, 5.5, 6.0, 6.5]}
    sweep, t_sweep = timed(tune, posts, long_dir / "labels.json", grid, params, progress=False)
    ratio = t_sweep / t_replay
    print(f"sweep of {len(sweep.table)} points: {t_sweep:.2f} s = {ratio:.2f}x one replay (bar <= 3x: "
          f"{'met' if ratio <= 3 else 'NOT met'})")
    return ratio <= 3


def section_3(args, long_dir: Path, params, result) -> bool:
    spec = params.spec
    ok_all = True
    print(f"\n== 3. shipped parameters ({args.params}) on streams they were not tuned on")
    print("   " + json.dumps(params.to_dict()))
    ev = evaluate(result.alerts, load_labels(long_dir / "labels.json"), spec.window_ms, spec.slide_ms)
    line, ok = quality_line(f"long sample ({long_dir.name})", ev)
    print(line)
    ok_all &= ok
    with tempfile.TemporaryDirectory() as tmp:
        streams = [(r, args.hours) for r in args.rates] + ([(args.low_rate, args.low_hours)] if args.low_rate else [])
        for seed in args.seeds:
            for rate, hours in streams:
                out = Path(tmp) / f"s{seed}-r{rate}"
                generate(out, hours=hours, rate=rate, seed=seed)
                res = replay(out / "posts.jsonl", params, progress=False)
                ev = evaluate(res.alerts, load_labels(out / "labels.json"), spec.window_ms, spec.slide_ms)
                line, ok = quality_line(f"seed {seed}, rate {rate:g}/s, {hours:g} h", ev)
                print(line)
                ok_all &= ok
    return ok_all


if __name__ == "__main__":
    sys.exit(main())
