"""Reading a webhook body's leading fields without parsing it."""

from __future__ import annotations

import json

import pytest

from services.webhooks.envelope import Leading, leading_fields
from tests.helpers import load_payload


def test_evolution_order_is_read_from_the_first_bytes():
    body = json.dumps(load_payload("messages_upsert_audio_ptt_base64")).encode()
    assert leading_fields(body[:4096]) == Leading("messages.upsert", "acme-support")


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'{"instance": "a\\u00e7o", "event": "x",', Leading("x", "a\u00e7o")),
        (b'{"event":"x","instance":"a"}', Leading("x", "a")),
        (b'  {\n "event" : "x" ,\n "instance" : "a" , "data": [', Leading("x", "a")),
        (b'{"data": [], "event": "x", "instance": "a"}', None),  # not led by them
        (b'{"event": "x", "event": "y", "instance": "a"}', None),
        (b'{"event": 1, "instance": "a"}', None),
        (b'{"event": "x", "instance": "a', None),  # cut short
        (b'{"event": "x", "instance": "\x01"}', None),  # not valid JSON text
        (b'{"event": "x", "instance": "\xff"}', None),  # not UTF-8
        (b"[]", None),
        (b"", None),
    ],
)
def test_only_a_body_led_by_event_and_instance_is_read_early(head, expected):
    assert leading_fields(head) == expected
