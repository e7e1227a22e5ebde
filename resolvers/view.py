"""The Strawberry ASGI view: authentication for HTTP and websockets, and the request context."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UnsetType

from resolvers.context import Context
from resolvers.graphiql import ASSETS_PATH, local_page
from resolvers.ws_handlers import LegacyWSHandler, TransportWSHandler, credential_of
from services.auth import Principal, bearer_value
from services.errors import AppError
from services.runtime import Runtime

log = logging.getLogger("atendimento.auth")

# Results of live events whose JSON text is remembered (a few events' worth of selections).
RECENT_RESULTS = 64


class GraphQLView(GraphQL[Context, None]):
    # Both check the token on every operation and close the socket when it expires.
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(self, runtime: Runtime, **options: Any) -> None:
        super().__init__(**options)
        self.runtime = runtime
        self._recent: dict[int, tuple[object, str]] = {}

    def encode_json(self, data: object) -> str:
        # A live event's result is one shared object for all its subscribers (schema/executor.py):
        # encode it once and frame it per subscription.
        if (isinstance(data, dict) and data.get("type") == "next" and len(data) == 3
                and isinstance(data.get("payload"), dict) and data["payload"].keys() == {"data"}):
            payload = self._encoded_payload(data["payload"]["data"])
            return f'{{"id":{json.dumps(data["id"])},"type":"next","payload":{payload}}}'
        return json.dumps(data, separators=(",", ":"))

    def _encoded_payload(self, result: object) -> str:
        known = self._recent.get(id(result))
        if known is not None and known[0] is result:
            return known[1]
        encoded = json.dumps({"data": result}, separators=(",", ":"))
        if len(self._recent) >= RECENT_RESULTS:
            self._recent.pop(next(iter(self._recent)))
        # The result is kept with its text, so its id cannot be reused while remembered.
        self._recent[id(result)] = (result, encoded)
        return encoded

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        # Vendored assets (make graphiql-assets) instead of the CDN, when present and verified.
        prefix = request.scope.get("root_path", "") + ASSETS_PATH
        return HTMLResponse(local_page(self.graphql_ide_html, prefix))

    async def authenticate(self, credential: str | None) -> Principal:
        principal = await self.runtime.tokens.verify(bearer_value(credential))
        await self.runtime.profiles.ensure(self.runtime.db, principal)
        return principal

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None = None
    ) -> Context:
        context = Context(runtime=self.runtime, request=request, response=response)
        if isinstance(request, Request):
            try:
                context.principal = await self.authenticate(request.headers.get("authorization"))
            except AppError as error:
                context.auth_error = error
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        try:
            context.principal = await self.authenticate(credential_of(context.connection_params))
        except AppError as error:
            raise ConnectionRejectionError({"message": error.message, "code": error.code}) from None
        return None
