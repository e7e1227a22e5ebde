"""The GraphQL documents the bench sends: what a chat view and a contact list ask for."""

from __future__ import annotations

import json
from typing import Any

MESSAGE_FIELDS = """
  id messageId fromMe messageType textContent mediaUrl mediaMimeType mediaSeconds
  mediaFilename quotedMessageId status senderName deleted timestamp
"""

# The chat view: the newest 50 messages of a contact with what a bubble shows.
MESSAGES_PAGE = f"""
query ChatPage($contactId: ID!) {{
  messages(contactId: $contactId, first: 50) {{
    edges {{ cursor node {{ {MESSAGE_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

# The same page through PostGraphile's generated schema (names found by introspection; the
# placeholders are filled in by bench/peer.py).
PEER_MESSAGES_PAGE = """
query ChatPage($contactId: UUID!) {
  %(field)s(condition: {contactId: $contactId}, orderBy: [TIMESTAMP_DESC, %(id_order)s],
            first: 50) {
    edges { cursor node {
      %(id)s messageId fromMe messageType textContent mediaUrl mediaMimeType mediaSeconds
      mediaFilename quotedMessageId status senderName deletedAt timestamp
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

CONTACT_LIST = """
query ContactList($instanceId: ID!, $search: String) {
  contacts(instanceId: $instanceId, first: 50, search: $search) {
    edges { cursor node {
      id name pushName phoneNumber profilePictureUrl contactType isGroup lastMessageAt
      unreadCount
      lastMessage { id textContent messageType fromMe status timestamp }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

MESSAGE_EVENTS = """
subscription Live($instanceId: ID!) {
  messageEvents(instanceId: $instanceId) {
    seq kind message { id textContent fromMe status timestamp }
  }
}
"""


def body(query: str, variables: dict[str, Any]) -> str:
    return json.dumps({"query": query, "variables": variables}, separators=(",", ":"))
