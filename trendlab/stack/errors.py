"""The one error a stack part raises when it cannot be fetched or started (see :mod:`trendlab.errors`)."""

from __future__ import annotations

from trendlab.errors import StackError

__all__ = ["StackError"]
