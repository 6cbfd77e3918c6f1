"""The REST service: the original service's contract, live trends, Flink job status / deploy / stop.

=================================  =====================================================================
``GET  /``                         service, version and links
``GET  /health``                   Flink REST, Kafka, MinIO probed in parallel (2 s each); 200 when all answer, else 503
``GET  /health/live``              the service itself (never waits on a probe)
``GET  /metrics``                  Prometheus text (:mod:`trendlab.service.metrics`)
``GET  /config``                   the settings in force, secrets masked
``GET  /flink/status``             the cluster (task managers, slots, version) and the trendlab jobs
``GET  /flink/jobs``               every job with its state and latest completed checkpoint
``GET  /flink/jobs/{id}``          one job: state, latest checkpoint, root exceptions
``POST /flink/deploy``             ``{"params": {...}, "window": "5m", "slide": "1m", "from_savepoint": "latest"}``;
                                   409 naming it while another deploy/stop is in progress or a job of the
                                   same topics runs (:func:`trendlab.flink.deploy.job_operation`)
``POST /flink/stop``               the running trendlab job of this service's topics: ``{"savepoint": true}``
``POST /flink/jobs/{id}/stop``     one job: ``{"savepoint": true}`` → the savepoint path
``GET  /trends``                   the current trends (:mod:`trendlab.service.trends`)
``GET  /xrpc/app.bsky.unspecced.getTrends``  the same in Bluesky's lexicon (``?limit=1..25``)
``GET  /trends/live``              a page showing ``/trends``, refreshing itself
=================================  =====================================================================

Mutations are authorized before their body is read (:mod:`trendlab.service.security`); bodies are
limited to 64 KiB; job ids are 32 hex characters; ``from_savepoint`` stays inside the bucket's state of
a job of the same name (:mod:`trendlab.flink.restore`). Every error is one line: ``{"error": "..."}``.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from trendlab.config import Settings, get_settings
from trendlab.params_files import load_params
from trendlab.errors import ConfigError, InputError, JobConflict, ServiceUnavailable, TrendlabError
from trendlab.flink.rest_client import FlinkClient
from trendlab.flink.restore import relative_restore_path
from trendlab.service import live
from trendlab.service.metrics import FlinkWatch, ServiceMetrics
from trendlab.service.probes import PROBE_TIMEOUT_S, HealthProbe
from trendlab.service.security import BodyLimit, ServiceError, authorize, job_id as checked_job_id
from trendlab.service.trends import KafkaFollower, TrendBoard, get_trends

LIVE_REFRESH_MS = 2000
#: read-only Flink calls of a request: a hung JobManager holds a worker thread at most this long
READ_TIMEOUT_S = 5.0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("trendlab")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


__version__ = _version()


class DeployRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    params: dict[str, Any] | None = None
    window: str | None = None
    slide: str | None = None
    from_savepoint: str | None = None


class StopRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    savepoint: bool = True


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _validation_message(errors) -> str:
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
    return f"{where}: {first.get('msg', 'invalid')}"


async def _read_model(request: Request, model: type[BaseModel], *, optional: bool = False) -> BaseModel:
    """Read and validate a JSON body (after :func:`authorize`); 422 ``{"error"}`` naming the field."""
    raw = await request.body()
    if not raw.strip():
        if optional:
            return model()
        raise ServiceError(422, "body: a JSON object is required")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ServiceError(422, f"body is not JSON: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ServiceError(422, _validation_message(exc.errors())) from None


class RequestMetrics:
    """ASGI middleware: requests by method, route and status, and their latency (no per-request task)."""

    def __init__(self, app, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        status = 500
        started = False

        async def send_status(message):
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        except asyncio.CancelledError:
            # the server is shutting down and cancelled a request that outlived its grace period (the
            # only cancellation of a request task): say so in one line instead of a 500 and a traceback
            if started:
                raise
            status = 503
            body = orjson.dumps({"error": "trendlab serve is shutting down: the request was cancelled"})
            await send({"type": "http.response.start", "status": 503, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": body})
        finally:
            name = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(scope["method"], name, str(status)).inc()
            self.metrics.latency.labels(name).observe(time.perf_counter() - t0)


def create_app(settings: Settings | None = None, *, follow_trends: bool = True,
               probe_timeout: float = PROBE_TIMEOUT_S) -> FastAPI:
    """The app; ``follow_trends`` starts the Kafka follower with the app (lifespan)."""
    settings = settings or get_settings()
    watch = FlinkWatch(settings)
    metrics = ServiceMetrics(watch)
    probe = HealthProbe(settings, timeout=probe_timeout)

    def on_alert(alert, seen_at: float) -> None:
        metrics.trends_detected.inc()
        metrics.trend_processing.observe(max(0.0, seen_at - alert.window_end.timestamp()))

    board = TrendBoard(on_alert=on_alert, max_trends=settings.board_max_trends, on_evict=metrics.board_evicted.inc)
    metrics.board_trends.set_function(lambda: len(board))
    render = ThreadPoolExecutor(max_workers=1, thread_name_prefix="metrics-render")
    follower = KafkaFollower(settings, board)

    @asynccontextmanager
    async def lifespan(_app):
        if follow_trends:
            follower.start()
        try:
            yield
        finally:
            follower.stop()
            render.shutdown(wait=False)

    app = FastAPI(title="trendlab", version=__version__, description=__doc__.split("\n\n")[0], lifespan=lifespan)
    app.state.settings = settings
    app.state.registry = metrics.registry
    app.state.metrics = metrics
    app.state.board = board
    app.state.follower = follower
    app.state.probe = probe
    app.add_middleware(BodyLimit)

    app.add_middleware(RequestMetrics, metrics=metrics)

    @app.exception_handler(ServiceError)
    async def service_error(_request: Request, exc: ServiceError):
        return _error(exc.status, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404:
            message = f"no route {_request.url.path}"
        elif exc.status_code == 405:
            message = f"method {_request.method} not allowed on {_request.url.path}"
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError):
        return _error(422, _validation_message(exc.errors()))

    @app.exception_handler(TrendlabError)
    async def trendlab_error(_request: Request, exc: TrendlabError):
        if isinstance(exc, (ConfigError, InputError)):
            return _error(422, str(exc))
        if isinstance(exc, JobConflict):
            return _error(409, str(exc))
        if isinstance(exc, ServiceUnavailable):
            return _error(502, str(exc))
        return _error(400, str(exc))

    # -- the service ------------------------------------------------------------------------------
    @app.get("/")
    async def root() -> dict[str, Any]:
        return {
            "service": "trendlab",
            "version": __version__,
            "links": {
                "health": "/health", "live": "/health/live", "metrics": "/metrics", "config": "/config",
                "flink_status": "/flink/status", "flink_jobs": "/flink/jobs", "deploy": "/flink/deploy",
                "stop": "/flink/stop", "trends": "/trends", "get_trends": "/xrpc/app.bsky.unspecced.getTrends",
                "trends_live": "/trends/live", "docs": "/docs",
            },
        }

    @app.get("/health/live")
    async def health_live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health")
    async def health():
        parts = await probe.parts()
        ok = all(p["up"] for p in parts.values())
        return JSONResponse({"status": "ok" if ok else "degraded", "parts": parts}, status_code=200 if ok else 503)

    @app.get("/metrics")
    async def metrics_text():
        # rendering is CPU under the GIL: one thread of its own does it, off the event loop (liveness keeps
        # answering during a scrape) and out of the request threadpool (50 concurrent scrapes add no threads)
        body = await asyncio.get_running_loop().run_in_executor(render, generate_latest, metrics.registry)
        return PlainTextResponse(body, media_type=CONTENT_TYPE_LATEST)

    @app.get("/config")
    async def config() -> dict[str, Any]:
        return settings.public_dict()

    # -- Flink ------------------------------------------------------------------------------------
    def job_row(client: FlinkClient, job) -> dict[str, Any]:
        row = job.to_dict()
        cp = client.latest_checkpoint(job.id) if job.state == "RUNNING" else None
        row["latest_checkpoint"] = cp.external_path if cp else None
        return row

    @app.get("/flink/status")
    def flink_status() -> dict[str, Any]:
        from trendlab.flink.job import job_name

        with FlinkClient.from_settings(settings, timeout=READ_TIMEOUT_S) as client:
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

    @app.get("/flink/jobs")
    def jobs() -> dict[str, Any]:
        with FlinkClient.from_settings(settings, timeout=READ_TIMEOUT_S) as client:
            return {"jobs": [job_row(client, job) for job in client.jobs()]}

    @app.get("/flink/jobs/{job_id}")
    def job(job_id: str) -> dict[str, Any]:
        checked_job_id(job_id)
        with FlinkClient.from_settings(settings, timeout=READ_TIMEOUT_S) as client:
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

    def timed(action: str, func, *args):
        t0 = time.perf_counter()
        try:
            return func(*args)
        finally:
            metrics.job_duration.labels(action).observe(time.perf_counter() - t0)

    def do_deploy(body: DeployRequest) -> str:
        from trendlab.flink.deploy import deploy_job

        params = load_params(body.params or {}, settings, window=body.window, slide=body.slide)  # ConfigError: 422
        if body.from_savepoint and body.from_savepoint != "latest":
            relative_restore_path(settings, body.from_savepoint)  # file://, other buckets: 422 before Flink
        with FlinkClient.from_settings(settings, timeout=READ_TIMEOUT_S) as client:
            client.overview()  # fail fast, with Flink's address, before touching Kafka or packaging
        return deploy_job(settings, params, from_savepoint=body.from_savepoint)

    @app.post("/flink/deploy")
    async def deploy(request: Request) -> dict[str, str]:
        authorize(settings, request.headers, request.client.host if request.client else None)
        body = await _read_model(request, DeployRequest)
        try:
            job_id = await run_in_threadpool(timed, "deploy", do_deploy, body)
        except JobConflict:
            metrics.deploy_conflicts.labels("deploy").inc()
            raise
        except Exception:
            metrics.submissions.labels("failure").inc()
            raise
        metrics.submissions.labels("success").inc()
        return {"job_id": job_id}

    def do_stop(job_id: str, savepoint: bool) -> dict[str, Any]:
        from trendlab.flink.deploy import stop_job

        try:
            return {"job_id": job_id, "savepoint": stop_job(settings, job_id, savepoint=savepoint)}
        except JobConflict:
            metrics.deploy_conflicts.labels("stop").inc()
            raise

    @app.post("/flink/jobs/{job_id}/stop")
    async def stop_one(job_id: str, request: Request) -> dict[str, Any]:
        authorize(settings, request.headers, request.client.host if request.client else None)
        checked_job_id(job_id)
        body = await _read_model(request, StopRequest, optional=True)
        return await run_in_threadpool(timed, "stop", do_stop, job_id, body.savepoint)

    @app.post("/flink/stop")
    async def stop_running(request: Request) -> dict[str, Any]:
        authorize(settings, request.headers, request.client.host if request.client else None)
        body = await _read_model(request, StopRequest, optional=True)

        def running_job() -> str:
            from trendlab.flink.job import job_name

            with FlinkClient.from_settings(settings, timeout=READ_TIMEOUT_S) as client:
                for candidate in client.jobs():  # newest first
                    if candidate.name == job_name(settings) and candidate.state == "RUNNING":
                        return candidate.id
            raise ServiceError(404, f"no RUNNING {job_name(settings)!r} job to stop")

        job_id = await run_in_threadpool(running_job)
        return await run_in_threadpool(timed, "stop", do_stop, job_id, body.savepoint)

    # -- live trends ------------------------------------------------------------------------------
    @app.get("/trends")
    async def trends(limit: int = 50) -> dict[str, Any]:
        if not 1 <= limit <= 500:
            raise ServiceError(422, f"limit must be between 1 and 500, got {limit}")
        return {**board.state(), "follower_error": follower.error, "trends": board.current(limit)}

    @app.get("/xrpc/app.bsky.unspecced.getTrends")
    async def xrpc_get_trends(limit: int = 10, viewer: str | None = None):
        if not 1 <= limit <= 25:  # XRPC's error shape: {"error": <name>, "message": …}
            return JSONResponse({"error": "InvalidRequest", "message": f"limit must be between 1 and 25, got {limit}"},
                                status_code=400)
        return get_trends(board, limit)

    @app.get("/trends/live")
    async def trends_live() -> HTMLResponse:
        return HTMLResponse(live.page(LIVE_REFRESH_MS), headers={"Content-Security-Policy": live.CSP,
                                                                  "Cache-Control": "no-store"})

    @app.get("/trends/live.js")
    async def trends_live_js() -> Response:
        return Response(live.SCRIPT, media_type="text/javascript", headers={"Cache-Control": "no-store"})

    return app
