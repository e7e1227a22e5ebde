"""The only module that assembles the schema from the per-domain resolver classes."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.types import ExecutionContext

from resolvers.clients import ClientMutations, ClientQueries
from resolvers.conversations import (
    ConversationMutations,
    ConversationQueries,
    ConversationSubscriptions,
)
from resolvers.errors import ErrorCodes, RequireAuthentication
from resolvers.observability import OperationMetrics
from resolvers.operations import OperationsMutations, OperationsQueries
from resolvers.instances import InstanceMutations, InstanceQueries, InstanceSubscriptions
from resolvers.sending import SendingMutations, SendingQueries
from resolvers.viewer import ViewerQueries


@strawberry.type
class Query(ViewerQueries, InstanceQueries, ConversationQueries, SendingQueries,
            ClientQueries, OperationsQueries):
    pass


@strawberry.type
class Mutation(InstanceMutations, ConversationMutations, SendingMutations, ClientMutations,
               OperationsMutations):
    pass


@strawberry.type
class Subscription(InstanceSubscriptions, ConversationSubscriptions):
    pass


class AppSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # resolvers.errors logs unexpected errors once; expected ones are answers, not incidents.
        return None


def build_schema(introspection: bool = True) -> AppSchema:
    """The schema; without introspection for production (GRAPHIQL=false)."""
    extensions: list[Any] = [
        OperationMetrics,
        RequireAuthentication,
        ErrorCodes,
        lambda: QueryDepthLimiter(max_depth=12),
        lambda: MaxAliasesLimiter(max_alias_count=30),
        lambda: MaxTokensLimiter(max_token_count=4000),
    ]
    if not introspection:
        extensions.append(lambda: AddValidationRules([NoSchemaIntrospectionCustomRule]))
    return AppSchema(query=Query, mutation=Mutation, subscription=Subscription,
                     extensions=extensions)


schema = build_schema()
