"""The embedded job keeps Beam's shutdown race out of notebooks, and nothing else."""

from __future__ import annotations

import threading

import grpc
import pytest

from trendlab.flink import job


class _Cancelled(grpc.RpcError):
    def code(self):
        return grpc.StatusCode.CANCELLED


class _Unavailable(grpc.RpcError):
    def code(self):
        return grpc.StatusCode.UNAVAILABLE


def _raise_in_thread(name: str, exc: BaseException) -> None:
    def boom():
        raise exc

    t = threading.Thread(target=boom, name=name)
    t.start()
    t.join()


@pytest.fixture
def hooks(monkeypatch):
    seen = []
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append((args.thread.name, type(args.exc_value))))
    job._quiet_beam_shutdown()
    job._quiet_beam_shutdown()  # once per process: a second call does not wrap again
    return seen


def test_the_shutdown_race_is_quiet(hooks):
    _raise_in_thread("read_grpc_client_inputs", _Cancelled())
    assert hooks == []


@pytest.mark.parametrize("name, exc", [
    ("read_grpc_client_inputs", _Unavailable()),   # a real failure of the data plane
    ("read_grpc_client_inputs", RuntimeError("x")),
    ("some-other-thread", _Cancelled()),
])
def test_every_other_thread_exception_still_reaches_the_previous_hook(hooks, name, exc):
    _raise_in_thread(name, exc)
    assert hooks == [(name, type(exc))]
