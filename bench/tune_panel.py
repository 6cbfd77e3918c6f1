"""Live tuning panel: how long a redraw takes after a control moves, against a full replay.

    .venv/bin/python bench/tune_panel.py [--sample data/samples/long] [--repeat 3]

Builds the panel of notebook 02 (:class:`trendlab.workbench.TuningPanel`, a plotly ``FigureWidget``;
no frontend is needed to measure the Python side) on the long sample and moves its controls the way
an analyst would: the score, ratio, floor, count and author sliders, the keyword, the cooldown and
grouping sliders, and a window shape seen before (its counts are cached). Each move re-runs detection
and evaluation on the cached window counts and swaps the figure's data. A new window shape's first
move also aggregates windows once; it is reported on its own.

Prints the median and p90 redraw time next to a full replay of the same file (read + extract +
windows + detect) measured in this run, and the ratio. The bar: median redraw under 300 ms.
Exit status 1 when it is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trendlab.core.detect import DetectionParams  # noqa: E402
from trendlab.evaluate import load_labels  # noqa: E402
from trendlab.replay import load_stream, replay  # noqa: E402
from trendlab.workbench import TuningPanel, TuningSession  # noqa: E402

MOVES = [
    {"min_score": 4.5}, {"min_score": 5.0}, {"min_score": 6.0}, {"min_score": 5.5},
    {"min_ratio": 3.0}, {"min_ratio": 2.0}, {"baseline_floor": 0.5}, {"baseline_floor": 0.2},
    {"min_count": 6}, {"min_count": 4}, {"min_authors": 2}, {"min_authors": 3},
    {"cooldown_windows": 10}, {"cooldown_windows": 30}, {"group_cooccurrence": 0.1}, {"group_cooccurrence": 0.3},
    {"group_share": 0.3}, {"group_share": 0.15},
    {"baseline_windows": 20}, {"baseline_windows": 30},
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", default=str(ROOT / "data" / "samples" / "long"),
                        help="directory with posts.jsonl and labels.json (default: the long sample)")
    parser.add_argument("--repeat", type=int, default=3, help="full replays for the baseline (default 3)")
    args = parser.parse_args()
    sample = Path(args.sample)
    params = DetectionParams()

    replay(sample / "posts.jsonl", params)  # warm: worker processes, stop words
    full = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        replay(sample / "posts.jsonl", params)
        full.append(time.perf_counter() - t0)
    full_s = statistics.median(full)

    _, occ = load_stream(sample / "posts.jsonl")
    t0 = time.perf_counter()
    panel = TuningPanel(TuningSession(occ, load_labels(sample / "labels.json")), params)
    build_s = time.perf_counter() - t0

    times = []
    for move in MOVES:
        panel.set(**move)
        times.append(panel.last_redraw_s)
    keyword_times = []
    for kw in list(panel.keyword_box.options)[:6]:
        panel.set(keyword=kw)
        keyword_times.append(panel.last_redraw_s)
    panel.set(window="10m")
    new_shape_s = panel.last_redraw_s
    panel.set(window="6m")  # seen before: cached
    times.append(panel.last_redraw_s)
    panel.set(window="10m")
    times.append(panel.last_redraw_s)
    panel.set(window="6m")

    times.sort()
    median = statistics.median(times)
    p90 = times[int(0.9 * (len(times) - 1))]
    print(f"long sample: {len(occ.keywords):,} keywords, {occ.posts:,} posts")
    print(f"full replay (read + extract + windows + detect): {full_s * 1000:.0f} ms (median of {args.repeat})")
    print(f"panel built (first detection + figure): {build_s * 1000:.0f} ms")
    print(f"redraw after a control moves ({len(times)} moves): median {median * 1000:.0f} ms, p90 {p90 * 1000:.0f} ms "
          f"= {full_s / median:.1f}x faster than a full replay")
    print(f"redraw after the keyword changes (no detection): median {statistics.median(keyword_times) * 1000:.0f} ms")
    print(f"first move to a new window shape (aggregates its windows once): {new_shape_s * 1000:.0f} ms")
    ok = median < 0.3
    print(f"bar: median redraw < 300 ms: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
