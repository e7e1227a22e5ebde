"""Parsing and validation of operations: both cached, both with the API's limits.

One extension instead of strawberry's four (ParserCache, MaxTokensLimiter, AddValidationRules,
ValidationCache): every extension costs hooks on each request and an open hook on each live
subscription, and the four only ever worked together here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse, validate
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from resolvers.operation_checks import (
    StorableStringsRule,
    bad_input,
    chosen_operation,
    operation_cost,
    operation_error,
    unstorable_variable,
)

MAX_TOKENS = 4000
# Distinct operation texts remembered; a public endpoint cannot grow it without bound.
CACHE_SIZE = 512
# When the context carries no settings (GRAPHQL_MAX_COST's default).
DEFAULT_MAX_COST = 2000


@lru_cache(maxsize=CACHE_SIZE)
def _parse(query: str, options: tuple[tuple[str, Any], ...]) -> DocumentNode:
    return parse(query, **dict(options), max_tokens=MAX_TOKENS)


@lru_cache(maxsize=CACHE_SIZE)
def _validate(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[type[ASTValidationRule], ...],
    hide_suggestions: bool,
) -> list[GraphQLError]:
    return validate(schema, document, rules, hide_suggestions=hide_suggestions)


def _operation_errors(context: ExecutionContext) -> list[GraphQLError]:
    """Checks of the operation with its variables, once the document itself is valid."""
    document = context.graphql_document
    assert document is not None
    # The name the client sent: Strawberry's `operation_name` falls back to the first one's.
    name = getattr(context, "_provided_operation_name", context.operation_name)
    error = operation_error(document, name) or unstorable_variable(context.variables)
    if error is not None:
        return [error]
    operation = chosen_operation(document, name)
    if operation is None:
        return []
    runtime = getattr(context.context, "runtime", None)
    limit = runtime.settings.graphql_max_cost if runtime is not None else DEFAULT_MAX_COST
    cost = operation_cost(context.schema._schema, document, operation, context.variables)
    if cost > limit:
        return [
            bad_input(
                f"This operation may return {cost} items, more than the limit of "
                f"{limit}: ask for smaller pages (first) or fewer aliases"
            )
        ]
    return []


class Documents(SchemaExtension):
    def __init__(
        self, rules: Sequence[type[ASTValidationRule]], hide_suggestions: bool = False
    ) -> None:
        self.rules = (*rules, StorableStringsRule)
        # Without introspection, "Did you mean ...?" would hand the schema out piece by piece.
        self.hide_suggestions = hide_suggestions

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        options = tuple(
            sorted((k, v) for k, v in context.parse_options.items() if k != "max_tokens")
        )
        context.graphql_document = _parse(context.query, options)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None
        errors = _validate(
            context.schema._schema,
            context.graphql_document,
            (*context.validation_rules, *self.rules),
            self.hide_suggestions,
        )
        context.pre_execution_errors = errors or _operation_errors(context)
        yield
