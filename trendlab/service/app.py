"""The REST service: health, Prometheus metrics, Flink job status / deploy / stop.

=========================  ===================================================================
``GET  /health``           each part (Flink REST, Kafka, MinIO) answers or not; 200 when all do, else 503
``GET  /health/live``      the service itself is up (always 200)
``GET  /metrics``          Prometheus text: request counts and latency, Flink jobs by state, checkpoints
``GET  /config``           the settings in force, secrets masked
``GET  /flink/jobs``       every job with its state and latest completed checkpoint
``GET  /flink/jobs/{id}``  one job: state, latest checkpoint, root exceptions
``POST /flink/deploy``     submit the trend job: ``{"params": {...}, "window": "5m", "from_savepoint": "latest"}``
``POST /flink/jobs/{id}/stop``  ``{"savepoint": true}`` → the savepoint path
=========================  ===================================================================

Mutating calls need ``Authorization: Bearer <TRENDLAB_API_TOKEN>`` when the token is set; without a
token they are accepted from loopback clients only. Errors are one line: ``{"error": "..."}``.
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

import yaml
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from pydantic import BaseModel, ConfigDict

from trendlab.config import Settings, get_settings
from trendlab.detect import DetectionParams
from trendlab.flink.client import FlinkClient, FlinkError

LOOPBACK = {"127.0.0.1", "::1", "localhost", "testclient"}


class DeployRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    params: dict[str, Any] | None = None
    window: str | None = None
    slide: str | None = None
    from_savepoint: str | None = None


class StopRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    savepoint: bool = True


class ServiceError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def check_parts(settings: Settings) -> dict[str, dict[str, Any]]:
    """Does each part answer? Uses the same probes as ``trendlab stack``."""
    from trendlab.stack import kafka as stack_kafka
    from trendlab.stack import minio as stack_minio

    def probe(fn) -> dict[str, Any]:
        t0 = time.perf_counter()
        try:
            ok = bool(fn())
            error = None if ok else "does not answer"
        except Exception as exc:  # any failure to answer is "down", with its reason
            ok, error = False, str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        out: dict[str, Any] = {"up": ok, "seconds": round(time.perf_counter() - t0, 3)}
        if error:
            out["error"] = error
        return out

    def flink_ok() -> bool:
        with FlinkClient.from_settings(settings, timeout=3.0) as client:
            return bool(client.overview())

    return {
        "flink": {**probe(flink_ok), "url": settings.flink_rest_url},
        "kafka": {**probe(lambda: stack_kafka._metadata_answers(settings)), "bootstrap": settings.kafka_bootstrap_servers},
        "minio": {**probe(lambda: stack_minio.healthy(settings)), "endpoint": settings.minio_endpoint},
    }


class FlinkCollector:
    """Asks the Flink REST API at scrape time, so ``/metrics`` is never stale."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self):
        up = GaugeMetricFamily("trendlab_flink_up", "1 when the Flink REST API answers")
        jobs = GaugeMetricFamily("trendlab_flink_jobs", "Flink jobs by state", labels=["state"])
        checkpoint = GaugeMetricFamily(
            "trendlab_flink_last_checkpoint_timestamp_seconds",
            "trigger time of the latest completed checkpoint of each running job", labels=["job_id", "job_name"],
        )
        try:
            with FlinkClient.from_settings(self.settings, timeout=3.0) as client:
                listed = client.jobs()
                by_state: dict[str, int] = {}
                for job in listed:
                    by_state[job.state] = by_state.get(job.state, 0) + 1
                    if job.state == "RUNNING":
                        cp = client.latest_checkpoint(job.id)
                        if cp is not None and cp.trigger_timestamp:
                            checkpoint.add_metric([job.id, job.name], cp.trigger_timestamp / 1000)
            up.add_metric([], 1)
            for state, n in sorted(by_state.items()):
                jobs.add_metric([state], n)
        except FlinkError:
            up.add_metric([], 0)
        yield up
        yield jobs
        yield checkpoint


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="trendlab", version="0.1.0", description=__doc__.split("\n\n")[0])
    registry = CollectorRegistry()
    requests = Counter("trendlab_http_requests", "HTTP requests", ["method", "route", "status"], registry=registry)
    latency = Histogram("trendlab_http_request_seconds", "HTTP request latency", ["route"], registry=registry)
    registry.register(FlinkCollector(settings))
    app.state.settings = settings
    app.state.registry = registry

    @app.middleware("http")
    async def count_requests(request: Request, call_next):
        t0 = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        name = getattr(route, "path", "unmatched")
        requests.labels(request.method, name, str(response.status_code)).inc()
        latency.labels(name).observe(time.perf_counter() - t0)
        return response

    @app.exception_handler(ServiceError)
    async def service_error(_request: Request, exc: ServiceError):
        return JSONResponse({"error": str(exc)}, status_code=exc.status)

    @app.exception_handler(FlinkError)
    async def flink_error(_request: Request, exc: FlinkError):
        return JSONResponse({"error": str(exc)}, status_code=502)

    def authorize(request: Request) -> None:
        token = settings.api_token
        if token:
            if request.headers.get("authorization", "") != f"Bearer {token}":
                raise ServiceError(401, "missing or wrong bearer token (Authorization: Bearer <TRENDLAB_API_TOKEN>)")
        elif (request.client.host if request.client else "") not in LOOPBACK:
            raise ServiceError(403, "deploy/stop from other hosts need TRENDLAB_API_TOKEN to be set")

    @app.get("/health/live")
    def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health")
    def health():
        parts = check_parts(settings)
        ok = all(p["up"] for p in parts.values())
        return JSONResponse({"status": "ok" if ok else "degraded", "parts": parts}, status_code=200 if ok else 503)

    @app.get("/metrics")
    def metrics():
        return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/config")
    def config() -> dict[str, Any]:
        return settings.public_dict()

    @app.get("/flink/jobs")
    def jobs() -> dict[str, Any]:
        out = []
        with FlinkClient.from_settings(settings) as client:
            for job in client.jobs():
                row = job.to_dict()
                cp = client.latest_checkpoint(job.id) if job.state == "RUNNING" else None
                row["latest_checkpoint"] = cp.external_path if cp else None
                out.append(row)
        return {"jobs": out}

    @app.get("/flink/jobs/{job_id}")
    def job(job_id: str) -> dict[str, Any]:
        with FlinkClient.from_settings(settings) as client:
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

    @app.post("/flink/deploy")
    def deploy(body: DeployRequest, request: Request) -> dict[str, str]:
        authorize(request)
        from trendlab.flink.deploy import deploy_job

        try:
            params = DetectionParams.from_dict(body.params or {}, window=body.window, slide=body.slide)
        except ValueError as exc:
            raise ServiceError(422, str(exc)) from None
        with FlinkClient.from_settings(settings, timeout=5.0) as client:
            client.overview()  # fail fast, with Flink's address, before touching Kafka or packaging
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as fh:
            yaml.safe_dump(params.to_dict(), fh)
            fh.flush()
            job_id = deploy_job(settings, fh.name, from_savepoint=body.from_savepoint)
        return {"job_id": job_id}

    @app.post("/flink/jobs/{job_id}/stop")
    def stop(job_id: str, request: Request, body: StopRequest | None = None) -> dict[str, Any]:
        authorize(request)
        from trendlab.flink.deploy import stop_job

        savepoint = stop_job(settings, job_id, savepoint=(body or StopRequest()).savepoint)
        return {"job_id": job_id, "savepoint": savepoint}

    return app
