"""The moderation routes (:mod:`trendlab.service.moderation`), all under the token, authorised before
their body is read, as deploy and stop are (:mod:`trendlab.service.security`):

``GET  /moderation/trends[?status=&lang=]``  the board's trends (``limit``, default 200) with ``id``, ``moderation`` status
                                        (pending, approved, published, rejected, denied) and ``denied_by``
``GET  /moderation/pending[?limit=]``   the trends waiting for a decision
``POST /moderation/approve``            ``{"id": …, "moderator": "…", "reason": "…"}``
``POST /moderation/reject``             the same; the trend is not shown again
``GET  /moderation/decisions``          every decision: who, when, on what (newest first)
``GET  /moderation/deny``               the deny list (with who added or removed each entry, and when)
``POST /moderation/deny``               ``{"add": ["word", "a phrase", "/pattern/"], "remove": [...]}``
``GET  /moderation/decoys``             rejected trends' keywords as ``labels.json`` decoys (tune/evaluate)
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from trendlab.service.moderation import STATUSES, in_languages, wanted_languages, who_decides
from trendlab.service.requests import Context, client_host, context, read_model
from trendlab.service.security import ServiceError, authorize, authorize_read

router = APIRouter(prefix="/moderation")


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=64)
    moderator: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, max_length=500)


class DenyChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    add: list[str] = Field(default_factory=list, max_length=1000)
    remove: list[str] = Field(default_factory=list, max_length=1000)
    moderator: str | None = Field(default=None, max_length=64)


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= 1000:
        raise ServiceError(422, f"limit must be between 1 and 1000, got {limit}")


def _read(request: Request, ctx: Context) -> None:
    authorize_read(ctx.settings, request.headers, client_host(request))


@router.get("/trends")
async def moderation_trends(request: Request, status: str | None = None, lang: str | None = None, limit: int = 200,
                            ctx: Context = Depends(context)) -> dict[str, Any]:
    _read(request, ctx)
    _check_limit(limit)
    if status is not None and status not in STATUSES:
        raise ServiceError(422, f"status must be one of {', '.join(STATUSES)}, got {status[:40]!r}")
    langs = wanted_languages(lang, None)
    rows = [r for r in ctx.publisher.rows() if in_languages(r, langs)]
    return {"mode": ctx.settings.moderation, "ready": ctx.moderation_log.ready,
            "error": ctx.moderation_log.error,
            "trends": [r for r in rows if status is None or r["moderation"] == status][:limit]}


@router.get("/pending")
async def pending(request: Request, limit: int = 200, ctx: Context = Depends(context)) -> dict[str, Any]:
    _read(request, ctx)
    _check_limit(limit)
    return {"mode": ctx.settings.moderation,
            "trends": [r for r in ctx.publisher.rows() if r["moderation"] == "pending"][:limit]}


async def _decide(request: Request, ctx: Context, decision: str) -> dict[str, Any]:
    authorize(ctx.settings, request.headers, client_host(request))
    body = await read_model(request, Decision)
    who = who_decides(ctx.settings, request.headers, body.moderator)
    record = await run_in_threadpool(ctx.moderation.decide, body.id, decision, who, body.reason)
    ctx.metrics.moderation_decisions.labels(decision).inc()
    return record


@router.post("/approve")
async def approve(request: Request, ctx: Context = Depends(context)) -> dict[str, Any]:
    return await _decide(request, ctx, "approved")


@router.post("/reject")
async def reject(request: Request, ctx: Context = Depends(context)) -> dict[str, Any]:
    return await _decide(request, ctx, "rejected")


@router.get("/decisions")
async def decisions(request: Request, ctx: Context = Depends(context)) -> dict[str, Any]:
    _read(request, ctx)
    return {"decisions": ctx.moderation.state.decision_list()}


@router.get("/deny")
async def deny_list(request: Request, ctx: Context = Depends(context)) -> dict[str, Any]:
    _read(request, ctx)
    return {"entries": ctx.moderation.state.deny_entries()}


@router.post("/deny")
async def change_deny(request: Request, ctx: Context = Depends(context)) -> dict[str, Any]:
    authorize(ctx.settings, request.headers, client_host(request))
    body = await read_model(request, DenyChange)
    who = who_decides(ctx.settings, request.headers, body.moderator)
    return await run_in_threadpool(ctx.moderation.change_deny, body.add, body.remove, who)


@router.get("/decoys")
async def decoys(request: Request, ctx: Context = Depends(context)) -> dict[str, Any]:
    _read(request, ctx)
    return ctx.moderation.decoys()
