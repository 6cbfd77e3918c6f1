"""Flags several commands share."""

from __future__ import annotations

import argparse

from trendlab.core.parse import MIN_EVENT_TIME_FLAG


def add_min_event_time_flag(parser: argparse.ArgumentParser) -> None:
    """Add ``--min-event-time DATE`` to an argparse (sub)parser (replay, tune, produce, deploy)."""
    parser.add_argument(MIN_EVENT_TIME_FLAG, metavar="DATE", default=None,
                        help="accept event times from DATE on (UTC, e.g. 2006-01-01 for another network's archive; "
                             "default TRENDLAB_MIN_EVENT_TIME, else 2022-11-01, when Bluesky began)")
