"""A small client for the Flink JobManager REST API (the parts trendlab uses).

>>> client = FlinkClient.from_settings(settings)
>>> client.jobs()                       # [JobInfo(id, name, state, start_time), ...]
>>> jar = client.upload_jar(path); job_id = client.run_jar(jar, entry_class=..., program_args=[...])
>>> client.wait_for_state(job_id, {"RUNNING"}); client.stop_with_savepoint(job_id)

Errors are :class:`FlinkError` with a one-line message: the JobManager does not answer, a job does
not exist, a savepoint failed (with Flink's root cause).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from trendlab.errors import ConfigError, ServiceUnavailable

TERMINAL_STATES = frozenset({"FINISHED", "FAILED", "CANCELED", "SUSPENDED"})


class FlinkError(ServiceUnavailable):
    """A Flink REST call failed; the message is one line."""


_JOB_ID = re.compile(r"[0-9a-f]{32}")


def checked_job_id(job_id: str) -> str:
    """A Flink job id is 32 hexadecimal characters; anything else never reaches a URL (``%2e%2e``…)."""
    if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id):
        shown = repr(job_id) if len(str(job_id)) <= 40 else repr(str(job_id)[:37] + "...")
        raise ConfigError(f"job id must be 32 hexadecimal characters, got {shown}")
    return job_id


@dataclass(frozen=True)
class JobInfo:
    id: str
    name: str
    state: str
    start_time: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"job_id": self.id, "name": self.name, "state": self.state, "start_time": self.start_time}


@dataclass(frozen=True)
class CheckpointInfo:
    id: int
    status: str
    external_path: str | None
    is_savepoint: bool
    trigger_timestamp: int | None = None


def _first_line(text: str, limit: int = 300) -> str:
    for line in str(text).splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 3] + "..."
    return ""


def _root_cause(errors: Any) -> str:
    """Flink puts a Java stack trace in ``errors``; keep the deepest 'Caused by' line."""
    text = "\n".join(errors) if isinstance(errors, list) else str(errors)
    causes = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("Caused by:")]
    if causes:
        return _first_line(causes[-1].removeprefix("Caused by:").strip())
    return _first_line(text)


class FlinkClient:
    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=httpx.Timeout(timeout, connect=5.0))

    @classmethod
    def from_settings(cls, settings, timeout: float = 30.0) -> FlinkClient:
        return cls(settings.flink_rest_url, timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> FlinkClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise FlinkError(f"Flink JobManager at {self.base_url} did not answer {method} {path} in time") from None
        except httpx.TransportError as exc:
            raise FlinkError(
                f"Flink JobManager at {self.base_url} does not answer ({type(exc).__name__}); "
                "is the stack up? (trendlab stack status)"
            ) from None
        if response.status_code >= 400:
            try:
                body = response.json()
                detail = _root_cause(body.get("errors", body))
            except ValueError:
                detail = _first_line(response.text)
            raise FlinkError(f"Flink {method} {path} failed: HTTP {response.status_code}: {detail}")
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            raise FlinkError(f"Flink {method} {path} returned non-JSON: {_first_line(response.text)}") from None

    # -- cluster -------------------------------------------------------------------------------
    def overview(self) -> dict[str, Any]:
        return self._request("GET", "/overview")

    def config(self) -> dict[str, Any]:
        return self._request("GET", "/config")

    # -- jobs ----------------------------------------------------------------------------------
    def jobs(self) -> list[JobInfo]:
        data = self._request("GET", "/jobs/overview")
        return [
            JobInfo(j["jid"], j.get("name", ""), j.get("state", ""), j.get("start-time"))
            for j in sorted(data.get("jobs", []), key=lambda j: j.get("start-time", 0), reverse=True)
        ]

    def job(self, job_id: str) -> dict[str, Any]:
        return self._request("GET", f"/jobs/{checked_job_id(job_id)}")

    def job_state(self, job_id: str) -> str:
        return self.job(job_id)["state"]

    def exceptions(self, job_id: str) -> list[str]:
        """Root-cause lines of the job's exception history, newest first."""
        data = self._request("GET", f"/jobs/{checked_job_id(job_id)}/exceptions")
        out = []
        for entry in data.get("exceptionHistory", {}).get("entries", []):
            out.append(_root_cause(entry.get("stacktrace") or entry.get("exceptionName", "")))
        if not out and data.get("root-exception"):
            out.append(_root_cause(data["root-exception"]))
        return out

    def restarts(self, job_id: str) -> int:
        """How often the job has restarted (its ``numRestarts`` metric; 0 before the first report)."""
        data = self._request("GET", f"/jobs/{checked_job_id(job_id)}/metrics", params={"get": "numRestarts"})
        values = [m.get("value") for m in data or [] if m.get("id") == "numRestarts"]
        return int(float(values[0])) if values and values[0] not in (None, "") else 0

    def metrics(self, job_id: str, vertex_id: str, names: Iterable[str] | None = None) -> dict[str, str]:
        params = {"get": ",".join(names)} if names else None
        data = self._request("GET", f"/jobs/{checked_job_id(job_id)}/vertices/{vertex_id}/metrics", params=params)
        return {m["id"]: m.get("value") for m in data}

    def counter_total(self, job_id: str, suffix: str) -> int:
        """The sum of a user counter over every vertex and subtask of a job: each metric whose id ends with
        ``suffix`` (e.g. ``trendlab.late_posts``, ids are ``<subtask>.<operator>.<group>.<name>``)."""
        total = 0
        job = checked_job_id(job_id)
        for vertex in (self.job(job_id).get("vertices") or []):
            listed = self._request("GET", f"/jobs/{job}/vertices/{vertex['id']}/metrics") or []
            names = [m["id"] for m in listed if str(m.get("id", "")).endswith(suffix)]
            if names:
                for name, value in self.metrics(job_id, vertex["id"], names).items():
                    try:
                        total += int(float(value))
                    except (TypeError, ValueError):
                        pass
        return total

    def wait_for_state(self, job_id: str, states: Iterable[str], timeout: float = 120.0, poll: float = 0.5) -> str:
        """Wait until the job is in one of ``states``; a terminal state that is not wanted is an error."""
        wanted = set(states)
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            state = self.job_state(job_id)
            if state in wanted:
                return state
            if state in TERMINAL_STATES:
                cause = (self.exceptions(job_id) or [""])[0]
                raise FlinkError(f"job {job_id} is {state}, not {'/'.join(sorted(wanted))}" + (f": {cause}" if cause else ""))
            time.sleep(poll)
        raise FlinkError(f"job {job_id} is still {state or 'unknown'} after {timeout:.0f}s (waited for {'/'.join(sorted(wanted))})")

    def wait_until_running(self, job_id: str, timeout: float = 120.0) -> None:
        """Wait until the job and all of its tasks run (a RUNNING job can still be deploying tasks)."""
        deadline = time.monotonic() + timeout
        self.wait_for_state(job_id, {"RUNNING"}, timeout)
        while time.monotonic() < deadline:
            vertices = self.job(job_id).get("vertices", [])
            if vertices and all(v.get("status") in {"RUNNING", "FINISHED"} for v in vertices):
                return
            time.sleep(0.5)
        raise FlinkError(f"job {job_id}: tasks not all running after {timeout:.0f}s")

    def cancel(self, job_id: str) -> None:
        self._request("PATCH", f"/jobs/{checked_job_id(job_id)}", params={"mode": "cancel"})

    # -- checkpoints and savepoints ------------------------------------------------------------
    def checkpoints(self, job_id: str) -> dict[str, Any]:
        return self._request("GET", f"/jobs/{checked_job_id(job_id)}/checkpoints")

    def latest_checkpoint(self, job_id: str) -> CheckpointInfo | None:
        """The latest completed checkpoint (or savepoint) of a job, with its external path."""
        latest = self.checkpoints(job_id).get("latest") or {}
        candidates = [c for c in (latest.get("completed"), latest.get("savepoint")) if c]
        if not candidates:
            return None
        c = max(candidates, key=lambda c: c.get("latest_ack_timestamp") or c.get("trigger_timestamp") or 0)
        return CheckpointInfo(
            id=int(c["id"]), status=c.get("status", "COMPLETED"), external_path=c.get("external_path"),
            is_savepoint=bool(c.get("is_savepoint")), trigger_timestamp=c.get("trigger_timestamp"),
        )

    def wait_for_checkpoint(self, job_id: str, after_id: int = 0, timeout: float = 120.0) -> CheckpointInfo:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            cp = self.latest_checkpoint(job_id)
            if cp is not None and cp.id > after_id:
                return cp
            time.sleep(0.5)
        raise FlinkError(f"job {job_id}: no completed checkpoint after #{after_id} within {timeout:.0f}s")

    def _await_operation(self, path: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = self._request("GET", path)
            if data.get("status", {}).get("id") == "COMPLETED":
                operation = data.get("operation") or {}
                if "failure-cause" in operation:
                    cause = operation["failure-cause"]
                    raise FlinkError(f"savepoint failed: {_root_cause(cause.get('stack-trace') or cause)}")
                return operation
            time.sleep(0.5)
        raise FlinkError(f"{path} did not complete within {timeout:.0f}s")

    def stop_with_savepoint(self, job_id: str, target_directory: str | None = None, drain: bool = False,
                            timeout: float = 300.0) -> str:
        """``POST /jobs/:id/stop`` and wait for the savepoint; returns its path."""
        body: dict[str, Any] = {"drain": drain}
        if target_directory:
            body["targetDirectory"] = target_directory
        return self._savepoint(job_id, "stop", body, timeout)

    def _savepoint(self, job_id: str, endpoint: str, body: dict[str, Any], timeout: float) -> str:
        """Trigger through ``/jobs/:id/<endpoint>``, wait for the operation, return the savepoint path."""
        trigger = self._request("POST", f"/jobs/{checked_job_id(job_id)}/{endpoint}", json=body)["request-id"]
        return self._await_operation(f"/jobs/{job_id}/savepoints/{trigger}", timeout)["location"]

    # -- jars ----------------------------------------------------------------------------------
    def jars(self) -> list[dict[str, Any]]:
        return self._request("GET", "/jars").get("files", [])

    def upload_jar(self, path: str | Path) -> str:
        """Upload a jar; returns its id on the JobManager."""
        path = Path(path)
        if not path.is_file():
            raise FlinkError(f"jar not found: {path}")
        with open(path, "rb") as fh:
            data = self._request("POST", "/jars/upload",
                                 files={"jarfile": (path.name, fh, "application/x-java-archive")})
        if data.get("status") != "success":
            raise FlinkError(f"upload of {path.name} failed: {data}")
        return Path(data["filename"]).name

    def delete_jar(self, jar_id: str) -> None:
        self._request("DELETE", f"/jars/{jar_id}")

    def run_jar(
        self,
        jar_id: str,
        *,
        entry_class: str | None = None,
        program_args: Sequence[str] = (),
        parallelism: int | None = None,
        savepoint_path: str | None = None,
        allow_non_restored_state: bool = False,
        timeout: float = 300.0,
    ) -> str:
        """Run an uploaded jar's main class; returns the job id."""
        body: dict[str, Any] = {"programArgsList": list(program_args)}
        if entry_class:
            body["entryClass"] = entry_class
        if parallelism:
            body["parallelism"] = parallelism
        if savepoint_path:
            body["savepointPath"] = savepoint_path
            body["allowNonRestoredState"] = allow_non_restored_state
        data = self._request("POST", f"/jars/{jar_id}/run", json=body, timeout=timeout)
        return data["jobid"]
