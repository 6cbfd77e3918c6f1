"""What the REST service checks before it does anything a caller asks.

* :class:`BodyLimit` (ASGI middleware): a request body larger than :data:`MAX_BODY_BYTES` is refused
  with 413 before it is read (by ``Content-Length``) or as soon as it grows past the limit (chunked).
* :func:`authorize`: mutations need ``Authorization: Bearer <TRENDLAB_API_TOKEN>`` (compared with
  :func:`hmac.compare_digest`) when the token is set; without a token they need a loopback client *and*
  a JSON content type (a cross-site form cannot send one without a CORS preflight, which this service
  never grants) *and* a ``Host`` among ``TRENDLAB_ALLOWED_HOSTS`` (a DNS-rebound name is not). It runs
  before the body is read, so an unauthenticated caller learns nothing about the body's schema.
* :func:`authorize_read`: the moderation listings, under the token too (without one: loopback and Host).
* :func:`job_id`: Flink job ids are 32 hexadecimal characters, nothing else reaches Flink's URLs.
* :func:`restore_path`: ``from_savepoint`` is ``latest`` or a path inside the configured bucket's
  ``checkpoints/`` or ``savepoints/`` (the job-name check is :func:`trendlab.flink.restore.check_restore_path`).
"""

from __future__ import annotations

import hmac
import re

from trendlab.config import Settings

MAX_BODY_BYTES = 64 * 1024
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost", "testclient"})
JOB_ID = re.compile(r"[0-9a-f]{32}")


class ServiceError(Exception):
    """An answer other than 2xx, as ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def allowed_hosts(settings: Settings) -> frozenset[str]:
    return frozenset(h.strip().lower() for h in settings.allowed_hosts.split(",") if h.strip())


def host_name(host_header: str) -> str:
    """``Host`` without its port: ``127.0.0.1:8000`` → ``127.0.0.1``, ``[::1]:8000`` → ``[::1]``."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def authorize(settings: Settings, headers, client_host: str | None) -> None:
    """Raise :class:`ServiceError` (401/403/415) unless the caller may mutate; see the module docstring."""
    token = settings.api_token
    if token:
        given = headers.get("authorization", "")
        expected = f"Bearer {token}"
        if not hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8")):
            raise ServiceError(401, "missing or wrong bearer token (Authorization: Bearer <TRENDLAB_API_TOKEN>)")
        return
    if (client_host or "") not in LOOPBACK:
        raise ServiceError(403, "mutations (deploy, stop, moderation) from other hosts need TRENDLAB_API_TOKEN to be set")
    host = host_name(headers.get("host", ""))
    if host not in allowed_hosts(settings):
        raise ServiceError(403, f"Host {host!r} is not in TRENDLAB_ALLOWED_HOSTS (mutations without a token)")
    content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        raise ServiceError(415, f"mutations need Content-Type: application/json, got {content_type or 'none'!r}")


def authorize_read(settings: Settings, headers, client_host: str | None) -> None:
    """Moderators' reads (the denied and pending trends): the token when it is set; without one a loopback
    client and an allowed ``Host`` (a DNS-rebound page cannot read them). No content type: a GET has no body."""
    if settings.api_token:
        return authorize(settings, headers, client_host)
    if (client_host or "") not in LOOPBACK:
        raise ServiceError(403, "moderation from other hosts needs TRENDLAB_API_TOKEN to be set")
    host = host_name(headers.get("host", ""))
    if host not in allowed_hosts(settings):
        raise ServiceError(403, f"Host {host!r} is not in TRENDLAB_ALLOWED_HOSTS (moderation without a token)")


def job_id(value: str) -> str:
    if not JOB_ID.fullmatch(value or ""):
        shown = value if len(value) <= 40 else value[:37] + "..."
        raise ServiceError(422, f"job id must be 32 hexadecimal characters, got {shown!r}")
    return value


class BodyLimit:
    """ASGI middleware: 413 ``{"error": …}`` for bodies over ``limit`` bytes, before they are read whole."""

    def __init__(self, app, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.limit
                except ValueError:
                    too_big = True
                if too_big:
                    return await _too_large(send, self.limit)
        seen = 0
        started = False

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _BodyTooLarge()
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _too_large(send, self.limit)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send, limit: int) -> None:
    import orjson

    body = orjson.dumps({"error": f"request body larger than {limit} bytes"})
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
