"""``/``, ``/health``, ``/health/live``, ``/metrics``, ``/config``."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from trendlab.service.requests import Context, context

router = APIRouter()

LINKS = {
    "health": "/health", "live": "/health/live", "metrics": "/metrics", "config": "/config",
    "flink_status": "/flink/status", "flink_jobs": "/flink/jobs", "deploy": "/flink/deploy",
    "stop": "/flink/stop", "trends": "/trends", "get_trends": "/xrpc/app.bsky.unspecced.getTrends",
    "trends_live": "/trends/live", "moderation": "/moderation/trends", "docs": "/docs",
}


@router.get("/")
async def root() -> dict[str, Any]:
    from trendlab.service.app import __version__

    return {"service": "trendlab", "version": __version__, "links": LINKS}


@router.get("/health/live")
async def health_live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health")
async def health(ctx: Context = Depends(context)):
    parts = await ctx.probe.parts()
    ok = all(p["up"] for p in parts.values())
    return JSONResponse({"status": "ok" if ok else "degraded", "parts": parts}, status_code=200 if ok else 503)


@router.get("/metrics")
async def metrics_text(ctx: Context = Depends(context)):
    # rendering is CPU under the GIL: one thread of its own does it, off the event loop (liveness keeps
    # answering during a scrape) and out of the request threadpool (50 concurrent scrapes add no threads)
    body = await asyncio.get_running_loop().run_in_executor(ctx.render, generate_latest, ctx.metrics.registry)
    return PlainTextResponse(body, media_type=CONTENT_TYPE_LATEST)


@router.get("/config")
async def config(ctx: Context = Depends(context)) -> dict[str, Any]:
    return ctx.settings.public_dict()
