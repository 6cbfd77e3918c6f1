"""The one error a stack part raises when it cannot be fetched or started."""

from __future__ import annotations


class StackError(RuntimeError):
    """A stack part cannot be fetched, built or started; the one-line message names the part."""
