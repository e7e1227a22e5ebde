"""Every GraphQL error leaves with an `extensions.code` from the contract.

Domain errors (services.errors) keep their message and code; GraphQL's own parse, validation and
variable errors become BAD_USER_INPUT; anything unexpected is logged here with its traceback and
reaches the client only as INTERNAL, so no internal detail (or secret) leaks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import MaskErrors, SchemaExtension

from resolvers.operation_checks import chosen_operation, root_fields
from services.errors import AppError, Unauthenticated

log = logging.getLogger("atendimento.graphql")

INTROSPECTION_FIELDS = {"__schema", "__type", "__typename"}


def _root_cause(error: GraphQLError) -> BaseException | None:
    cause = error.original_error
    while isinstance(cause, GraphQLError) and cause.original_error is not None:
        cause = cause.original_error
    return cause


def with_code(error: GraphQLError) -> GraphQLError:
    cause = _root_cause(error)
    if isinstance(cause, AppError):
        extensions = dict(cause.extensions)
        message = cause.message
    elif cause is None or isinstance(cause, GraphQLError):
        if error.extensions and "code" in error.extensions:
            return error
        extensions = {"code": "BAD_USER_INPUT"}
        message = error.message
    else:
        log.error("unexpected error in %s", error.path, exc_info=cause)
        extensions = {"code": "INTERNAL"}
        message = "Internal server error"
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


def add_code_in_place(error: GraphQLError) -> None:
    """The same rule for errors Strawberry reports outside the operation's extensions (a
    failure in a parsing or execution hook), where the list cannot be replaced."""
    coded = with_code(error)
    error.message = coded.message
    error.extensions = coded.extensions


class ErrorCodes(MaskErrors):
    def __init__(self) -> None:
        super().__init__()

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [with_code(e) for e in errors]

    def _process_result(self, result: object) -> None:
        # Duck-typed: MaskErrors checks against a runtime Protocol, and that isinstance was a
        # twentieth of the CPU of delivering live events (BENCHMARKS.md).
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)  # type: ignore[attr-defined]


class RequireAuthentication(SchemaExtension):
    """One gate for every operation: no valid token, no execution.

    Introspection alone is allowed without a token so GraphiQL can show the docs before one is
    pasted; it is turned off entirely with GRAPHIQL=false.
    """

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        if context.principal is None and not self._introspection_only():
            raise context.auth_error or Unauthenticated("Authentication required")
        yield

    def _introspection_only(self) -> bool:
        # Decided from the fields the operation selects (through its fragments), never from
        # names a client chooses, such as a fragment called `__schema`.
        context = self.execution_context
        document = context.graphql_document
        if document is None:
            return False
        operation = chosen_operation(document, context.operation_name)
        if operation is None:
            return False
        return all(name in INTROSPECTION_FIELDS for name in root_fields(document, operation))
