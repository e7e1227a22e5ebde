"""The Strawberry ASGI view: authentication for HTTP and websockets, and the request context."""

from __future__ import annotations

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
from resolvers.loaders import Loaders
from services.auth import Principal, bearer_value, verify_token
from services.errors import AppError
from services.runtime import Runtime

log = logging.getLogger("atendimento.auth")


class GraphQLView(GraphQL[Context, None]):
    def __init__(self, runtime: Runtime, **options: Any) -> None:
        super().__init__(**options)
        self.runtime = runtime

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        # Vendored assets (make graphiql-assets) instead of the CDN, when present and verified.
        prefix = request.scope.get("root_path", "") + ASSETS_PATH
        return HTMLResponse(local_page(self.graphql_ide_html, prefix))

    async def authenticate(self, credential: str | None) -> Principal:
        principal = verify_token(bearer_value(credential), self.runtime.jwt_secret)
        await self.runtime.profiles.ensure(self.runtime.db, principal)
        return principal

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None = None
    ) -> Context:
        context = Context(
            runtime=self.runtime,
            request=request,
            response=response,
            loaders=Loaders(self.runtime, None),
        )
        if isinstance(request, Request):
            try:
                context.principal = await self.authenticate(request.headers.get("authorization"))
            except AppError as error:
                context.auth_error = error
            context.loaders = Loaders(self.runtime, context.principal)
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        credential = next(
            (params[k] for k in ("Authorization", "authorization", "token") if params.get(k)), None
        )
        try:
            context.principal = await self.authenticate(
                credential if isinstance(credential, str) else None
            )
        except AppError as error:
            raise ConnectionRejectionError({"message": error.message, "code": error.code}) from None
        context.loaders = Loaders(self.runtime, context.principal)
        return None
