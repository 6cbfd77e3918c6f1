"""Integration tests run against the real local stack (Kafka, MinIO, Flink).

``make test`` starts the stack before pytest (``trendlab stack up``); the session fixture below only
makes sure it is up, starting whatever is missing (idempotent), so the tests also run on their own.
"""

from __future__ import annotations

import pytest

from trendlab import stack
from trendlab.config import Settings, get_settings


@pytest.fixture(scope="session")
def stack_settings() -> Settings:
    """The settings the stack runs with (from the environment, like the CLI)."""
    return get_settings()


@pytest.fixture(scope="session")
def live_stack(stack_settings: Settings) -> stack.StackStatus:
    """The running stack; started (or completed) here when it is not fully up."""
    try:
        return stack.up(stack_settings)
    except stack.StackError as exc:
        pytest.fail(f"the local stack cannot start: {exc}", pytrace=False)
