"""``/flink/status``, ``/flink/jobs``, ``/flink/jobs/{id}``, ``POST /flink/deploy``, ``POST /flink/stop``,
``POST /flink/jobs/{id}/stop``."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict

from trendlab.params_files import load_params
from trendlab.errors import JobConflict
from trendlab.flink.rest_client import FlinkClient
from trendlab.flink.restore import relative_restore_path
from trendlab.service.requests import Context, client_host, context, read_model
from trendlab.service.security import ServiceError, authorize, job_id as checked_job_id

#: read-only Flink calls of a request: a hung JobManager holds a worker thread at most this long
READ_TIMEOUT_S = 5.0

router = APIRouter()


class DeployRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    params: dict[str, Any] | None = None
    window: str | None = None
    slide: str | None = None
    from_savepoint: str | None = None


class StopRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    savepoint: bool = True


def _client(ctx: Context) -> FlinkClient:
    return FlinkClient.from_settings(ctx.settings, timeout=READ_TIMEOUT_S)


def job_row(client: FlinkClient, job) -> dict[str, Any]:
    row = job.to_dict()
    cp = client.latest_checkpoint(job.id) if job.state == "RUNNING" else None
    row["latest_checkpoint"] = cp.external_path if cp else None
    return row


@router.get("/flink/status")
def flink_status(ctx: Context = Depends(context)) -> dict[str, Any]:
    from trendlab.flink.job import job_name

    settings = ctx.settings
    with _client(ctx) as client:
        overview = client.overview()
        now_ms = time.time() * 1000
        jobs = []
        for job in client.jobs():
            if not job.name.startswith("trendlab"):
                continue
            row = job_row(client, job)
            row["running_seconds"] = round((now_ms - job.start_time) / 1000, 1) \
                if job.state == "RUNNING" and job.start_time else None
            jobs.append(row)
    return {
        "cluster": {
            "url": settings.flink_rest_url, "flink_version": overview.get("flink-version"),
            "taskmanagers": overview.get("taskmanagers"), "slots_total": overview.get("slots-total"),
            "slots_available": overview.get("slots-available"), "jobs_running": overview.get("jobs-running"),
        },
        "job_name": job_name(settings),
        "jobs": jobs,
    }


@router.get("/flink/jobs")
def jobs(ctx: Context = Depends(context)) -> dict[str, Any]:
    with _client(ctx) as client:
        return {"jobs": [job_row(client, job) for job in client.jobs()]}


@router.get("/flink/jobs/{job_id}")
def job(job_id: str, ctx: Context = Depends(context)) -> dict[str, Any]:
    checked_job_id(job_id)
    with _client(ctx) as client:
        detail = client.job(job_id)
        cp = client.latest_checkpoint(job_id)
        return {
            "job_id": job_id,
            "name": detail.get("name"),
            "state": detail.get("state"),
            "start_time": detail.get("start-time"),
            "latest_checkpoint": None if cp is None else {
                "id": cp.id, "path": cp.external_path, "savepoint": cp.is_savepoint,
                "trigger_timestamp": cp.trigger_timestamp,
            },
            "exceptions": client.exceptions(job_id),
        }


def _timed(ctx: Context, action: str, func, *args):
    t0 = time.perf_counter()
    try:
        return func(*args)
    finally:
        ctx.metrics.job_duration.labels(action).observe(time.perf_counter() - t0)


def _do_deploy(ctx: Context, body: DeployRequest) -> str:
    from trendlab.flink.deploy import deploy_job

    settings = ctx.settings
    params = load_params(body.params or {}, settings, window=body.window, slide=body.slide)  # ConfigError: 422
    if body.from_savepoint and body.from_savepoint != "latest":
        relative_restore_path(settings, body.from_savepoint)  # file://, other buckets: 422 before Flink
    with _client(ctx) as client:
        client.overview()  # fail fast, with Flink's address, before touching Kafka or packaging
    return deploy_job(settings, params, from_savepoint=body.from_savepoint)


@router.post("/flink/deploy")
async def deploy(request: Request, ctx: Context = Depends(context)) -> dict[str, str]:
    authorize(ctx.settings, request.headers, client_host(request))
    body = await read_model(request, DeployRequest)
    metrics = ctx.metrics
    try:
        job_id = await run_in_threadpool(_timed, ctx, "deploy", _do_deploy, ctx, body)
    except JobConflict:
        metrics.deploy_conflicts.labels("deploy").inc()
        raise
    except Exception:
        metrics.submissions.labels("failure").inc()
        raise
    metrics.submissions.labels("success").inc()
    return {"job_id": job_id}


def _do_stop(ctx: Context, job_id: str, savepoint: bool) -> dict[str, Any]:
    from trendlab.flink.deploy import stop_job

    try:
        return {"job_id": job_id, "savepoint": stop_job(ctx.settings, job_id, savepoint=savepoint)}
    except JobConflict:
        ctx.metrics.deploy_conflicts.labels("stop").inc()
        raise


@router.post("/flink/jobs/{job_id}/stop")
async def stop_one(job_id: str, request: Request, ctx: Context = Depends(context)) -> dict[str, Any]:
    authorize(ctx.settings, request.headers, client_host(request))
    checked_job_id(job_id)
    body = await read_model(request, StopRequest, optional=True)
    return await run_in_threadpool(_timed, ctx, "stop", _do_stop, ctx, job_id, body.savepoint)


def _running_job(ctx: Context) -> str:
    from trendlab.flink.job import job_name

    with _client(ctx) as client:
        for candidate in client.jobs():  # newest first
            if candidate.name == job_name(ctx.settings) and candidate.state == "RUNNING":
                return candidate.id
    raise ServiceError(404, f"no RUNNING {job_name(ctx.settings)!r} job to stop")


@router.post("/flink/stop")
async def stop_running(request: Request, ctx: Context = Depends(context)) -> dict[str, Any]:
    authorize(ctx.settings, request.headers, client_host(request))
    body = await read_model(request, StopRequest, optional=True)
    job_id = await run_in_threadpool(_running_job, ctx)
    return await run_in_threadpool(_timed, ctx, "stop", _do_stop, ctx, job_id, body.savepoint)
