"""The view frames live results itself; the text must be what plain JSON encoding gives."""

from __future__ import annotations

import json
from typing import Any

import pytest

from resolvers.view import RECENT_RESULTS, GraphQLView


@pytest.fixture
def view() -> GraphQLView:
    return GraphQLView(runtime=None, schema=None)  # type: ignore[arg-type]


def _plain(message: Any) -> Any:
    return json.loads(json.dumps(message))


@pytest.mark.parametrize(
    "message",
    [
        {"id": "1", "type": "next", "payload": {"data": {"e": {"seq": "4", "text": 'olá "x"'}}}},
        {"id": 'a"b', "type": "next", "payload": {"data": None}},
        {"id": "1", "type": "next", "payload": {"data": {"e": None}, "errors": [{"message": "m"}]}},
        {"id": "1", "type": "complete"},
        {"type": "connection_ack"},
    ],
)
def test_frames_are_plain_json(view: GraphQLView, message: dict[str, Any]) -> None:
    assert json.loads(view.encode_json(message)) == _plain(message)


def test_a_shared_result_is_encoded_once_and_framed_per_subscription(view: GraphQLView) -> None:
    data = {"messageEvents": {"seq": "9"}}
    first = view.encode_json({"id": "1", "type": "next", "payload": {"data": data}})
    second = view.encode_json({"id": "7", "type": "next", "payload": {"data": data}})
    assert json.loads(first)["id"] == "1" and json.loads(second)["id"] == "7"
    assert json.loads(second)["payload"] == {"data": data}
    for n in range(RECENT_RESULTS * 2):  # older results are forgotten, not kept forever
        view.encode_json({"id": "1", "type": "next", "payload": {"data": {"n": n}}})
    assert len(view._recent) == RECENT_RESULTS
