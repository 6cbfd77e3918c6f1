"""Shared test settings.

`make test` starts the real stack and sets TRENDLAB_REQUIRE_STACK=1: then a test that would skip
because Kafka, Flink or MinIO is not up fails instead, so a broken stack can never pass as skipped.
"""

import os

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("TRENDLAB_REQUIRE_STACK") == "1" and report.skipped and call.excinfo is not None:
        reason = str(call.excinfo.value)
        report.outcome = "failed"
        report.longrepr = f"skipped, but `make test` requires the real stack: {reason}"
