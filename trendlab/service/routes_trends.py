"""``/trends``, ``/xrpc/app.bsky.unspecced.getTrends`` and the live page: what readers see (trends a
deny entry matches, rejected ones and, in approval mode, the ones not approved yet are never among them;
:mod:`trendlab.service.moderation`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from trendlab.errors import ConfigError
from trendlab.service import live
from trendlab.service.moderation import wanted_languages
from trendlab.service.requests import Context, context
from trendlab.service.security import ServiceError
from trendlab.service.trends import get_trends

LIVE_REFRESH_MS = 2000

router = APIRouter()


#: the boards of ``/trends?kind=``: topics (words and phrases; the default), trending links, or both
KINDS = ("topic", "link", "all")


def of_kind(rows: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The rows on the board of ``kind`` (:data:`KINDS`)."""
    return rows if kind == "all" else [r for r in rows if r.get("kind", "topic") == kind]


@router.get("/trends")
async def trends(request: Request, limit: int = 50, lang: str | None = None, kind: str = "topic",
                 ctx: Context = Depends(context)) -> dict[str, Any]:
    if not 1 <= limit <= 500:
        raise ServiceError(422, f"limit must be between 1 and 500, got {limit}")
    if kind not in KINDS:
        raise ServiceError(422, f"kind must be one of {', '.join(KINDS)}, got {kind[:40]!r}")
    langs = wanted_languages(lang, request.headers.get("accept-language"))
    rows = of_kind(ctx.publisher.public(langs), kind)
    return {**ctx.board.state(), "follower_error": ctx.follower.error, "moderation": ctx.settings.moderation,
            "lang": list(langs) if langs else "all", "kind": kind, "languages": ctx.publisher.languages(),
            "trends": rows[:limit]}


@router.get("/xrpc/app.bsky.unspecced.getTrends")
async def xrpc_get_trends(request: Request, limit: int = 10, viewer: str | None = None, lang: str | None = None,
                          ctx: Context = Depends(context)):
    if not 1 <= limit <= 25:  # XRPC's error shape: {"error": <name>, "message": …}
        return JSONResponse({"error": "InvalidRequest", "message": f"limit must be between 1 and 25, got {limit}"},
                            status_code=400)
    try:
        langs = wanted_languages(lang, request.headers.get("accept-language"))
    except ConfigError as exc:
        return JSONResponse({"error": "InvalidRequest", "message": str(exc)}, status_code=400)
    return get_trends(of_kind(ctx.publisher.public(langs), "topic")[:limit])  # Bluesky's trends are topics


@router.get("/trends/live")
async def trends_live() -> HTMLResponse:
    return HTMLResponse(live.page(LIVE_REFRESH_MS), headers={"Content-Security-Policy": live.CSP,
                                                              "Cache-Control": "no-store"})


@router.get("/trends/live.js")
async def trends_live_js() -> Response:
    return Response(live.SCRIPT, media_type="text/javascript", headers={"Cache-Control": "no-store"})
