"""The ``trendlab`` command: a thin layer that parses arguments and calls the library.

Every subcommand is one small function ``cmd_<name>(args) -> int`` in this package (:mod:`.offline`,
:mod:`.cluster`, :mod:`.feed`; ``serve`` in :mod:`trendlab.service`); the work is done by a
``trendlab`` module a notebook can call too. Argument parsing, printing and ``Settings.from_env()``
happen here, not in the library. Errors a user can fix (bad parameter, bad file, a
service that does not answer) are printed as one line on stderr with exit status 2, never as a
traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence

from trendlab.errors import TrendlabError


# -- extract ------------------------------------------------------------------------------------

def cmd_extract(args: argparse.Namespace) -> int:
    from trendlab.core.extract import KeywordExtractor
    from trendlab.core.links import post_links

    extractor = KeywordExtractor(min_length=args.min_length, max_length=args.max_length)
    text = " ".join(args.text) if args.text else sys.stdin.read()
    # what a post of this text carries: its words and phrases, then its links (as both engines count them)
    print(json.dumps(extractor.extract(text, args.lang or None) + post_links((), text), ensure_ascii=False))
    return 0


def add_extract(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract", help="print the keywords of a post's text (words, phrases, then links) as a JSON list")
    p.add_argument("text", nargs="*", help="the text (read from stdin when omitted)")
    p.add_argument("--lang", action="append", help="post language (repeatable), e.g. en, ja, pt-BR")
    p.add_argument("--min-length", type=int, default=2, help="shortest keyword kept, in characters (default 2)")
    p.add_argument("--max-length", type=int, default=40, help="longest keyword kept, in characters (default 40)")
    p.set_defaults(func=cmd_extract)


# -- registry -----------------------------------------------------------------------------------

def _commands() -> list[Callable[[argparse._SubParsersAction], None]]:
    """Every subcommand's ``add_*``, in the order ``trendlab --help`` lists them. All live in this
    package except ``serve``, which the service factory's package keeps (:mod:`trendlab.service`)."""
    from trendlab.cli import cluster, feed, offline
    from trendlab.service import add_cli as add_serve

    return [add_extract, offline.add_samples, offline.add_replay, offline.add_evaluate, offline.add_tune,
            offline.add_review, cluster.add_stack, cluster.add_kafka, cluster.add_deploy, cluster.add_pipeline,
            add_serve, cluster.add_moderation, feed.add_jetstream]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trendlab",
        description="Trend detection on Bluesky posts: replay and tune locally, deploy to Apache Flink.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging, and tracebacks for errors")
    parser.add_argument("--version", action="version", version=f"trendlab {_version()}",
                        help="print trendlab's version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add in _commands():
        add(sub)
    _own_parser_in_defaults(parser)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("trendlab")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


def _own_parser_in_defaults(parser: argparse.ArgumentParser) -> None:
    """Every (sub)command parser records itself as ``args._parser``: the innermost one wins, so an
    unknown flag is reported with the usage of the command it was given to."""
    parser.set_defaults(_parser=parser)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _own_parser_in_defaults(child)


#: Flags that take a duration: a bare number is refused (is ``10`` ten minutes or ten seconds?).
DURATION_FLAGS = ("window", "slide")


def _unitless_duration(args: argparse.Namespace) -> str | None:
    for name in DURATION_FLAGS:
        value = getattr(args, name, None)
        if isinstance(value, str) and value.strip().isdigit():
            return f"--{name} {value} has no unit: write e.g. {value.strip()}m, {value.strip()}s or {value.strip()}h"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        args._parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    problem = _unitless_duration(args)
    if problem:
        print(f"trendlab {args.command}: {problem}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except TrendlabError as exc:
        if args.verbose:
            raise
        print(f"trendlab {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"trendlab {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`trendlab evaluate … | head`): stop quietly, like other Unix tools
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
