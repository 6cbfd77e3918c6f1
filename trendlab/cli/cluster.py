"""Commands that drive the stack, Kafka and a Flink cluster: ``stack``, ``produce``, ``consume``, ``deploy``,
``jobs``, ``stop``, ``pipeline``, ``moderation``.

Argument parsing, printing and ``Settings.from_env()`` only; the work is done by the library module each
command names.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from trendlab.cli.flags import add_min_event_time_flag
from trendlab.config import Profile, Settings, get_settings
from trendlab.core.parse import min_event_time_flag
from trendlab.errors import ConfigError
from trendlab.flink.rest_client import FlinkClient, FlinkError
from trendlab.flink.deploy import deploy_job, list_jobs, stop_job
from trendlab.flink.job import job_name
from trendlab.kafka import consume, produce
from trendlab.params_files import load_params
from trendlab.pipeline.runner import PROFILES, run_pipeline
from trendlab.stack import PARTS, _parts, down, status, up


# -- stack (from trendlab.stack) ------------------------------------------------------------------

def _cmd_stack(args: argparse.Namespace) -> int:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("trendlab stack: %(message)s"))
    logger = logging.getLogger("trendlab.stack")
    logger.addHandler(handler)
    logger.propagate = False
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    settings = get_settings()
    try:  # a StackError reaches ``trendlab.cli.main``, which prints it as one line
        if args.action == "up":
            result = up(settings, args.parts)
        elif args.action == "down":
            result = down(settings, args.parts)
        else:
            result = status(settings)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    if getattr(args, "json", False):
        print(json.dumps(result.as_dict(), indent=2))
    else:
        print(result.table())
    chosen = _parts(args.parts)  # `stack up flink` against Kafka and MinIO elsewhere succeeds when Flink runs
    if args.action == "up" and not all(p.running for p in result.parts if p.name.split("-")[0] in chosen):
        return 1
    return 0


def add_stack(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stack", help="the local real stack: Kafka, MinIO, Flink cluster")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    for action, text in [
        ("up", "start the parts that are not running and wait until they answer"),
        ("down", "stop the parts (SIGTERM, then SIGKILL); data and logs are kept"),
    ]:
        a = actions.add_parser(action, help=text)
        a.add_argument("parts", nargs="*", metavar="PART",
                       help=f"one or more of {', '.join(PARTS)} (default: all)")
        a.add_argument("--json", action="store_true", help="print the resulting status as JSON")
        a.set_defaults(func=_cmd_stack)
    s = actions.add_parser("status", help="show each part: running, pid, address, version, log")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=_cmd_stack, parts=None)


# -- kafka (from trendlab.kafka) ----------------------------------------------------------------------------------------

def cmd_produce(args) -> int:
    """Exit 0 when the broker took every record, 1 when it refused some (reported, dead-lettered)."""
    settings = Settings.from_env(min_event_time=min_event_time_flag(args.min_event_time))
    result = produce(settings, args.input, args.topic, args.rate, skip_malformed=args.skip_malformed)
    print(result.report(), file=sys.stderr)
    return 1 if result.refused else 0


def cmd_consume(args) -> int:
    settings = Settings.from_env()
    out = sys.stdout.buffer
    for value in consume(settings, args.topic, from_beginning=args.from_beginning, timeout=args.timeout,
                         max_records=args.max):
        out.write(value + b"\n")
        out.flush()
    return 0


def _non_negative(name: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {text!r}") from None
        if value < 0:
            raise ConfigError(f"{name} must be >= 0, got {text!r}")
        return value

    parse.__name__ = name
    return parse


def add_kafka(sub) -> None:
    p = sub.add_parser("produce", help="send a posts file to Kafka in event-time order")
    p.add_argument("input", help="Jetstream or PostData JSON lines (.jsonl or .jsonl.gz)")
    p.add_argument("--topic", help="topic (default KAFKA_TOPIC_POSTS)")
    p.add_argument("--rate", type=str, default="0", help="records per second; 0 = as fast as possible")
    p.add_argument("--skip-malformed", action="store_true", help="do not send malformed lines")
    add_min_event_time_flag(p)
    p.set_defaults(func=lambda a: cmd_produce(_coerce(a, "rate", "--rate")))

    c = sub.add_parser("consume", help="print a topic's committed records as JSON lines")
    c.add_argument("--topic", required=True, help="the topic to read, e.g. trend-alerts")
    c.add_argument("--from-beginning", action="store_true",
                   help="read the topic from its first record (default: only records that arrive from now on)")
    c.add_argument("--timeout", type=str, default="10", help="stop after S seconds without a record")
    c.add_argument("--max", type=int, help="stop after N records")
    c.set_defaults(func=lambda a: cmd_consume(_coerce(a, "timeout", "--timeout")))


def _coerce(args, attr: str, flag: str):
    setattr(args, attr, _non_negative(flag)(getattr(args, attr)))
    return args


# -- deploy (from trendlab.flink.deploy) ----------------------------------------------------------------------------------------

def _duration_flag(flag: str):
    from trendlab.core.windows import format_duration, parse_duration

    def parse(text: str) -> str:
        return format_duration(parse_duration(text, flag))

    return parse


def cmd_deploy(args) -> int:
    settings = Settings.from_env(min_event_time=min_event_time_flag(args.min_event_time))
    window = _duration_flag("--window")(args.window) if args.window else None
    slide = _duration_flag("--slide")(args.slide) if args.slide else None
    params = load_params(args.params, settings, window=window, slide=slide)
    job_id = deploy_job(settings, params, args.from_savepoint, allow_non_restored_state=args.allow_non_restored_state,
                        allow_running=args.allow_running)
    print(json.dumps({"job_id": job_id}) if args.json else f"deployed {job_name(settings)!r} job {job_id}")
    return 0


def cmd_jobs(args) -> int:
    settings = Settings.from_env()
    jobs = list_jobs(settings)
    if args.json:
        print(json.dumps([j.to_dict() for j in jobs]))
        return 0
    if not jobs:
        print("no jobs")
    with FlinkClient.from_settings(settings) as client:
        for j in jobs:
            try:
                cp = client.latest_checkpoint(j.id)
            except FlinkError:  # a job that never checkpointed or left the JobManager's history
                cp = None
            kind = "savepoint" if cp and cp.is_savepoint else "checkpoint"
            extra = f"  {kind} {cp.id} {cp.external_path}" if cp else ""
            print(f"{j.id}  {j.state:<10} {j.name}{extra}")
    return 0


def cmd_stop(args) -> int:
    settings = Settings.from_env()
    path = stop_job(settings, args.job, savepoint=args.savepoint)
    if args.json:
        print(json.dumps({"job_id": args.job, "savepoint": path}))
    else:
        print(f"stopped {args.job}" + (f"; savepoint {path}" if path else ""))
    return 0


def add_deploy(sub) -> None:
    p = sub.add_parser("deploy", help="submit the Flink job through the REST API")
    p.add_argument("--params", help="params.yaml from `trendlab tune`")
    p.add_argument("--window", help="window length, e.g. 10m (overrides the params file)")
    p.add_argument("--slide", help="window slide, e.g. 1m (overrides the params file)")
    p.add_argument("--from-savepoint", metavar="S", help="savepoint/checkpoint path, or 'latest'")
    p.add_argument("--allow-non-restored-state", action="store_true",
                   help="start from a savepoint even when some of its state belongs to no operator of this job")
    p.add_argument("--allow-running", action="store_true",
                   help="submit even when a trendlab job of the same topics is running (two jobs then write the "
                        "same topics)")
    p.add_argument("--json", action="store_true", help='print {"job_id": ...}')
    add_min_event_time_flag(p)
    p.set_defaults(func=cmd_deploy)

    j = sub.add_parser("jobs", help="list Flink jobs")
    j.add_argument("--json", action="store_true", help="print the jobs as JSON instead of a table")
    j.set_defaults(func=cmd_jobs)

    s = sub.add_parser("stop", help="stop a Flink job (with --savepoint: stop with a savepoint)")
    s.add_argument("job", help="job id")
    s.add_argument("--savepoint", action="store_true", help="take a savepoint and print its path")
    s.add_argument("--json", action="store_true", help="print the result (savepoint path) as JSON")
    s.set_defaults(func=cmd_stop)


# -- runner (from trendlab.pipeline.runner) ----------------------------------------------------------------------------------------

def cmd_pipeline(args) -> int:
    result = run_pipeline(args.profile, args.out, args.sample, args.grid, args.params,
                          kernel_name=args.kernel, progress=not args.quiet)
    print(result.summary())
    return 0


def add_pipeline(sub) -> None:
    p = sub.add_parser("pipeline", help="run the four notebooks with papermill and write report.html")
    p.add_argument("--profile", choices=PROFILES, default=Profile.EMBEDDED.value,
                   help="embedded: PyFlink mini-cluster on the sample; local: the stack of `trendlab stack up`")
    p.add_argument("--out", required=True, help="output directory (executed notebooks, params.yaml, report.html)")
    p.add_argument("--sample", help="sample directory with posts.jsonl and labels.json (default data/samples/small)")
    p.add_argument("--grid", help="grid YAML for 02 (default: trendlab tune's built-in grid)")
    p.add_argument("--params", help="params.yaml for 03 instead of the one 02 tunes")
    p.add_argument("--kernel", help="Jupyter kernel name (default: the notebooks' own, python3)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_pipeline)


# -- moderation (from trendlab.service.moderation) ------------------------------------------------

def _cmd_moderation_decoys(args: argparse.Namespace) -> int:
    import orjson
    from pathlib import Path

    from trendlab.service.moderation import decoy_labels, read_topic

    labels = decoy_labels(read_topic(get_settings()))
    data = orjson.dumps(labels, option=orjson.OPT_INDENT_2)
    if args.out:
        Path(args.out).write_bytes(data + b"\n")
        print(f"{len(labels['decoys'])} rejected trends written to {args.out} as decoys")
    else:
        print(data.decode())
    return 0


def add_moderation(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("moderation", help="the service's moderation state, read from its Kafka topic")
    msub = p.add_subparsers(dest="moderation_command", metavar="COMMAND")
    msub.required = True
    d = msub.add_parser("decoys", help="rejected trends' keywords as labels.json decoys (for tune/evaluate)")
    d.add_argument("--out", default=None, help="write labels.json here (default: print it)")
    d.set_defaults(func=_cmd_moderation_decoys)
