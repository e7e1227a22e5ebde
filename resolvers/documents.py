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

MAX_TOKENS = 4000
# Distinct operation texts remembered; a public endpoint cannot grow it without bound.
CACHE_SIZE = 512


@lru_cache(maxsize=CACHE_SIZE)
def _parse(query: str, options: tuple[tuple[str, Any], ...]) -> DocumentNode:
    return parse(query, **dict(options), max_tokens=MAX_TOKENS)


@lru_cache(maxsize=CACHE_SIZE)
def _validate(schema: GraphQLSchema, document: DocumentNode,
              rules: tuple[type[ASTValidationRule], ...]) -> list[GraphQLError]:
    return validate(schema, document, rules)


class Documents(SchemaExtension):
    def __init__(self, rules: Sequence[type[ASTValidationRule]]) -> None:
        self.rules = tuple(rules)

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        options = tuple(sorted((k, v) for k, v in context.parse_options.items()
                               if k != "max_tokens"))
        context.graphql_document = _parse(context.query, options)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None
        context.pre_execution_errors = _validate(
            context.schema._schema, context.graphql_document,
            (*context.validation_rules, *self.rules))
        yield
