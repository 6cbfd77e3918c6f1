"""Commands that run on this machine alone: ``samples generate``, ``replay``, ``evaluate``, ``tune``, ``review``.

Argument parsing and printing only; the work is done by the library module each command names.
"""

from __future__ import annotations

import argparse

from trendlab.cli.flags import add_min_event_time_flag
from trendlab.core.detect import DetectionParams
from trendlab.core.models import format_time
from trendlab.env_defaults import limits_from_flags
from trendlab.evaluate import evaluate
from trendlab.labels import load_labels
from trendlab.replay import replay, write_outputs
from trendlab.samples import generate
from trendlab.samples.plan import DEFAULT_START, GENERATOR_VERSION, GENERATOR_VERSIONS
from trendlab.tune import MAX_GRID_POINTS, _fmt, stream_paths, tune
from trendlab.workbench.review import labels_from_review, read_review, review_stream, write_labels, write_review


# -- samples (from trendlab.samples) ------------------------------------------------------------------

def cmd_generate(args: argparse.Namespace) -> int:
    summary = generate(args.out, hours=args.hours, rate=args.rate, seed=args.seed, start=args.start,
                       non_post_share=args.non_post_share, progress=None if not args.quiet else False,
                       version=args.generator_version, gaps=args.gaps)
    if not args.quiet:
        print(summary)
        for t in summary.trends:
            phrases = "".join(f' "{p}"' for p in t.phrases)
            print(f"  {t.id} {t.kind:<13} {t.language} {format_time(t.start)}..{format_time(t.end)} "
                  f"peak {t.peak_rate:.1f}/min {' '.join(t.keywords)}{phrases}")
        for d in summary.decoys:
            print(f"  {d.id} {d.kind:<13}    {format_time(d.start)}..{format_time(d.end)} {' '.join(d.keywords)}")
        for g in summary.gaps:
            print(f"  gap              {format_time(g.start)}..{format_time(g.end)} (no events)")
    return 0


def add_samples(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("samples", help="labelled synthetic Jetstream streams")
    ssub = p.add_subparsers(dest="samples_command", metavar="SUBCOMMAND")
    ssub.required = True
    g = ssub.add_parser("generate", help="write DIR/posts.jsonl (Jetstream JSON lines) and DIR/labels.json")
    g.add_argument("--out", required=True,
                   help="output directory (posts.jsonl + labels.json), or the posts file itself: NAME.jsonl, "
                        "or NAME.jsonl.gz to write it gzip-compressed (labels beside it)")
    g.add_argument("--hours", type=float, default=2.0, help="stream length in hours (default 2)")
    g.add_argument("--rate", type=float, default=5.0, help="mean background posts per second (default 5)")
    g.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    g.add_argument("--start", default=DEFAULT_START, help=f"stream start, ISO 8601 UTC (default {DEFAULT_START})")
    g.add_argument("--non-post-share", type=float, default=0.5,
                   help="share of events that are not posts: likes, follows, deletes... (default 0.5)")
    g.add_argument("--gaps", type=int, choices=(0, 1, 2), default=None,
                   help="whole-stream capture gaps of 2-20 minutes, labelled in labels.json "
                        "(default: 1 in a stream of 1.5 hours or more, else 0)")
    g.add_argument("--generator-version", type=int, choices=GENERATOR_VERSIONS, default=GENERATOR_VERSION,
                   help=f"{GENERATOR_VERSION} (default): with what the real network carries (campaigns, reply "
                        "spam, gaps, mis-tagged posts, hourly bumps, steady giants, stories); 1: the stream of "
                        "the committed samples in data/samples")
    g.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    g.set_defaults(func=cmd_generate)


# -- replay (from trendlab.replay) ----------------------------------------------------------------------------------------

def cmd_replay(args) -> int:
    result = replay(args.input, args.params, window=args.window, slide=args.slide, workers=args.workers,
                    limits=limits_from_flags(args.min_event_time))
    paths = write_outputs(result, args.out)
    print(result.summary())
    print(f"wrote {paths['counts']} and {paths['alerts']}")
    if "dead_letters" in paths:
        print(f"wrote {result.posts.malformed:,} dead letters to {paths['dead_letters']}")
    return 0


def add_replay(sub) -> None:
    p = sub.add_parser("replay", help="replay a stream file: window counts and trend alerts")
    p.add_argument("input", help="Jetstream or PostData JSON lines (.jsonl or .jsonl.gz)")
    p.add_argument("--window", help=f"window length, e.g. 10m (default: params file, else {DetectionParams.window})")
    p.add_argument("--slide", help="window slide, e.g. 1m (default: params file, else 1m)")
    p.add_argument("--params", help="params.yaml from `trendlab tune`")
    p.add_argument("--workers", type=int, default=None, help="extraction processes (default: all cores)")
    p.add_argument("--out", required=True, help="output directory")
    add_min_event_time_flag(p)
    p.set_defaults(func=cmd_replay)


# -- evaluate (from trendlab.evaluate) ----------------------------------------------------------------------------------------

def cmd_evaluate(args) -> int:
    from trendlab.params_files import load_params
    from trendlab.replay import read_alerts

    params = load_params(args.params, window=args.window, slide=args.slide)
    result = evaluate(read_alerts(args.alerts), load_labels(args.labels), params.spec.window_ms, params.spec.slide_ms)
    print(result.to_json() if args.json else result.summary())
    return 0


def add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="precision, recall, grouping and latency of alerts against labels")
    p.add_argument("--alerts", required=True, help="alerts.jsonl (from replay or the Flink job)")
    p.add_argument("--labels", required=True, help="labels.json")
    p.add_argument("--params", help="params.yaml the alerts were made with (window/slide)")
    p.add_argument("--window", help="window length of the alerts (default: params file, else the default window)")
    p.add_argument("--slide", help="slide of the alerts (default 1m)")
    p.add_argument("--json", action="store_true", help="print the whole evaluation as JSON (per trend too)")
    p.set_defaults(func=cmd_evaluate)


