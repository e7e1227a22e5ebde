"""The Strawberry ASGI view: authentication for HTTP and websockets, and the request context."""

from __future__ import annotations

import json
import logging
from typing import Any

from cross_web import HTTPException
from graphql import (
    GraphQLError,
    OperationDefinitionNode,
    OperationType as GraphQLOperationType,
    parse,
)
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import (
    CannotGetOperationTypeError,
    InvalidOperationTypeError,
)
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UnsetType

from resolvers.context import Context
from resolvers.graphiql import ASSETS_PATH, local_page
from resolvers.live_fanout import LiveFanout
from resolvers.media_types import GRAPHQL_RESPONSE, JSON, prefers_graphql_response
from resolvers.persisted_queries import (
    PersistedQueries,
    PersistedQueryMismatch,
    PersistedQueryNotFound,
)
from resolvers.request_body import BodyTooLarge, body_limit, capped, declared_length
from resolvers.ws_handlers import LegacyWSHandler, TransportWSHandler, credential_of
from services.errors import AppError, Unauthenticated
from services.identity.auth import Principal, bearer_value
from services.platform.runtime import Runtime

log = logging.getLogger("atendimento.auth")

# Results of live events whose JSON text is remembered (a few events' worth of selections).
RECENT_RESULTS = 64
# The `extensions.code` of a request refused before GraphQL runs, by HTTP status.
HTTP_CODES = {401: "UNAUTHENTICATED", 404: "NOT_FOUND"}


class RefusedUnread(Exception):
    """A request refused from its headers alone, before any of its body is read."""

    def __init__(self, error: AppError) -> None:
        super().__init__(error.message)
        self.error = error


SUBSCRIPTION_NEEDS_A_STREAM = (
    "A subscription needs a stream: use the websocket at /graphql (graphql-transport-ws or "
    'graphql-ws), or send it over HTTP with Accept: multipart/mixed;subscriptionSpec="1.0" '
    "(Apollo's multipart protocol) or Accept: text/event-stream (GraphQL over SSE), "
    "not as a plain JSON request"
)


def http_error(status: int, message: str, code: str | None = None) -> JSONResponse:
    """A refusal outside GraphQL execution, in the shape GraphQL clients read errors from."""
    code = code or HTTP_CODES.get(status, "BAD_USER_INPUT")
    headers = (
        {"www-authenticate": "Bearer"}
        if status == 401
        else {"allow": "POST"}
        if status == 405
        else None
    )
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]},
        status_code=status,
        headers=headers,
    )


def _negotiate(request: Request, response: Response) -> None:
    """Serve a JSON answer as application/graphql-response+json to a client that prefers it,
    with a request error's 4xx status."""
    response.headers.append("vary", "Accept")
    # Only a JSON answer: a stream (multipart, SSE) keeps its own media type.
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != JSON or not prefers_graphql_response(request.headers.get("accept")):
        return
    response.headers["content-type"] = f"{GRAPHQL_RESPONSE}; charset=utf-8"
    failed = getattr(request.state, "request_error", None)
    if failed is not None and response.status_code == 200:
        response.status_code = failed


def _subscribes(query: str | None, operation_name: str | None) -> bool:
    """Whether the operation a request names is a subscription (false for what does not parse:
    the answer to that is a JSON error)."""
    if query is None:
        return False
    try:
        document = parse(query)
    except GraphQLError:
        return False
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None
            or (definition.name is not None and definition.name.value == operation_name)
        ):
            return definition.operation is GraphQLOperationType.SUBSCRIPTION
    return False


def _request_error(message: str, code: str) -> ExecutionResult:
    """A request refused before anything ran, answered like a document that did not parse."""
    return ExecutionResult(data=None, errors=[GraphQLError(message, extensions={"code": code})])


