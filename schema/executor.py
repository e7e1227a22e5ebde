"""The GraphQL executor: graphql-core's, with a short path for plain leaf fields.

A chat page resolves about 800 fields, nearly all of them plain attributes of a row object
(`text`, `status`, `timestamp`...). For each one graphql-core builds a path, a resolve-info
object, calls Strawberry's attribute resolver and walks `complete_value`; that bookkeeping was
the largest part of a page's CPU (BENCHMARKS.md). A plain field — no resolver, no arguments, a
scalar or enum type — gives the same answer from `getattr` and the type's own output coercion,
so that is all this path does. Anything else, and anything unusual on a plain field (a null for
a non-null field, a value the type refuses), takes graphql-core's path unchanged, so results
and errors are exactly what they were.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable, Hashable, Mapping
from typing import Any, NamedTuple, TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Undefined,
    get_named_type,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.field import StrawberryField

DEFINITION = "strawberry-definition"
# Field metadata of a field whose value depends on who asks (`per_viewer()`): a live event's
# selection with one of them is shared only between subscribers with the same viewer; every
# other field is the same for whoever may see the event.
PER_VIEWER = "per_viewer"


def per_viewer() -> dict[str, Any]:
    """Metadata for `strawberry.field(metadata=...)` of a field whose value depends on the
    viewer (Contact.unreadCount): live-event results are then shared per viewer only."""
    return {PER_VIEWER: True}


class SharedResults(dict[Hashable, "asyncio.Future[Any]"]):
    """Execution results of one live event, by selection: a payload carrying this is executed
    once per distinct selection and the result handed to every subscriber (BENCHMARKS.md)."""


class PlainField(NamedTuple):
    attribute: str
    coerce: Callable[[Any], Any] | None
    non_null: bool
    # For a resolver field marked with null_unless: when false for the source, the answer is null.
    needed: Callable[[Any], bool] | None = None


R = TypeVar("R", bound=Callable[..., Any])


def null_unless(needed: Callable[[Any], bool]) -> Callable[[R], R]:
    """Mark a resolver (of a nullable field) that answers null whenever `needed(source)` is
    false: the executor then answers null itself, without converting arguments or calling it.
    Worth it on a field of every row that is null on most rows (Message.mediaUrl)."""

    def mark(resolver: R) -> R:
        resolver.null_unless = needed  # type: ignore[attr-defined]
        return resolver

    return mark


class ObjectField(NamedTuple):
    attribute: str
    object_type: GraphQLObjectType
    return_type: GraphQLOutputType


# Each type's short-path fields live on the type object itself: they go with it, so a type
# built later at the same address (after a schema was collected) never inherits them.
_CACHE = "_executor_short_fields"


def plain_fields(parent_type: GraphQLObjectType) -> dict[str, PlainField]:
    """The fields of a type that are plain attributes with a leaf type (or null_unless
    resolvers), by GraphQL name."""
    return _short_fields(parent_type)[0]


def object_fields(parent_type: GraphQLObjectType) -> dict[str, ObjectField]:
    """The fields of a type that are plain attributes holding one object (an edge's `node`)."""
    return _short_fields(parent_type)[1]


def _short_fields(
    parent_type: GraphQLObjectType,
) -> tuple[dict[str, PlainField], dict[str, ObjectField]]:
    known = parent_type.__dict__.get(_CACHE)
    if known is not None:
        return known  # type: ignore[no-any-return]
    plain: dict[str, PlainField] = {}
    objects: dict[str, ObjectField] = {}
    for name, field in parent_type.fields.items():
        definition = (field.extensions or {}).get(DEFINITION)
        if not isinstance(definition, StrawberryField):
            continue
        non_null = isinstance(field.type, GraphQLNonNull)
        inner = field.type.of_type if non_null else field.type
        attribute = (
            definition.is_basic_field
            and not field.args
            and getattr(field.resolve, "_is_default", False)
        )
        if attribute and is_leaf_type(inner):
            plain[name] = PlainField(definition.python_name, _coercion(inner), non_null)
        elif attribute and isinstance(inner, GraphQLObjectType):
            objects[name] = ObjectField(definition.python_name, inner, field.type)
        elif definition.base_resolver is not None and not non_null:
            needed = getattr(definition.base_resolver.wrapped_func, "null_unless", None)
            if needed is not None:
                plain[name] = PlainField(definition.python_name, None, False, needed)
    setattr(parent_type, _CACHE, (plain, objects))
    return plain, objects


def _coercion(leaf: GraphQLScalarType | GraphQLEnumType) -> Callable[[Any], Any]:
    """The type's output coercion; for a Strawberry enum, a lookup first (its own coercion
    compares the value with each member in turn, 7% of a contact list's CPU)."""
    coerce = leaf.coerce_output_value
    members = getattr(leaf, "wrapped_cls", None)
    if not isinstance(leaf, GraphQLEnumType) or members is None:
        return coerce
    names = {member: coerce(member) for member in members}

    def by_member(value: Any) -> Any:
        return names.get(value) or coerce(value)

    return by_member


class Executor(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A resolver middleware (an extension with a `resolve` hook) must see every field, and
        # a custom default resolver every attribute.
        manager = self.middleware_manager
        self.short_path = (
            manager is None or manager.get_field_resolver(_probe) is _probe
        ) and _reads_attributes(self.schema)

    def execute_operation(self, serially: bool | None = None) -> Any:
        shared = getattr(self.root_value, "shared_results", None)
        key_of = getattr(self.context_value, "shared_result_key", None)
        operation = self.operation
        if (
            not isinstance(shared, SharedResults)
            or key_of is None
            or operation.operation is not OperationType.SUBSCRIPTION
        ):
            return super().execute_operation(serially)
        selection = _selection_key(operation)
        variables = json.dumps(self.variable_values.coerced, sort_keys=True, default=str)
        key = (selection, variables, key_of(self._per_viewer(selection, operation)))
        future = shared.get(key)
        if future is None:
            result = super().execute_operation(serially)
            if not self.is_awaitable(result):
                shared[key] = future = asyncio.get_running_loop().create_future()
                future.set_result(result)
                return result
            # Its own task: the subscriber that started it may leave before it ends.
            shared[key] = future = asyncio.ensure_future(result)
        if future.done() and not future.cancelled():
            return future.result()  # the usual case: no coroutine needed
        return _shielded(future)

    def _per_viewer(self, selection: Hashable, operation: OperationDefinitionNode) -> bool:
        known_by_selection = _schema_cache(self.schema).per_viewer_selections
        known = known_by_selection.get(selection)
        if known is None:
            if len(known_by_selection) > 1024:
                known_by_selection.clear()
            root = self.schema.get_root_type(operation.operation)
            known = known_by_selection[selection] = _asks_per_viewer(
                self.schema, root, operation.selection_set, self.fragment_definitions, set()
            )
        return known

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        # A plain attribute holding an object: straight to its sub-selection, as graphql-core
        # would after building a resolve-info and calling the attribute resolver.
        node = field_details_list[0].node
        target = object_fields(parent_type).get(node.name.value) if self.short_path else None
        if target is not None and not node.arguments:
            try:
                value = getattr(source, target.attribute, None)
            except Exception:
                value = None  # graphql-core's path reads it again and reports the error
            if (
                value is not None
                and not isinstance(value, Exception)
                and _is_type_of(target.object_type, value)
            ):
                return self._complete_object(
                    target, value, field_details_list, path, position_context
                )
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def _complete_object(
        self,
        target: ObjectField,
        value: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        # Errors are handled as graphql-core's execute_field handles them.
        try:
            completed = self.collect_and_execute_subfields(
                target.object_type, field_details_list, path, value, position_context
            )
        except Exception as raw_error:
            self.handle_field_error(raw_error, target.return_type, field_details_list, path)
            return None
        if not self.is_awaitable(completed):
            return completed

        async def await_completed() -> Any:
            try:
                return await completed
            except Exception as raw_error:
                self.handle_field_error(raw_error, target.return_type, field_details_list, path)
                return None

        return await_completed()

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        if not self.short_path:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        plain = plain_fields(parent_type)
        done: dict[str, Any] = {}
        rest: GroupedFieldSet = {}
        for response_name, details in grouped_field_set.items():
            node = details[0].node
            field = plain.get(node.name.value)
            if field is not None and field.needed is not None:
                # Its arguments are valid (validation ran) and cannot change a null answer.
                if not field.needed(source_value):
                    done[response_name] = None
                    continue
            elif field is not None and not node.arguments:
                try:
                    value = getattr(source_value, field.attribute, Undefined)
                except Exception:
                    value = Undefined  # graphql-core's path reads it again and reports the error
                if value is None:
                    if not field.non_null:
                        done[response_name] = None
                        continue
                # An exception held as a value is a field error there, never a value.
                elif value is not Undefined and not isinstance(value, Exception):
                    try:
                        coerced = field.coerce(value)  # type: ignore[misc]
                    except Exception:
                        coerced = None  # graphql-core's path reports it
                    if coerced is not None and coerced is not Undefined:
                        done[response_name] = coerced
                        continue
            rest[response_name] = details
        if not rest:
            return done
        if not done:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        others = super().execute_fields(parent_type, source_value, path, rest, position_context)
        if self.is_awaitable(others):

            async def merged() -> dict[str, Any]:
                return _in_order(grouped_field_set, done, await others)

            return merged()
        return _in_order(grouped_field_set, done, others)  # type: ignore[arg-type]


def _is_type_of(object_type: GraphQLObjectType, value: Any) -> bool:
    """graphql-core's check of an object value (complete_object_value), when the type has
    one: Strawberry gives one to every type that implements an interface (Node). Only a plain
    True takes the short path; anything else (false, an awaitable, an error, a check that
    needs the resolve info) goes down graphql-core's path, which reports it as it would."""
    check = object_type.is_type_of
    if check is None:
        return True
    try:
        answer = check(value, None)  # type: ignore[arg-type]
    except Exception:
        return False
    if inspect.iscoroutine(answer):
        answer.close()  # graphql-core's path asks again and awaits it
    return answer is True


async def _shielded(future: asyncio.Future[Any]) -> Any:
    return await asyncio.shield(future)


def _selection_key(operation: OperationDefinitionNode) -> Hashable:
    """The document's text and the operation's name: equal for every subscriber who sent the
    same subscription, whether or not the parser cache handed them the same parsed object."""
    name = operation.name.value if operation.name else None
    if operation.loc is None:  # parsed without locations: only the object itself is known
        return (id(operation), name)
    return (operation.loc.source.body, name)


class _SchemaFacts:
    """What the executor derives once per schema (kept on the schema object, like the
    per-type fields: it goes with the schema)."""

    def __init__(self, schema: GraphQLSchema) -> None:
        strawberry_schema = getattr(schema, "_strawberry_schema", None)
        config = getattr(strawberry_schema, "config", None)
        # Strawberry's attribute resolver calls the configured default resolver; the short
        # path reads attributes with getattr, so it only stands in for that one.
        self.reads_attributes = getattr(config, "default_resolver", None) is getattr
        self.per_viewer_fields = frozenset(
            (type_name, field_name)
            for type_name, named in schema.type_map.items()
            if isinstance(named, GraphQLObjectType | GraphQLInterfaceType)
            for field_name, field in named.fields.items()
            if _metadata(field).get(PER_VIEWER)
        )
        self.per_viewer_selections: dict[Hashable, bool] = {}


_FACTS = "_executor_schema_facts"


def _schema_cache(schema: GraphQLSchema) -> _SchemaFacts:
    facts = schema.__dict__.get(_FACTS)
    if facts is None:
        facts = _SchemaFacts(schema)
        setattr(schema, _FACTS, facts)
    return facts


def _reads_attributes(schema: GraphQLSchema) -> bool:
    return _schema_cache(schema).reads_attributes


def per_viewer_fields(schema: GraphQLSchema) -> frozenset[tuple[str, str]]:
    """(type, field) of every field declared per_viewer() in this schema."""
    return _schema_cache(schema).per_viewer_fields


def operation_per_viewer(schema: GraphQLSchema, document: DocumentNode, name: str | None) -> bool:
    """Whether the operation `name` of a valid document asks for a per-viewer field (through
    its fragments): its results may then be shared between subscribers of one viewer only."""
    operation = next(
        d
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
        and (name is None or (d.name is not None and d.name.value == name))
    )
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    root = schema.get_root_type(operation.operation)
    return _asks_per_viewer(schema, root, operation.selection_set, fragments, set())


def _metadata(field: GraphQLField) -> Mapping[str, Any]:
    definition = (field.extensions or {}).get(DEFINITION)
    return getattr(definition, "metadata", None) or {}


def _asks_per_viewer(
    schema: GraphQLSchema,
    parent: GraphQLNamedType | None,
    selection_set: SelectionSetNode | None,
    fragments: dict[str, Any],
    seen: set[str],
) -> bool:
    """Whether a selection on `parent`, fragments included, asks for a per-viewer field."""
    if selection_set is None or parent is None:
        return False
    per_viewer = per_viewer_fields(schema)
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            fields = getattr(parent, "fields", None) or {}
            field = fields.get(selection.name.value)
            if field is None:
                continue  # __typename (or an introspection field): the same for everyone
            if (parent.name, selection.name.value) in per_viewer:
                return True
            if _asks_per_viewer(
                schema, get_named_type(field.type), selection.selection_set, fragments, seen
            ):
                return True
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            inner = schema.get_type(condition.name.value) if condition else parent
            if _asks_per_viewer(schema, inner, selection.selection_set, fragments, seen):
                return True
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            fragment = fragments.get(selection.name.value)
            if fragment is not None and _asks_per_viewer(
                schema,
                schema.get_type(fragment.type_condition.name.value),
                fragment.selection_set,
                fragments,
                seen,
            ):
                return True
    return False


def _in_order(
    grouped_field_set: GroupedFieldSet, done: dict[str, Any], others: dict[str, Any]
) -> dict[str, Any]:
    # A response keeps the order of the selection (GraphQL spec, "Ordering of fields").
    return {
        name: done[name] if name in done else others[name]
        for name in grouped_field_set
        if name in done or name in others
    }


def _probe() -> None:
    """A resolver no middleware has wrapped (see Executor.__init__)."""
