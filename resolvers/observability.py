"""GraphQL operation latency by operation name, for /metrics."""

from __future__ import annotations

import time
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from services.platform.metrics import GRAPHQL_LATENCY

MAX_NAME = 64


class OperationMetrics(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        try:
            kind = context.operation_type
        except Exception:  # the document did not parse: no operation to speak of
            return
        if kind is OperationType.SUBSCRIPTION:
            return  # lasts as long as the client listens; not a latency
        name = (context.operation_name or "anonymous")[:MAX_NAME]
        GRAPHQL_LATENCY.labels(name, kind.value).observe(time.perf_counter() - started)