class GraphQLView(GraphQL[Context, None]):
    # Both check the token on every operation and close the socket when it expires.
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(
        self, runtime: Runtime, live_fanout: LiveFanout | None = None, **options: Any
    ) -> None:
        super().__init__(**options)
        self.runtime = runtime
        # LIVE_FANOUT=direct: live events reach graphql-transport-ws subscribers through it.
        self.live_fanout = live_fanout
        self.persisted_queries = PersistedQueries()
        self._recent: dict[int, tuple[object, str]] = {}

    def encode_json(self, data: object) -> str:
        # A live event's result is one shared object for all its subscribers (schema/executor.py):
        # encode it once and frame it per subscription.
        if (
            isinstance(data, dict)
            and data.get("type") == "next"
            and len(data) == 3
            and isinstance(data.get("payload"), dict)
            and data["payload"].keys() == {"data"}
        ):
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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            limited = await self._admit(scope, receive) if scope["method"] == "POST" else receive
            response = await self.run(Request(scope, limited))
        except HTTPException as error:
            response = http_error(error.status_code, error.reason)
        except RefusedUnread as refused:
            response = http_error(401, refused.error.message, refused.error.code)
        except BodyTooLarge as error:
            response = http_error(413, str(error))
        _negotiate(Request(scope), response)
        await response(scope, receive, send)

    async def _admit(self, scope: Scope, receive: Receive) -> Receive:
        """Authenticate from the headers, then allow the body only as much as that caller may
        send: the token is checked before a byte of the body is read."""
        request = Request(scope)
        principal: Principal | None = None
        error: AppError = Unauthenticated("Authentication required")
        credential = request.headers.get("authorization")
        if credential:
            try:
                principal = await self.authenticate(credential)
            except AppError as refused:
                error = refused
        request.state.graphql_auth = (principal, error)
        settings = self.runtime.settings
        multipart = (
            parse_content_type(request.headers.get("content-type", ""))[0] == "multipart/form-data"
        )
        limit = body_limit(
            signed_in=principal is not None,
            multipart=multipart,
            json_max=settings.graphql_max_body_bytes,
            media_max=settings.media_max_bytes,
        )
        # Without GraphiQL an anonymous caller can run nothing at all, not even introspection.
        if limit is None or (principal is None and not settings.graphiql):
            raise RefusedUnread(error)
        declared = declared_length(request.headers.get("content-length"))
        if declared is not None and declared > limit:
            raise BodyTooLarge(limit)
        return capped(receive, limit)

    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        # Clients such as urql list text/event-stream and multipart/mixed in the Accept of every
        # operation; only a subscription is streamed, a query or mutation is answered as JSON.
        if (
            isinstance(data, GraphQLRequestData)
            and data.protocol != "http"
            and not _subscribes(data.query, data.operation_name)
        ):
            data.protocol = "http"
        return data

    async def execute_single(
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Any,
        context: Context,
        root_value: Any,
        request_data: Any,
    ) -> ExecutionResult:
        # A subscription reaches here only when the request asked for one JSON answer (the
        # streamed ones, multipart and SSE, go their own way): Strawberry would run it and fail
        # inside it, so it is refused before it runs, saying what works.
        allowed = OperationType.from_http(request_adapter.method) - {OperationType.SUBSCRIPTION}
        try:
            query = self.persisted_queries.resolve(
                request_data.query,
                request_data.extensions,
                may_register=context.principal is not None,
            )
        except PersistedQueryNotFound:
            return _request_error("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
        except PersistedQueryMismatch as error:
            return _request_error(str(error), "BAD_USER_INPUT")
        try:
            return await self.schema.execute(
                query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except CannotGetOperationTypeError as error:
            raise HTTPException(400, error.as_http_error_reason()) from None
        except InvalidOperationTypeError as error:
            if error.operation_type is OperationType.SUBSCRIPTION:
                raise HTTPException(400, SUBSCRIPTION_NEEDS_A_STREAM) from None
            if error.operation_type is OperationType.MUTATION:
                # GET must stay safe to cache and to prefetch (GraphQL over HTTP).
                raise HTTPException(405, "Mutations are sent with POST") from None
            raise HTTPException(400, error.as_http_error_reason(request_adapter.method)) from None
        except MissingQueryError:
            raise HTTPException(400, "No GraphQL query found in the request") from None

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)
        if result.data is None and result.errors and all(e.path is None for e in result.errors):
            # A request error: nothing was executed, so the answer has no `data` (GraphQL
            # spec, "Response"), and a client that asked for graphql-response+json gets a 4xx.
            response.pop("data", None)
            codes = {(e.extensions or {}).get("code") for e in result.errors}
            request.state.request_error = 401 if "UNAUTHENTICATED" in codes else 400
        return response

    def parse_json(self, data: str | bytes) -> object:
        # The body is the client's: anything but a JSON object (or a batch list, refused later
        # with its own message) is a 400, never an error inside the server.
        try:
            parsed = super().parse_json(data)
        except (ValueError, RecursionError):
            raise HTTPException(400, "Unable to parse request body as JSON") from None
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "The request body must be a JSON object with a `query`")
        return parsed

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
            admitted = getattr(request.state, "graphql_auth", None)
            if admitted is not None:
                context.principal, error = admitted
                if context.principal is None:
                    context.auth_error = error
                return context
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
