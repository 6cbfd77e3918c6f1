"""What every router of the service shares: its context (:class:`Context`, on ``app.state.ctx``) and the
reading of JSON bodies (after :func:`trendlab.service.security.authorize`)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from trendlab.config import Settings
from trendlab.service.security import ServiceError


@dataclass
class Context:
    settings: Settings
    metrics: Any  # ServiceMetrics
    probe: Any  # HealthProbe
    board: Any  # TrendBoard
    follower: Any  # KafkaFollower
    render: ThreadPoolExecutor
    publisher: Any  # moderation.Publisher
    moderation: Any  # moderation.Moderation
    moderation_log: Any  # MemoryModerationLog | KafkaModerationLog


async def context(request: Request) -> Context:
    """The dependency of every route: ``async`` so that FastAPI calls it on the event loop (a plain
    ``def`` dependency would take a threadpool worker on every request)."""
    return request.app.state.ctx


def client_host(request: Request) -> str | None:
    return request.client.host if request.client else None


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def validation_message(errors) -> str:
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
    return f"{where}: {first.get('msg', 'invalid')}"


async def read_model(request: Request, model: type[BaseModel], *, optional: bool = False) -> BaseModel:
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
        raise ServiceError(422, validation_message(exc.errors())) from None
