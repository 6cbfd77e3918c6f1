"""``trendlab jetstream record`` and ``trendlab jetstream ingest``: argument parsing and printing over
:mod:`trendlab.jetstream.recorder` and :mod:`trendlab.jetstream.ingest`."""

from __future__ import annotations

import argparse
import logging
import sys

from trendlab.config import Settings
from trendlab.errors import ConfigError
from trendlab.jetstream.subscriber import PUBLIC_URLS, now_us


def _duration_s(flag: str, text: str | None) -> float | None:
    from trendlab.core.windows import parse_duration

    if text is None:
        return None
    try:
        return parse_duration(text, flag) / 1000
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _start_cursor(args) -> int | None:
    if args.cursor is not None and args.since is not None:
        raise ConfigError("give --cursor or --since, not both")
    if args.cursor is not None:
        try:
            cursor = int(args.cursor)
        except ValueError:
            raise ConfigError(f"--cursor must be unix microseconds (an integer), got {args.cursor!r}") from None
        if cursor <= 0:
            raise ConfigError(f"--cursor must be positive unix microseconds, got {args.cursor!r}")
        return cursor
    if args.since is not None:
        return now_us() - int(_duration_s("--since", args.since) * 1_000_000)
    return None


def _max_events(value: int | None) -> int | None:
    if value is not None and value < 0:
        raise ConfigError(f"--max-events must be >= 0, got {value}")
    return value


def cmd_record(args) -> int:
    from trendlab.jetstream.recorder import record

    result = record(args.out, args.url or None, max_events=_max_events(args.max_events),
                    duration_s=_duration_s("--duration", args.duration), cursor=_start_cursor(args),
                    collections=args.collections or (), compress=not args.no_compress,
                    max_message_size=args.max_message_size, stall_timeout=args.stall_timeout,
                    progress_every=args.progress)
    print(result.report(), file=sys.stderr)
    return 0


def cmd_ingest(args) -> int:
    from trendlab.jetstream.ingest import Ingester

    settings = Settings.from_env()
    if not args.verbose:
        # kafka-python warns when its I/O loop is slow (a busy machine); the progress line says what matters
        logging.getLogger("kafka").setLevel(logging.ERROR)
    ingester = Ingester(settings, urls=args.url or None, topic=args.topic,
                        collections=args.collections or ("app.bsky.feed.post",), cursor=_start_cursor(args),
                        compress=not args.no_compress, max_message_size=args.max_message_size,
                        stall_timeout=args.stall_timeout, cursor_topic=args.cursor_topic,
                        overlap_s=_duration_s("--overlap", args.overlap), max_events=_max_events(args.max_events),
                        duration_s=_duration_s("--duration", args.duration), metrics_port=args.metrics_port,
                        progress_every=args.progress)
    result = ingester.run()
    print(result.report(), file=sys.stderr)
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", action="append",
                   help="a Jetstream /subscribe URL (repeatable; rotated on failure). Default: the public "
                        "instances " + ", ".join(u.split("/")[2] for u in PUBLIC_URLS))
    p.add_argument("--collections", nargs="+", metavar="NSID",
                   help="wantedCollections, e.g. app.bsky.feed.post or app.bsky.feed.* (identity and account "
                        "events always come)")
    p.add_argument("--cursor", metavar="TIME_US", help="start from this unix-microseconds time")
    p.add_argument("--since", metavar="DURATION", help="start this long ago, e.g. 2h (Jetstream keeps about a day)")
    p.add_argument("--no-compress", action="store_true", help="ask for text JSON frames instead of zstd")
    p.add_argument("--max-message-size", type=int, default=0, metavar="BYTES",
                   help="maxMessageSizeBytes: the server leaves out larger events (0 = no limit)")
    p.add_argument("--max-events", type=int, help="stop after N events")
    p.add_argument("--duration", help="stop after this long, e.g. 30m or 1h")
    p.add_argument("--stall-timeout", type=float, default=30.0, metavar="S",
                   help="replace a connection that sends nothing for S seconds (default 30)")
    p.add_argument("--progress", type=float, metavar="S",
                   help="progress line every S seconds (default 1 on a terminal, 10 otherwise; 0 = off)")


def add_jetstream(sub) -> None:
    js = sub.add_parser("jetstream", help="record Bluesky's Jetstream to a file, or ingest it into Kafka")
    jsub = js.add_subparsers(dest="jetstream_command", metavar="{record,ingest}")
    jsub.required = True

    r = jsub.add_parser("record", help="write Jetstream events as JSON lines (.gz/.zst by the file name)")
    r.add_argument("--out", required=True, help="output file: .jsonl, .jsonl.gz or .jsonl.zst")
    _common(r)
    r.set_defaults(func=cmd_record)

    i = jsub.add_parser("ingest", help="send Jetstream posts into Kafka, resuming from a cursor kept in Kafka")
    i.add_argument("--topic", help="posts topic (default KAFKA_TOPIC_POSTS)")
    i.add_argument("--cursor-topic", help="compacted topic holding the cursor (default <topic>-jetstream-cursor)")
    i.add_argument("--overlap", default="5s",
                   help="on resume, subscribe this long before the cursor and drop what Kafka already has "
                        "(default 5s)")
    i.add_argument("--metrics-port", type=int,
                   help="Prometheus metrics port (default PROMETHEUS_PORT; 0 = off)")
    _common(i)
    i.set_defaults(func=cmd_ingest)
