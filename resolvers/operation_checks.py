"""Checks of an operation that need more than the document: which operation runs, what its
variables hold and how much work it asks for. Each answers before anything executes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    get_named_type,
)
from graphql.validation import ValidationRule

# PostgreSQL cannot store NUL in text, and a lone surrogate cannot be written as UTF-8: either
# would fail deep inside a query instead of at the door.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# The arguments whose value says how many items a field returns (Relay's `first` and `last`),
# and the page a paginated field returns when given neither.
PAGE_ARGUMENT = "first"
PAGE_ARGUMENTS = ("first", "last")
DEFAULT_PAGE = 50


def bad_input(message: str, field: str | None = None) -> GraphQLError:
    extensions: dict[str, Any] = {"code": "BAD_USER_INPUT"}
    if field:
        extensions["field"] = field
    return GraphQLError(message, extensions=extensions)


def chosen_operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    """The operation that runs: the one named, or the only one."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


def operation_error(document: DocumentNode, name: str | None) -> GraphQLError | None:
    """A document of several operations must say which one to run: guessing the first would
    run something the client may not have meant."""
    if (
        name is None
        and sum(isinstance(d, OperationDefinitionNode) for d in document.definitions) > 1
    ):
        return bad_input(
            "This document has several operations: name the one to run in operationName",
            "operationName",
        )
    return None


def unstorable_variable(variables: Mapping[str, Any] | None) -> GraphQLError | None:
    """A variable holding text that can never be stored (NUL, a lone surrogate), named by its
    path, e.g. `input.notes`."""
    stack: list[tuple[str, Any]] = [(k, v) for k, v in (variables or {}).items()]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if not value.isascii() or "\x00" in value:
                if UNSTORABLE.search(value):
                    return bad_input(
                        f"{path} contains a character that cannot be stored "
                        "(NUL or a lone surrogate)",
                        path,
                    )
        elif isinstance(value, Mapping):
            stack.extend((f"{path}.{k}", v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(value))
    return None


class StorableStringsRule(ValidationRule):
    """The same refusal for text written into the document itself, naming its argument."""

    def enter_string_value(
        self, node: StringValueNode, _key: Any, parent: Any, _path: Any, ancestors: list[Any]
    ) -> None:
        if UNSTORABLE.search(node.value):
            names = [
                a.name.value
                for a in (*ancestors, parent)
                if getattr(a, "name", None) is not None
                and not isinstance(a, FieldNode | OperationDefinitionNode)
            ]
            field = ".".join(names) or None
            self.report_error(
                GraphQLError(
                    f"{field or 'a string'} contains a character that cannot be stored "
                    "(NUL or a lone surrogate)",
                    node,
                    extensions={"code": "BAD_USER_INPUT", "field": field},
                )
            )


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def root_fields(document: DocumentNode, operation: OperationDefinitionNode) -> Iterator[str]:
    """The names of the fields an operation selects at its root, through fragments."""
    fragments = _fragments(document)

    def walk(selection_set: SelectionSetNode, seen: frozenset[str]) -> Iterator[str]:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection.name.value
            elif isinstance(selection, InlineFragmentNode):
                yield from walk(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is None or name in seen:
                    yield ""  # not a field we know: never counts as introspection
                else:
                    yield from walk(fragment.selection_set, seen | {name})

    return walk(operation.selection_set, frozenset())


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None,
) -> int:
    """How many items an operation may return: each root field counts one, each paginated
    field (one with `first`) as many as it may return, times the items of the fields around
    it (`last` counts as `first` does; neither counts the field's default page). Thirty
    aliases of `messages(first: 200)` cost 6,000."""
    fragments = _fragments(document)
    given = variables or {}

    def page(node: FieldNode, default: object) -> int:
        # The larger of `first` and `last`: both together are refused, but only when it runs.
        values: list[object] = []
        for argument in node.arguments or ():
            if argument.name.value in PAGE_ARGUMENTS:
                if isinstance(argument.value, IntValueNode):
                    values.append(int(argument.value.value))
                elif isinstance(argument.value, VariableNode):
                    values.append(given.get(argument.value.name.value))
        sizes = [v for v in values if isinstance(v, int) and v > 0]
        if sizes:
            return max(sizes)
        if any(v is not None for v in values):
            return 1  # a size the field refuses (zero, negative): it returns nothing
        return default if isinstance(default, int) and default > 0 else DEFAULT_PAGE

    def walk(
        selection_set: SelectionSetNode,
        parent: GraphQLNamedType | None,
        multiplier: int,
        seen: frozenset[str],
    ) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                fields = getattr(parent, "fields", None) or {}
                definition = fields.get(selection.name.value)
                if definition is None or selection.selection_set is None:
                    continue
                items = multiplier
                argument = definition.args.get(PAGE_ARGUMENT)
                if argument is not None:
                    items = multiplier * page(selection, argument.default_value)
                    total += items
                total += walk(selection.selection_set, get_named_type(definition.type), items, seen)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = schema.get_type(condition.name.value) if condition else parent
                total += walk(selection.selection_set, inner, multiplier, seen)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is not None and fragment.name.value not in seen:
                    total += walk(
                        fragment.selection_set,
                        schema.get_type(fragment.type_condition.name.value),
                        multiplier,
                        seen | {fragment.name.value},
                    )
        return total

    root = schema.get_root_type(operation.operation)
    return len(operation.selection_set.selections) + walk(
        operation.selection_set, root, 1, frozenset()
    )
