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


MALFORMED_MESSAGES = [
    (50, '{"kind": "commit", "did": "broken'),  # not JSON
    (300, "[1, 2, 3]"),  # not an object
    (900, '{"did": "did:plc:x", "time_us": 1, "kind": "commit", "commit": {"operation": "create", '
          '"collection": "app.bsky.feed.post", "rkey": "r", "record": {"createdAt": "2026-01-01T00:00:00Z"}}}'),  # no text
]


@pytest.fixture(scope="session")
def add_malformed():
    """Insert the messages a job must survive (broken JSON, a non-object, a post without text) into a stream file."""

    def add(path) -> None:
        lines = path.read_text().splitlines()
        for at, message in MALFORMED_MESSAGES:
            lines.insert(at, message)
        path.write_text("\n".join(lines) + "\n")

    return add