# -- tune (from trendlab.tune) ----------------------------------------------------------------------------------------

def cmd_tune(args) -> int:
    pairs = stream_paths(args.input, args.labels)
    result = tune([p for p, _ in pairs], [lab for _, lab in pairs], args.grid, args.params, workers=args.workers,
                  max_points=args.max_points, limits=limits_from_flags(args.min_event_time))
    params_path, table_path = result.write(args.out)
    cols = ["window", "slide", "baseline_floor", "min_ratio", "min_score", "min_authors", "recall",
            "keyword_precision", "latency_median_slides", "false_alerts_per_hour", "decoy_alerts"]
    if len(pairs) > 1:
        cols.append("streams_meeting_targets")
    cols = [c for c in cols if c in result.table.columns]
    print(result.table[cols].to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    ev = result.best_evaluation
    pooled = " (pooled over all streams)" if len(pairs) > 1 else ""
    print(
        f"best: {result.best.to_dict()}\n"
        f"  recall {ev.recall:.2f}, keyword precision {ev.keyword_precision:.2f}, decoy alerts {ev.decoy_alerts}, "
        f"median latency {_fmt(ev.latency_median_slides)} slides, false alerts/h {ev.false_alerts_per_hour:.2f}{pooled}"
    )
    if len(pairs) > 1:
        for (posts, _), e in zip(pairs, result.best_per_stream):
            print(f"  {posts}: {result.targets.verdict(e)}")
    print(f"wrote {params_path} and {table_path}")
    return 0


def add_tune(sub) -> None:
    p = sub.add_parser("tune", help="sweep window and detection parameters against labels")
    p.add_argument("input", nargs="+", help="stream file(s) (JSON lines), or directories holding posts.jsonl + labels.json")
    p.add_argument("--labels", nargs="+", help="labels.json, one per input in order (not needed for directories)")
    p.add_argument("--grid", help="grid YAML: parameter -> list of values (default: a built-in grid)")
    p.add_argument("--params", help="base parameters for what the grid does not name")
    p.add_argument("--workers", type=int, default=None, help="extraction processes (default: all cores)")
    p.add_argument("--max-points", type=int, default=None,
                   help=f"refuse grids with more points (default {MAX_GRID_POINTS})")
    p.add_argument("--out", required=True, help="where to write the best params.yaml (+ .results.csv)")
    add_min_event_time_flag(p)
    p.set_defaults(func=cmd_tune)


# -- review (from trendlab.workbench.review) ----------------------------------------------------------------------------------------

def cmd_review(args) -> int:
    if args.review_command == "export":
        table = review_stream(args.input, args.alerts, args.params, args.examples, args.workers)
        path = write_review(table, args.out)
        print(f"wrote {len(table)} alerts to {path}: fill 'verdict' (yes/no) and, to merge alerts into one "
              f"trend, give them the same 'trend' name; then `trendlab review import {path} --out labels.json`")
        return 0
    table = read_review(args.review)
    path = write_labels(table, args.out)
    labels = labels_from_review(table)
    print(f"wrote {path}: {len(labels['trends'])} trends, {len(labels['decoys'])} decoys "
          f"from {int((table['verdict'].str.strip() != '').sum())} judged alerts of {len(table)}")
    return 0


def add_review(sub) -> None:
    p = sub.add_parser("review", help="judge a stream's alerts in a spreadsheet and turn them into labels",
                       description="Export a stream's alerts with example posts to CSV; import the judged CSV as labels.json.")
    rsub = p.add_subparsers(dest="review_command", metavar="ACTION")
    rsub.required = True
    e = rsub.add_parser("export", help="alerts with example posts to a CSV to judge")
    e.add_argument("input", help="the stream: Jetstream or PostData JSON lines (.jsonl, .jsonl.gz)")
    e.add_argument("--alerts", help="alerts.jsonl of that stream (default: replay it now with --params)")
    e.add_argument("--params", help="params.yaml for the replay when --alerts is not given (default: the defaults)")
    e.add_argument("--examples", type=int, default=3, help="example posts per alert (default 3)")
    e.add_argument("--workers", type=int, default=None, help="extraction processes (default: all cores)")
    e.add_argument("--out", required=True, help="the CSV to write")
    i = rsub.add_parser("import", help="a judged review CSV to labels.json for evaluate and tune")
    i.add_argument("review", help="the CSV from `trendlab review export`, verdict column filled (yes/no)")
    i.add_argument("--out", required=True, help="the labels.json to write")
    for parser in (p, e, i):
        parser.set_defaults(func=cmd_review)
