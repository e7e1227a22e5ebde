"""What the executor's short path (schema/executor.py) assumes of graphql-core and Strawberry,
checked when the schema is built.

The short path overrides graphql-core executor methods documented as private and reads
Strawberry's field internals. Both packages are pinned exactly (pyproject.toml), and a server
whose installed versions or internals differ refuses to start with the short path, naming what
changed, rather than answering differently from graphql-core: GRAPHQL_EXECUTOR=stock runs it
with Strawberry's own executor meanwhile.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import strawberry
from graphql import GraphQLObjectType
from graphql.execution.middleware import MiddlewareManager
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.executor import (
    Executor,
    null_unless,
    object_fields,
    per_viewer,
    per_viewer_fields,
    plain_fields,
)

# The versions the short path was written and proven against (pyproject.toml pins them).
PINS = {"graphql-core": "3.3.2", "strawberry-graphql": "0.341.2"}

# The methods the short path overrides or calls, with their parameters.
METHODS = {
    "execute_operation": ["self", "serially"],
    "execute_fields": [
        "self", "parent_type", "source_value", "path", "grouped_field_set", "position_context",
    ],
    "execute_field": [
        "self", "parent_type", "source", "field_details_list", "path", "position_context",
    ],
    "collect_and_execute_subfields": [
        "self", "return_type", "field_details_list", "path", "result", "position_context",
    ],
    "handle_field_error": ["self", "raw_error", "return_type", "field_details_list", "path"],
}  # fmt: skip


class ShortPathUnsupported(RuntimeError):
    """The installed graphql-core or Strawberry is not what the short path was proven with."""


def check_short_path(
    installed: Callable[[str], str] = version,
    base: type[Any] = StrawberryGraphQLCoreExecutionContext,
) -> None:
    """Raise ShortPathUnsupported naming every assumption of the short path that fails."""
    problems = [
        f"{package} {installed(package)} is installed; the short path is proven with {pinned}"
        for package, pinned in PINS.items()
        if installed(package) != pinned
    ]
    for name, parameters in METHODS.items():
        method = getattr(base, name, None)
        found = list(inspect.signature(method).parameters) if callable(method) else None
        if found != parameters:
            problems.append(f"graphql-core's ExecutionContext.{name} is {found}, not {parameters}")
    if MiddlewareManager().get_field_resolver(_plain) is not _plain:
        problems.append("graphql-core's MiddlewareManager wraps resolvers without middleware")
    problems += _strawberry_problems()
    if problems:
        raise ShortPathUnsupported(
            "the GraphQL executor's short path cannot run here (set GRAPHQL_EXECUTOR=stock to "
            "use Strawberry's own): " + "; ".join(problems)
        )


def _plain() -> None:
    """A resolver (see MiddlewareManager above)."""


@strawberry.interface
class ProbeNode:
    name: str


@strawberry.type
class ProbeLeaf(ProbeNode):
    """Implements an interface: Strawberry gives it an is_type_of, which the short path
    calls as graphql-core does."""


@strawberry.type
class Probe:
    count: int
    leaf: ProbeLeaf

    @strawberry.field
    @null_unless(lambda probe: probe.count > 0)
    def maybe(self) -> str | None:
        return "yes"

    @strawberry.field(metadata=per_viewer())
    def mine(self) -> int:
        return 1

    @strawberry.field
    def computed(self, times: int = 1) -> int:
        return self.count * times


@strawberry.type
class ProbeQuery:
    @strawberry.field
    def probe(self) -> Probe:
        return Probe(count=2, leaf=ProbeLeaf(name="n"))

    @strawberry.field
    def node(self) -> ProbeNode:
        return ProbeLeaf(name="i")

    @strawberry.field
    def wrong(self) -> Probe:
        return Probe(count=1, leaf=Probe(count=0, leaf=None))  # type: ignore[arg-type]


class _QuietSchema(strawberry.Schema):
    """The probe's expected errors are compared, not logged at every start."""

    def process_errors(self, errors: list[Any], execution_context: Any = None) -> None:
        pass


def _strawberry_problems() -> list[str]:
    """How Strawberry's fields look to the short path, on a probe schema: attribute fields
    marked `_is_default`, definitions in the field's extensions, resolvers and metadata where
    the short path reads them, the config reachable from the graphql-core schema; and the
    probe's answers equal graphql-core's."""
    problems: list[str] = []
    stock = _QuietSchema(query=ProbeQuery)
    short = _QuietSchema(query=ProbeQuery, execution_context_class=Executor)
    probe_type = short._schema.get_type("Probe")
    assert isinstance(probe_type, GraphQLObjectType)
    if set(plain_fields(probe_type)) != {"count", "maybe"}:
        problems.append(f"Strawberry's attribute fields are {set(plain_fields(probe_type))}")
    if set(object_fields(probe_type)) != {"leaf"}:
        problems.append(f"Strawberry's object fields are {set(object_fields(probe_type))}")
    if per_viewer_fields(short._schema) != {("Probe", "mine")}:
        problems.append("Strawberry's field metadata is not where the executor reads it")
    if getattr(short._schema, "_strawberry_schema", None) is not short:
        problems.append("a graphql-core schema no longer leads to its Strawberry schema")
    query = (
        "{ probe { count maybe computed(times: 3) leaf { name } mine } "
        "node { name ... on ProbeLeaf { name } __typename } }"
    )
    expected, got = stock.execute_sync(query), short.execute_sync(query)
    if (got.data, got.errors) != (expected.data, expected.errors) or expected.errors:
        problems.append(f"the probe query answers {got.data}, graphql-core {expected.data}")
    # A value that is not of the field's type (its is_type_of says no): the same error.
    query = "{ wrong { leaf { name } } }"
    expected, got = stock.execute_sync(query), short.execute_sync(query)
    if [e.formatted for e in got.errors or ()] != [e.formatted for e in expected.errors or ()]:
        problems.append(f"a wrong object answers {got.errors}, graphql-core {expected.errors}")
    elif not expected.errors:
        problems.append("Strawberry no longer checks the type of an interface's object")
    return problems
