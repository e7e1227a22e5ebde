"""Live-event subscriptions and webhook payloads shared by the subscription tests."""

from __future__ import annotations

from typing import Any

from tests.helpers import load_payload

MESSAGE_EVENTS = """
subscription($instanceId: ID!, $contactId: ID, $afterSeq: String) {
  messageEvents(instanceId: $instanceId, contactId: $contactId, afterSeq: $afterSeq) {
    seq kind message { messageId textContent status fromMe }
  }
}"""
CONTACT_EVENTS = """
subscription($instanceId: ID!, $afterSeq: String) {
  contactEvents(instanceId: $instanceId, afterSeq: $afterSeq) {
    seq kind contact { name unreadCount lastMessage { textContent } }
  }
}"""


def payload_with(text: str, message_id: str) -> dict[str, Any]:
    payload = load_payload("messages_upsert_text")
    payload["data"]["key"]["id"] = message_id
    payload["data"]["message"] = {"conversation": text}
    return payload
