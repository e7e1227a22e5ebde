"""The only module that assembles the schema from the per-domain resolver classes."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from resolvers.clients import ClientMutations, ClientQueries
from resolvers.conversations import (
    ConversationMutations,
    ConversationQueries,
    ConversationSubscriptions,
)
from resolvers.documents import Documents
from resolvers.errors import ErrorCodes, RequireAuthentication, add_code_in_place
from resolvers.inbox import InboxMutations, InboxQueries
from resolvers.instances import InstanceMutations, InstanceQueries, InstanceSubscriptions
from resolvers.nodes import NodeQueries
from resolvers.observability import OperationMetrics
from resolvers.operations import OperationsMutations, OperationsQueries
from resolvers.presence import PresenceSubscriptions
from resolvers.privacy import PrivacyMutations
from resolvers.search import SearchQueries
from resolvers.sending import SendingMutations, SendingQueries
from resolvers.viewer import ViewerQueries
from schema.common import DateTime
from schema.executor import Executor
from schema.executor_checks import check_short_path


@strawberry.type
class Query(
    ViewerQueries,
    InstanceQueries,
    ConversationQueries,
    SendingQueries,
    ClientQueries,
    InboxQueries,
    OperationsQueries,
    NodeQueries,
    SearchQueries,
):
    pass


@strawberry.type
class Mutation(
    InstanceMutations,
    ConversationMutations,
    SendingMutations,
    ClientMutations,
    InboxMutations,
    OperationsMutations,
    PrivacyMutations,
):
    pass


@strawberry.type
class Subscription(InstanceSubscriptions, ConversationSubscriptions, PresenceSubscriptions):
    pass


class AppSchema(strawberry.Schema):
    # Without introspection, variable errors give no "Did you mean ...?" either (validation's
    # are hidden by resolvers/documents.py).
    hide_suggestions = False

    def _get_custom_context_kwargs(
        self, operation_extensions: dict[str, Any] | None = None, *, sync: bool = False
    ) -> dict[str, Any]:
        kwargs = super()._get_custom_context_kwargs(operation_extensions, sync=sync)
        if self.hide_suggestions:
            kwargs["hide_suggestions"] = True
        return kwargs

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Errors that reach this hook have not passed through ErrorCodes (they were raised by
        # an extension hook): give them their code here. Unexpected ones are logged there.
        for error in errors:
            if not (error.extensions and "code" in error.extensions):
                add_code_in_place(error)


# The limiters' rule classes are built once: a rule class made per request would make every
# validation-cache key new, and validation is a quarter of a request's CPU (BENCHMARKS.md).
LIMIT_RULES = [
    *QueryDepthLimiter(max_depth=12).validation_rules,
    *MaxAliasesLimiter(max_alias_count=30).validation_rules,
]


EXECUTORS = ("short", "stock")


@functools.cache  # one per configuration: built once, like the limiter rules above
def build_schema(introspection: bool = True, executor: str = "short") -> AppSchema:
    """The schema; without introspection for production (GRAPHIQL=false). `executor` is
    GRAPHQL_EXECUTOR: "short" runs graphql-core's executor with the short path of
    schema/executor.py (checked here against the installed packages), "stock" Strawberry's own.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}, got {executor!r}")
    if executor == "short":
        check_short_path()
    rules = [*LIMIT_RULES] if introspection else [*LIMIT_RULES, NoSchemaIntrospectionCustomRule]
    extensions: list[Any] = [
        OperationMetrics,
        RequireAuthentication,
        ErrorCodes,
        lambda: Documents(rules, hide_suggestions=not introspection),
    ]
    schema = AppSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=Executor if executor == "short" else None,
        config=StrawberryConfig(scalar_map={datetime: DateTime}),
    )
    schema.hide_suggestions = not introspection
    return schema


# The schema's types, for `export-schema` and the tests that read them (executor aside).
schema = build_schema(executor="stock")
