"""One log line per HTTP request, with a request id that every log line of that request
carries (and that the client gets back in `X-Request-ID`)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("atendimento.http")
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
QUIET_PATHS = {"/healthz", "/readyz", "/metrics"}
SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        current = request_id.get()
        if current is not None:
            record.ctx_request_id = current
        return True


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = given if SAFE_ID.match(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            # A websocket's messages carry no status or headers to note: its frames (every
            # live event's copy, BENCHMARKS.md) go straight to the server.
            await self.app(scope, receive, send_with_id if scope["type"] == "http" else send)
        finally:
            path = scope["path"]
            level = logging.DEBUG if path in QUIET_PATHS else logging.INFO
            elapsed = (time.perf_counter() - started) * 1000
            kind = "WS" if scope["type"] == "websocket" else scope["method"]
            log.log(
                level,
                "%s %s %s %.1fms",
                kind,
                path,
                status or "-",
                elapsed,
                extra={
                    "ctx_status": status,
                    "ctx_duration_ms": round(elapsed, 1),
                    "ctx_path": path,
                    "ctx_method": kind,
                    "ctx_request_id": rid,
                },
            )
            request_id.reset(token)
