"""The executor's short path for plain fields gives the same results and errors as graphql-core."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import pytest
import strawberry
from strawberry.extensions import SchemaExtension

from schema.executor import Executor, plain_fields


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Item:
    id: strawberry.ID
    name: str | None
    required: str
    colour: Colour
    at: datetime
    count: int

    @strawberry.field
    def shout(self, times: int = 1) -> str:
        return self.required.upper() * times


def _item(**changes: Any) -> Item:
    values: dict[str, Any] = {"id": strawberry.ID("1"), "name": None, "required": "x",
                              "colour": Colour.RED, "at": datetime(2026, 1, 2, tzinfo=UTC),
                              "count": 3}
    values.update(changes)
    return Item(**values)


ITEMS: list[Item] = []


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return ITEMS


QUERY = "{ items { count shout(times: 2) at colour alias: required name id shout2: shout } }"


def _schemas(extensions: list[Any] | None = None) -> tuple[strawberry.Schema, strawberry.Schema]:
    return (strawberry.Schema(query=Query, extensions=extensions or []),
            strawberry.Schema(query=Query, extensions=extensions or [],
                              execution_context_class=Executor))


def _dump(result: Any) -> str:
    errors = [(e.message, e.path) for e in result.errors or []]
    # json.dumps keeps key order, so the selection order is checked too.
    return json.dumps({"data": result.data, "errors": errors})


@pytest.mark.parametrize("items", [
    [_item(), _item(name="n", colour=Colour.BLUE, count=0)],
    [_item(required=None)],            # null for a non-null field: error, item nulled
    [_item(colour="green")],           # a value the enum refuses: error
    [_item(count="many")],             # a value the scalar refuses: error
    [_item(), None, _item(name="")],   # nulls and empty strings
])
def test_short_path_matches_graphql_core(items: list[Any]) -> None:
    ITEMS[:] = items
    default, short = _schemas()
    expected, got = default.execute_sync(QUERY), short.execute_sync(QUERY)
    assert _dump(got) == _dump(expected)


def test_plain_fields_are_attributes_with_leaf_types_only() -> None:
    schema = strawberry.Schema(query=Query)
    item_type = schema._schema.get_type("Item")
    assert set(plain_fields(item_type)) == {"id", "name", "required", "colour", "at", "count"}


def test_a_resolver_middleware_still_sees_every_field() -> None:
    seen: list[str] = []

    class Watch(SchemaExtension):
        def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(info.field_name)
            return _next(root, info, *args, **kwargs)

    ITEMS[:] = [_item()]
    _, short = _schemas([Watch])
    assert not short.execute_sync("{ items { count name } }").errors
    assert seen == ["items", "count", "name"]
