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
``GET  /trends``                   the trends readers see (``?lang=ja``, else ``Accept-Language``)
``GET  /xrpc/app.bsky.unspecced.getTrends``  the same in Bluesky's lexicon (``?limit=1..25``, ``lang``)
``GET  /trends/live``              a page showing ``/trends``, refreshing itself; moderator controls
``/moderation/...``                deny list, approve/reject, pending, decisions, decoys
                                   (:mod:`trendlab.service.routes_moderation`)
=================================  =====================================================================

The routes live in routers: :mod:`~trendlab.service.routes_service`, :mod:`~trendlab.service.routes_flink`,
:mod:`~trendlab.service.routes_trends`, :mod:`~trendlab.service.routes_moderation`; what they share is
the :class:`~trendlab.service.requests.Context` on ``app.state.ctx``.

Mutations are authorized before their body is read (:mod:`trendlab.service.security`); bodies are
limited to 64 KiB; job ids are 32 hex characters; ``from_savepoint`` stays inside the bucket's state of
a job of the same name (:mod:`trendlab.flink.restore`). Every error is one line: ``{"error": "..."}``.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from trendlab.config import Settings, get_settings
from trendlab.errors import ConfigError, InputError, JobConflict, ServiceUnavailable, TrendlabError
from trendlab.service import moderation, routes_flink, routes_moderation, routes_service, routes_trends
from trendlab.service.metrics import FlinkWatch, ServiceMetrics
from trendlab.service.probes import PROBE_TIMEOUT_S, HealthProbe
from trendlab.service.requests import Context, error, validation_message
from trendlab.service.security import BodyLimit, ServiceError
from trendlab.service.trends import KafkaFollower, TrendBoard


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("trendlab")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


__version__ = _version()


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


def _install_error_handlers(app: FastAPI) -> None:
    """Every error is one line: ``{"error": "..."}``."""

    @app.exception_handler(ServiceError)
    async def service_error(_request: Request, exc: ServiceError):
        return error(exc.status, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404:
            message = f"no route {request.url.path}"
        elif exc.status_code == 405:
            message = f"method {request.method} not allowed on {request.url.path}"
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError):
        return error(422, validation_message(exc.errors()))

    @app.exception_handler(TrendlabError)
    async def trendlab_error(_request: Request, exc: TrendlabError):
        if isinstance(exc, (ConfigError, InputError)):
            return error(422, str(exc))
        if isinstance(exc, JobConflict):
            return error(409, str(exc))
        if isinstance(exc, ServiceUnavailable):
            return error(502, str(exc))
        return error(400, str(exc))


def create_app(settings: Settings | None = None, *, follow_trends: bool = True,
               probe_timeout: float = PROBE_TIMEOUT_S) -> FastAPI:
    """The app; ``follow_trends`` starts the Kafka followers (trends and the moderation topic) with the
    app (lifespan); without it the moderation state is kept in memory."""
    settings = settings or get_settings()
    metrics = ServiceMetrics(FlinkWatch(settings))

    def on_alert(alert, seen_at: float) -> None:
        metrics.trends_detected.inc()
        metrics.trend_processing.observe(max(0.0, seen_at - alert.window_end.timestamp()))

    board = TrendBoard(on_alert=on_alert, max_trends=settings.board_max_trends, on_evict=metrics.board_evicted.inc)
    metrics.board_trends.set_function(lambda: len(board))
    _state, mod_log, publisher, decisions = moderation.build(settings, board, follow=follow_trends)
    ctx = Context(settings=settings, metrics=metrics, probe=HealthProbe(settings, timeout=probe_timeout),
                  board=board, follower=KafkaFollower(settings, board),
                  render=ThreadPoolExecutor(max_workers=1, thread_name_prefix="metrics-render"),
                  publisher=publisher, moderation=decisions, moderation_log=mod_log)

    @asynccontextmanager
    async def lifespan(_app):
        if follow_trends:
            ctx.follower.start()
            mod_log.start()
        try:
            yield
        finally:
            ctx.follower.stop()
            mod_log.stop()
            ctx.render.shutdown(wait=False)

    app = FastAPI(title="trendlab", version=__version__, description=__doc__.split("\n\n")[0], lifespan=lifespan)
    app.state.ctx = ctx
    app.state.settings = settings
    app.state.registry = metrics.registry
    app.state.metrics = metrics
    app.state.board = board
    app.state.follower = ctx.follower
    app.state.probe = ctx.probe
    app.state.publisher = publisher
    app.state.moderation = decisions
    app.add_middleware(BodyLimit)
    app.add_middleware(RequestMetrics, metrics=metrics)
    _install_error_handlers(app)
    for module in (routes_service, routes_flink, routes_trends, routes_moderation):
        app.include_router(module.router)
    return app
