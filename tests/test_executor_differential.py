"""Generated queries over every object type of the served schema, through Strawberry's executor
and through ours (schema/executor.py), compared exactly: fragments and inline fragments,
@skip/@include, aliases, and row objects holding good values, nulls, values of the wrong type,
exceptions and attributes that fail."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import pytest
import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    get_named_type,
)

from schema.common import DateTime
from schema.executor import DEFINITION, Executor
from schema.root import schema

SERVED = schema._schema
OBJECT_TYPES = sorted(
    name
    for name, named in SERVED.type_map.items()
    if isinstance(named, GraphQLObjectType)
    and not name.startswith("__")
    and named not in (SERVED.query_type, SERVED.mutation_type, SERVED.subscription_type)
)
GOOD: dict[str, Any] = {
    "ID": "7",
    "String": "text",
    "Int": 5,
    "Float": 1.5,
    "Boolean": True,
    "DateTime": datetime(2026, 3, 4, 12, 0, tzinfo=UTC),
    "JSON": {"a": [1, None]},
}
WRONG: dict[str, Any] = {
    "ID": 1.5,
    "String": {"no": 1},
    "Int": "many",
    "Float": "x",
    "Boolean": "yes",
    "DateTime": "yesterday",
    "JSON": object(),
}


class Row:
    """A row object as a buggy service could hand out: attributes set one by one, and reading
    one listed in `failing` raises."""

    def __init__(self, failing: set[str]) -> None:
        self.failing = failing

    def __getattribute__(self, name: str) -> Any:
        if name != "failing" and name in object.__getattribute__(self, "failing"):
            raise ValueError(f"{name} could not be read")
        return object.__getattribute__(self, name)


def _python_name(type_name: str, field_name: str) -> str:
    named = SERVED.type_map[type_name]
    assert isinstance(named, GraphQLObjectType)
    return (named.fields[field_name].extensions or {})[DEFINITION].python_name  # type: ignore[no-any-return]


def _value(kind: GraphQLOutputType, rng: random.Random, depth: int) -> Any:
    """A value for a field of this type: mostly good, sometimes null, wrong or an exception."""
    roll = rng.random()
    if roll < 0.1:
        return None
    if roll < 0.15:
        return ValueError("held as a value")
    inner = kind.of_type if isinstance(kind, GraphQLNonNull) else kind
    if isinstance(inner, GraphQLList):
        return [_value(inner.of_type, rng, depth) for _ in range(rng.randint(0, 2))]
    wrong = roll < 0.25
    if isinstance(inner, GraphQLScalarType):
        return (WRONG if wrong else GOOD).get(inner.name, "x")
    if isinstance(inner, GraphQLEnumType):
        members = list(getattr(inner, "wrapped_cls", None) or [])
        if wrong or not members:
            return "NOT_A_MEMBER"
        member: Enum = rng.choice(members)
        return member.value if rng.random() < 0.3 else member  # a value is accepted too
    assert isinstance(inner, GraphQLObjectType)
    return _row(inner.name, rng, depth + 1) if depth < 2 else None


def _row(type_name: str, rng: random.Random, depth: int = 0) -> Row:
    named = SERVED.type_map[type_name]
    assert isinstance(named, GraphQLObjectType)
    row = Row(set())
    for field_name, field in named.fields.items():
        if field.args:
            continue
        setattr(row, _python_name(type_name, field_name), _value(field.type, rng, depth))
    if rng.random() < 0.2:
        row.failing = {_python_name(type_name, rng.choice(list(named.fields)))}
    return row


def _selection(type_name: str, rng: random.Random, depth: int = 0) -> str:
    named = SERVED.type_map[type_name]
    assert isinstance(named, GraphQLObjectType)
    parts = []
    for field_name, field in named.fields.items():
        if any(isinstance(arg.type, GraphQLNonNull) for arg in field.args.values()):
            continue
        inner = get_named_type(field.type)
        if isinstance(inner, GraphQLObjectType) and depth >= 1:
            continue
        text = field_name
        roll = rng.random()
        if roll < 0.15:
            text = f"alias_{field_name}: {text}"
        elif roll < 0.2:
            text = f"{text} @skip(if: {str(rng.random() < 0.5).lower()})"
        elif roll < 0.25:
            text = f"{text} @include(if: {str(rng.random() < 0.5).lower()})"
        if isinstance(inner, GraphQLObjectType):
            text = f"{text} {{ {_selection(inner.name, rng, depth + 1)} }}"
        parts.append(text)
    rng.shuffle(parts)
    half = len(parts) // 2
    return f"__typename {' '.join(parts[:half])} ... on {type_name} {{ {' '.join(parts[half:])} }}"


def _schemas(type_name: str, rows: list[Row]) -> tuple[strawberry.Schema, strawberry.Schema]:
    """A schema over the served type: `rows` returns the row objects as that type."""
    origin = schema.get_type_by_name(type_name).origin  # type: ignore[union-attr]

    def rows_field() -> list[Any]:
        return rows

    query = strawberry.type(
        type(
            "Query",
            (),
            # A type known only at run time: mypy cannot check it.
            {"rows": strawberry.field(resolver=rows_field, graphql_type=list[origin | None])},  # type: ignore[valid-type]
        )
    )
    config = strawberry.schema.config.StrawberryConfig(scalar_map={datetime: DateTime})
    return (
        strawberry.Schema(query=query, config=config),
        strawberry.Schema(query=query, config=config, execution_context_class=Executor),
    )


def _answer(result: Any) -> str:
    errors = [error.formatted for error in result.errors or []]
    return json.dumps({"data": result.data, "errors": errors}, default=repr)


@pytest.mark.parametrize("type_name", OBJECT_TYPES)
async def test_generated_queries_answer_alike(type_name: str) -> None:
    rng = random.Random(type_name)  # the same queries and rows on every run
    for _ in range(8):
        rows = [_row(type_name, rng) for _ in range(3)]
        stock, short = _schemas(type_name, rows)
        query = (
            f"query {{ rows {{ ...F }} again: rows {{ {_selection(type_name, rng)} }} }} "
            f"fragment F on {type_name} {{ {_selection(type_name, rng)} }}"
        )
        # No context: resolvers that need one fail, alike in both.
        expected = await stock.execute(query)
        assert expected.data is not None, (query, expected.errors)
        assert _answer(await short.execute(query)) == _answer(expected), query
