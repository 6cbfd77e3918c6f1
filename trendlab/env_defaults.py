"""What the environment gives a library call made without settings (a notebook cell, a test).

The definition (:mod:`trendlab.core`) reads no environment: its callers pass settings and limits in.
The commands (:mod:`trendlab.cli`), the service factory and the job's ``main`` build their
:class:`~trendlab.config.Settings` themselves; everything else that is called without them asks here,
so "where does this default come from" has one answer. See ``docs/layout.md``.
"""

from __future__ import annotations

from trendlab.config import Settings
from trendlab.core.parse import Limits, min_event_time_flag

__all__ = ["limits_from_flags", "parser_limits", "settings_from_env"]


def settings_from_env(**overrides: object) -> Settings:
    """:meth:`Settings.from_env`: the environment's settings, ``overrides`` (flags) winning."""
    return Settings.from_env(**overrides)


def parser_limits(settings: Settings | None = None) -> Limits:
    """What the parser accepts under ``settings`` (``None``: the environment's)."""
    return Limits.from_settings(settings or settings_from_env())


def limits_from_flags(min_event_time: str | None = None) -> Limits:
    """:func:`parser_limits` of the environment, with ``--min-event-time`` (when given) over
    ``TRENDLAB_MIN_EVENT_TIME``."""
    return Limits.from_settings(settings_from_env(min_event_time=min_event_time_flag(min_event_time)))
