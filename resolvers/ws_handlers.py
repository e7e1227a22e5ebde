"""Websocket protocol handlers that keep checking the token after `connection_init`.

A socket lives longer than its token. Every operation (`subscribe` on graphql-transport-ws,
`start` on the legacy graphql-ws) verifies the token again, and a timer armed at
`connection_init` closes the socket with 4403 when the token expires, stopping its
subscriptions first. The client reconnects with a fresh token and resumes with `afterSeq`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from resolvers import live_fanout
from resolvers.context import Context
from services.errors import AppError
from services.identity.auth import TokenVerifier, bearer_value

log = logging.getLogger("atendimento.auth")

EXPIRED_CODE = 4403
EXPIRED_REASON = "Token expired"
CREDENTIAL_KEYS = ("Authorization", "authorization", "token")


def credential_of(params: object) -> str | None:
    """The bearer credential a client put in its `connection_init` payload."""
    if not isinstance(params, dict):
        return None
    value = next((params[k] for k in CREDENTIAL_KEYS if params.get(k)), None)
    return value if isinstance(value, str) else None


class TokenWatch:
    """The token of one socket: re-verified on demand, and a timer that ends the socket
    when it expires."""

    def __init__(self, verifier: TokenVerifier, expire: Callable[[], Awaitable[None]]) -> None:
        self._verifier = verifier
        self._expire = expire
        self._token: str | None = None
        self._timer: asyncio.Task[None] | None = None
        self.expired = False

    def start(self, context: Context) -> None:
        self.stop()  # the legacy protocol lets a client initialise again
        if context.principal is None:
            return
        self._token = bearer_value(credential_of(context.connection_params))
        self._timer = asyncio.create_task(self._close_at(context.principal.expires_at))

    async def still_valid(self) -> bool:
        """Verify the token again (cached signature, fresh expiry); end the socket if not."""
        if self.expired:
            return False
        try:
            await self._verifier.verify(self._token)
        except AppError:
            await self.end()
            return False
        return True

    async def end(self) -> None:
        if self.expired:
            return
        self.expired = True
        await self._expire()

    def stop(self) -> None:
        if self._timer is not None and self._timer is not asyncio.current_task():
            self._timer.cancel()

    async def _close_at(self, expires_at: float) -> None:
        # Capped so a token without a usable expiry cannot overflow the event loop's timer.
        await asyncio.sleep(min(max(0.0, expires_at - time.time()), 365 * 86400))
        await self.end()


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with the token checked on every operation and at its expiry."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.watch = TokenWatch(self.view.runtime.tokens, self._expire)  # type: ignore[attr-defined]

    async def handle_message(self, message: Any) -> None:
        if not self.watch.expired:  # messages racing the close are ignored
            await super().handle_message(message)

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged:
            self.watch.start(self.context)

    async def handle_subscribe(self, message: Any) -> None:
        if self.connection_acknowledged and not await self.watch.still_valid():
            return
        # With LIVE_FANOUT=direct, the operation's live events may be delivered as ready frames.
        with live_fanout.starting(self.view.live_fanout, self, message):  # type: ignore[attr-defined]
            await super().handle_subscribe(message)

    async def shutdown(self) -> None:
        self.watch.stop()
        await super().shutdown()

    async def _expire(self) -> None:
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        with contextlib.suppress(Exception):  # the client may be gone already
            await self.websocket.close(code=EXPIRED_CODE, reason=EXPIRED_REASON)


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    """The legacy graphql-ws protocol with the same checks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.watch = TokenWatch(self.view.runtime.tokens, self._expire)  # type: ignore[attr-defined]

    async def handle_message(self, message: Any) -> None:
        if not self.watch.expired:
            await super().handle_message(message)

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged:
            self.watch.start(self.context)

    async def handle_start(self, message: Any) -> None:
        if self.connection_acknowledged and not await self.watch.still_valid():
            return
        await super().handle_start(message)

    async def cleanup(self) -> None:
        self.watch.stop()
        await super().cleanup()

    async def _expire(self) -> None:
        await super().cleanup()
        if self.keep_alive_task is not None:
            self.keep_alive_task.cancel()
        with contextlib.suppress(Exception):
            await self.websocket.close(code=EXPIRED_CODE, reason=EXPIRED_REASON)
