"""Evolution's webhook deliveries over HTTP.

`POST /api/webhooks/evolution/i/{instanceName}[/{event}]` is each number's own URL: the
delivery is authenticated from the request line and headers, and only then is its body read
(under `WEBHOOK_MAX_BYTES`) and parsed. The older shared URL `POST /api/webhooks/evolution
[/{event}]` names no instance: its first bytes do (Evolution writes `event` and `instance`
first), so there too the body is read only once the delivery is authenticated.

Before anything, each client address spends from its own rate limit. A refused delivery costs
an HMAC and stores nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.instances.lifecycle import INSTANCE_WEBHOOK_PATH, WEBHOOK_PATH
from services.platform.runtime import Runtime
from services.webhooks import envelope
from services.webhooks.receiver import Outcome, WebhookReceiver, count

# A shared-URL body whose first bytes do not name its instance is read whole before we know
# whose it is: Evolution never sends one, so it gets only this much.
UNORDERED_MAX_BYTES = 1024 * 1024

TOO_LARGE = "body too large"


class _Body:
    """A request body read on demand, never past a limit."""

    def __init__(self, request: Request) -> None:
        self._chunks: AsyncIterator[bytes] = request.stream().__aiter__()
        self.data = bytearray()
        self.ended = False

    async def read(self, limit: int, until: int | None = None) -> bool:
        """Reads to the end (or to `until` bytes); False as soon as it passes `limit`."""
        while not self.ended and (until is None or len(self.data) < until):
            try:
                chunk = await anext(self._chunks)
            except StopAsyncIteration:
                self.ended = True
                break
            self.data += chunk
            if len(self.data) > limit:
                return False
        return True


def webhook_routes(runtime: Runtime, receiver: WebhookReceiver) -> list[Route]:
    max_bytes = runtime.settings.webhook_max_bytes

    def precheck(request: Request) -> Outcome | None:
        source = request.client.host if request.client else "unknown"
        wait = runtime.webhook_source_limiter.take(source)
        if wait:
            return Outcome(429, {"error": "too many webhooks", "retryAfter": round(wait, 3)})
        if "json" not in request.headers.get("content-type", "").lower():
            return Outcome(400, {"error": "send the webhook as application/json"})
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            return Outcome(422, {"error": TOO_LARGE, "maxBytes": max_bytes})
        return None

    async def per_instance(request: Request) -> Outcome:
        refused = precheck(request)
        if refused is not None:
            return refused
        name = request.path_params["instance"]
        known = await receiver.authenticate(name, request.headers)
        if isinstance(known, Outcome):
            return known
        body = _Body(request)
        if not await body.read(max_bytes):
            return Outcome(422, {"error": TOO_LARGE, "maxBytes": max_bytes})
        return await receiver.accept(
            known, name, request.headers, bytes(body.data), request.path_params.get("event")
        )

    async def shared(request: Request) -> Outcome:
        refused = precheck(request)
        if refused is not None:
            return refused
        body = _Body(request)
        if not await body.read(max_bytes, until=envelope.HEAD_BYTES):
            return Outcome(422, {"error": TOO_LARGE, "maxBytes": max_bytes})
        leading = envelope.leading_fields(bytes(body.data[: envelope.HEAD_BYTES]))
        payload = None
        if leading is not None:
            name = leading.instance
            known = await receiver.authenticate(name, request.headers)
            if isinstance(known, Outcome):
                return known
            if not await body.read(max_bytes):
                return Outcome(422, {"error": TOO_LARGE, "maxBytes": max_bytes})
        else:
            limit = min(max_bytes, UNORDERED_MAX_BYTES)
            if not await body.read(limit):
                error = f"{TOO_LARGE} for a body that does not begin with 'event' and 'instance'"
                return Outcome(422, {"error": error, "maxBytes": limit})
            try:
                payload = await envelope.parse(bytes(body.data))
            except envelope.BadBody as error:
                return Outcome(400, {"error": str(error)})
            name = payload["instance"]
            known = await receiver.authenticate(name, request.headers)
            if isinstance(known, Outcome):
                return known
        return await receiver.accept(
            known,
            name,
            request.headers,
            bytes(body.data),
            request.path_params.get("event"),
            payload,
        )

    def endpoint(handle: _Handler) -> _Endpoint:
        async def answer(request: Request) -> JSONResponse:
            try:
                outcome = count(await handle(request))
            except ClientDisconnect:
                outcome = count(Outcome(400, {"error": "the body was cut short"}))
            # What the client still sends of a refused body is dropped by the HTTP server as
            # it arrives (never buffered); closing instead would lose the answer to a reset.
            return JSONResponse(outcome.body, status_code=outcome.status)

        return answer

    return [
        Route(INSTANCE_WEBHOOK_PATH + "/{instance}", endpoint(per_instance), methods=["POST"]),
        Route(
            INSTANCE_WEBHOOK_PATH + "/{instance}/{event}", endpoint(per_instance), methods=["POST"]
        ),
        Route(WEBHOOK_PATH, endpoint(shared), methods=["POST"]),
        Route(WEBHOOK_PATH + "/{event}", endpoint(shared), methods=["POST"]),
    ]


_Handler = Callable[[Request], Awaitable[Outcome]]
_Endpoint = Callable[[Request], Awaitable[JSONResponse]]
