"""The executor's short path for plain fields gives the same results and errors as graphql-core."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import pytest
import strawberry
from graphql import GraphQLObjectType
from strawberry.extensions import SchemaExtension
from strawberry.scalars import JSON

from schema.executor import (
    Executor,
    SharedResults,
    null_unless,
    object_fields,
    per_viewer,
    plain_fields,
)
from schema.root import schema as served_schema


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
    label: JSON | None = None  # serialised as it is: would carry anything through
    child: Item | None = None
    twin: Item = strawberry.field(default=None)  # non-null: a broken twin nulls its item

    @strawberry.field
    def shout(self, times: int = 1) -> str:
        return self.required.upper() * times

    @strawberry.field
    @null_unless(lambda item: item.name is not None)
    def greeting(self, polite: bool = False) -> str | None:
        CALLS.append(self.name)
        if self.name is None:
            return None
        return f"{'Dear ' if polite else ''}{self.name}"


def _item(**changes: Any) -> Item:
    values: dict[str, Any] = {
        "id": strawberry.ID("1"),
        "name": None,
        "required": "x",
        "colour": Colour.RED,
        "at": datetime(2026, 1, 2, tzinfo=UTC),
        "count": 3,
    }
    values.update(changes)
    item = Item(**values)
    if item.twin is None:
        item.twin = Item(**{**values, "child": None, "twin": None})
    return item


ITEMS: list[Item | None] = []
CALLS: list[str | None] = []


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return ITEMS


QUERY = (
    "{ items { count shout(times: 2) at colour alias: required name id shout2: shout "
    "greeting g2: greeting(polite: true) child { required count child { name } } "
    "twin { required colour } } }"
)


def _schemas(extensions: list[Any] | None = None) -> tuple[strawberry.Schema, strawberry.Schema]:
    return (
        strawberry.Schema(query=Query, extensions=extensions or []),
        strawberry.Schema(
            query=Query, extensions=extensions or [], execution_context_class=Executor
        ),
    )


def _dump(result: Any) -> str:
    errors = [(e.message, e.path) for e in result.errors or []]
    # json.dumps keeps key order, so the selection order is checked too.
    return json.dumps({"data": result.data, "errors": errors})


@pytest.mark.parametrize(
    "items",
    [
        [_item(), _item(name="n", colour=Colour.BLUE, count=0)],
        [_item(required=None)],  # null for a non-null field: error, item nulled
        [_item(colour="green")],  # a value the enum refuses: error
        [_item(colour="red")],  # an enum's value rather than its member: accepted
        [_item(count="many")],  # a value the scalar refuses: error
        [_item(), None, _item(name="")],  # nulls and empty strings
        [_item(child=_item(name="c", child=_item(name="g")))],  # objects inside objects
        [_item(child=_item(required=None))],  # a broken child: the child is nulled, one error
        [_item(twin=_item(colour="green"))],  # a broken non-null twin: its item is nulled
    ],
)
def test_short_path_matches_graphql_core(items: list[Any]) -> None:
    ITEMS[:] = items
    default, short = _schemas()
    expected, got = default.execute_sync(QUERY), short.execute_sync(QUERY)
    assert _dump(got) == _dump(expected)


def test_plain_fields_are_attributes_with_leaf_types_only() -> None:
    schema = strawberry.Schema(query=Query)
    item_type = schema._schema.get_type("Item")
    assert isinstance(item_type, GraphQLObjectType)
    assert set(plain_fields(item_type)) == {
        "id",
        "name",
        "required",
        "colour",
        "at",
        "count",
        "label",
        "greeting",
    }
    assert set(object_fields(item_type)) == {"child", "twin"}
    assert plain_fields(item_type)["greeting"].needed is not None


def test_the_served_pages_take_the_short_path_to_their_nodes() -> None:
    """Contact and Message implement Node, so Strawberry gives them an is_type_of: an edge's
    node still goes straight to its fields (after that check), as before the interface."""
    for edge, node in (("MessageEdge", "Message"), ("ContactEdge", "Contact")):
        edge_type = served_schema._schema.get_type(edge)
        assert isinstance(edge_type, GraphQLObjectType)
        target = object_fields(edge_type)["node"]
        assert target.object_type.name == node and target.object_type.is_type_of is not None


def test_a_null_unless_resolver_is_called_only_when_needed() -> None:
    ITEMS[:] = [_item(name="Ana"), _item(name=None), _item(name=None)]
    CALLS.clear()
    _, short = _schemas()
    result = short.execute_sync("{ items { greeting g2: greeting(polite: true) } }")
    assert result.data == {
        "items": [
            {"greeting": "Ana", "g2": "Dear Ana"},
            {"greeting": None, "g2": None},
            {"greeting": None, "g2": None},
        ]
    }
    assert CALLS == ["Ana", "Ana"]


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


# Live events: a payload carrying SharedResults is executed once per distinct selection.


@strawberry.type
class Note:
    text: str
    shared_results: strawberry.Private[SharedResults | None] = None

    @strawberry.field
    def computed(self, info: strawberry.Info) -> str:
        info.context.runs.append(self.text)
        return self.text.upper()

    @strawberry.field(metadata=per_viewer())
    def unread_count(self, info: strawberry.Info) -> int:
        viewer: int = info.context.viewer
        return viewer


class Subscriber:
    def __init__(self, viewer: int) -> None:
        self.viewer = viewer
        self.runs: list[str] = []

    def shared_result_key(self, per_viewer: bool) -> Any:
        return self.viewer if per_viewer else None


@strawberry.type
class Live:
    @strawberry.subscription
    async def notes(self, info: strawberry.Info, prefix: str = "") -> AsyncGenerator[Note, None]:
        for note in await info.context.feed:
            yield note


async def _deliver(
    query: str,
    subscribers: list[Subscriber],
    notes: list[Note],
    variables: list[dict[str, Any]] | None = None,
) -> list[list[Any]]:
    schema = strawberry.Schema(query=Query, subscription=Live, execution_context_class=Executor)
    feed: asyncio.Future[list[Note]] = asyncio.get_running_loop().create_future()

    async def collect(subscriber: Subscriber, values: dict[str, Any]) -> list[Any]:
        subscriber.feed = feed  # type: ignore[attr-defined]
        stream = await schema.subscribe(query, context_value=subscriber, variable_values=values)
        return [(r.data, r.errors) async for r in stream]

    tasks = [
        asyncio.ensure_future(collect(s, (variables or [{}] * len(subscribers))[i]))
        for i, s in enumerate(subscribers)
    ]
    feed.set_result(notes)  # read by each subscriber whenever it gets there
    return await asyncio.gather(*tasks)


async def test_shared_payloads_are_executed_once_per_selection() -> None:
    subscribers = [Subscriber(viewer=i) for i in range(20)]
    notes = [
        Note(text="a", shared_results=SharedResults()),
        Note(text="b", shared_results=SharedResults()),
    ]
    results = await _deliver("subscription { notes { text computed } }", subscribers, notes)
    assert all(r == results[0] for r in results)
    assert [data for data, _ in results[0]] == [
        {"notes": {"text": "a", "computed": "A"}},
        {"notes": {"text": "b", "computed": "B"}},
    ]
    assert sorted(run for s in subscribers for run in s.runs) == ["a", "b"]


async def test_other_variables_or_unshared_payloads_are_executed_apart() -> None:
    subscribers = [Subscriber(viewer=1), Subscriber(viewer=1), Subscriber(viewer=1)]
    notes = [Note(text="a", shared_results=SharedResults()), Note(text="plain")]
    await _deliver(
        "subscription($p: String!) { notes(prefix: $p) { computed } }",
        subscribers,
        notes,
        [{"p": "x"}, {"p": "x"}, {"p": "y"}],
    )
    runs = sorted(run for s in subscribers for run in s.runs)
    assert runs == ["a", "a", "plain", "plain", "plain"]


async def test_per_viewer_fields_are_shared_only_by_the_same_viewer() -> None:
    subscribers = [Subscriber(viewer=1), Subscriber(viewer=2), Subscriber(viewer=1)]
    notes = [Note(text="a", shared_results=SharedResults())]
    query = "subscription { notes { ...N } } fragment N on Note { computed unreadCount }"
    results = await _deliver(query, subscribers, notes)
    assert [r[0][0]["notes"]["unreadCount"] for r in results] == [1, 2, 1]
    assert sum(len(s.runs) for s in subscribers) == 2


# Divergences a differential run found; each answer must be graphql-core's own.


class Broken:
    """A row object whose attributes fail or hold odd values, as a buggy service could."""

    def __init__(self, failing: str | None = None, **values: Any) -> None:
        self.failing = failing
        self.values = {
            "id": "1",
            "name": "n",
            "required": "x",
            "colour": Colour.RED,
            "at": datetime(2026, 1, 2, tzinfo=UTC),
            "count": 3,
            "child": None,
            "twin": None,
            "label": "l",
            **values,
        }

    def __getattr__(self, name: str) -> Any:
        if name == self.failing:
            raise ValueError(f"{name} could not be read")
        if name in self.values:
            return self.values[name]
        raise AttributeError(name)


@pytest.mark.parametrize(
    "items",
    [
        [Broken(failing="count")],  # non-null leaf: the item is nulled, error at the leaf
        [Broken(failing="name")],  # nullable leaf: only it is null
        [Broken(failing="child")],  # an object attribute
        [Broken(twin=Broken(failing="required"))],
        [Broken(name=ValueError("held"))],  # an exception as a value is an error
        [Broken(count=KeyError("held"))],
        [Broken(child=ValueError("held"))],
        [Broken(label=ValueError("held"))],  # a scalar that would pass it on
    ],
)
def test_attribute_errors_and_exception_values_are_graphql_cores(items: list[Any]) -> None:
    ITEMS[:] = items
    default, short = _schemas()
    query = "{ items { name label count child { name } twin { required } } }"
    expected, got = default.execute_sync(query), short.execute_sync(query)
    assert expected.errors  # the case is an error case
    assert _dump(got) == _dump(expected)


@strawberry.type
class Root:
    @strawberry.field
    def item(self) -> Item:
        item: Item = ROOT_ITEM[0]
        return item


ROOT_ITEM: list[Any] = []


def test_a_failing_attribute_under_the_root_does_not_null_the_data() -> None:
    ROOT_ITEM[:] = [Broken(failing="count")]
    default = strawberry.Schema(query=Root)
    short = strawberry.Schema(query=Root, execution_context_class=Executor)
    query = "{ item { name count } }"
    assert _dump(short.execute_sync(query)) == _dump(default.execute_sync(query))


def test_a_custom_default_resolver_is_honoured() -> None:
    from strawberry.schema.config import StrawberryConfig

    def resolve(source: Any, name: str) -> Any:
        # Another store than the attributes: what the short path's getattr would not see.
        return {"name": "from the resolver", "required": "R"}.get(name) or getattr(source, name)

    ITEMS[:] = [_item(name="attribute", twin=_item(required="attribute"))]
    config = StrawberryConfig(default_resolver=resolve)
    default = strawberry.Schema(query=Query, config=config)
    short = strawberry.Schema(query=Query, config=config, execution_context_class=Executor)
    query = "{ items { name required count twin { required } } }"
    expected = default.execute_sync(query)
    assert expected.data == {
        "items": [
            {"name": "from the resolver", "required": "R", "count": 3, "twin": {"required": "R"}}
        ]
    }
    assert _dump(short.execute_sync(query)) == _dump(expected)


def _returning(value: Any) -> Any:
    return lambda: value


def test_a_new_schema_never_sees_the_fields_of_a_collected_one() -> None:
    # Short-lived schemas, one after another: a type built where a collected one lived (same
    # id) must not be served that one's short-path fields (an Int served as "5").
    import gc
    import weakref

    seen: dict[int, type] = {}
    reused = 0
    for n in range(400):
        value_type: type = int if n % 2 else str
        value = 5 if n % 2 else "5"
        # Built with real (not string) annotations: these classes are local.
        row = strawberry.type(type("Row", (), {"__annotations__": {"value": value_type}}))
        top = strawberry.type(
            type(
                "Top",
                (),
                {"row": strawberry.field(resolver=_returning(row(value=value)), graphql_type=row)},
            )
        )
        schema = strawberry.Schema(query=top, execution_context_class=Executor)
        row_type = schema._schema.get_type("Row")
        reused += seen.get(id(row_type), value_type) is not value_type
        seen[id(row_type)] = value_type
        collected = weakref.ref(row_type)
        result = schema.execute_sync("{ row { value } }")
        assert (result.data, result.errors) == ({"row": {"value": value}}, None), n
        del schema, row, top, row_type, result
        gc.collect()
        assert collected() is None
        if reused:
            break
    if not reused:
        pytest.skip("this interpreter never reused a collected type's id: nothing to check")
