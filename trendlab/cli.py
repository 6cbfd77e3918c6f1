"""The ``trendlab`` command: a thin layer that parses arguments and calls the library.

Every subcommand is one small function ``cmd_<name>(args) -> int``; the work is done by a
``trendlab`` module a notebook can call too. Errors a user can fix (bad parameter, bad file, a
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

#: Kept for the commands that raise it; it is the family's base.
UserError = TrendlabError


# -- extract ------------------------------------------------------------------------------------

def cmd_extract(args: argparse.Namespace) -> int:
    from trendlab.extract import KeywordExtractor

    extractor = KeywordExtractor(min_length=args.min_length, max_length=args.max_length)
    text = " ".join(args.text) if args.text else sys.stdin.read()
    print(json.dumps(extractor.extract(text, args.lang or None), ensure_ascii=False))
    return 0


def add_extract(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract", help="print the keywords of a text as a JSON list")
    p.add_argument("text", nargs="*", help="the text (read from stdin when omitted)")
    p.add_argument("--lang", action="append", help="post language (repeatable), e.g. en, ja, pt-BR")
    p.add_argument("--min-length", type=int, default=2)
    p.add_argument("--max-length", type=int, default=40)
    p.set_defaults(func=cmd_extract)


# -- registry -----------------------------------------------------------------------------------

#: Each entry adds one subcommand. Modules add theirs here (one line each).
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [add_extract]


def _optional_commands() -> list[Callable[[argparse._SubParsersAction], None]]:
    """Subcommands that live next to the code they drive (``trendlab/<area>/…``)."""
    adders = []
    for module, name in [
        ("trendlab.samples", "add_cli"),
        ("trendlab.replay", "add_cli"),
        ("trendlab.evaluate", "add_cli"),
        ("trendlab.tune", "add_cli"),
        ("trendlab.workbench", "add_cli"),
        ("trendlab.stack", "add_cli"),
        ("trendlab.kafka", "add_cli"),
        ("trendlab.flink.deploy", "add_cli"),
        ("trendlab.pipeline", "add_cli"),
        ("trendlab.service", "add_cli"),
        ("trendlab.jetstream.cli", "add_cli"),
    ]:
        try:
            mod = __import__(module, fromlist=[name])
        except ModuleNotFoundError as exc:
            if exc.name and module.startswith(exc.name):
                continue  # that part is not built yet
            raise
        add = getattr(mod, name, None)
        if add is not None:  # an empty package directory is not built yet either
            adders.append(add)
    return adders


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trendlab",
        description="Trend detection on Bluesky posts: replay and tune locally, deploy to Apache Flink.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add in COMMANDS + _optional_commands():
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except (TrendlabError, ValueError, FileNotFoundError) as exc:
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
