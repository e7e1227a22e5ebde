"""Turn Evolution's message objects (`messages.upsert`, `send.message`, REST send answers) into
the fields we store. Pure: no I/O, never raises on an unknown shape — the rest is `other`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypedDict

from services.common.header_values import safe_file_name, safe_mime_type
from services.common.instants import whole_second_now
from services.instances.evolution_values import long_value

# Wrappers Evolution does not unwrap (CONTRACT §9.1): the content sits in `.message` inside.
WRAPPERS = (
    "ephemeralMessage",
    "viewOnceMessage",
    "viewOnceMessageV2",
    "viewOnceMessageV2Extension",
    "documentWithCaptionMessage",
    "editedMessage",
)
HELPER_KEYS = {
    "messageContextInfo",
    "senderKeyDistributionMessage",
    "base64",
    "mediaUrl",
    "speechToText",
}
MEDIA_KINDS = {
    "audioMessage": "audio",
    "imageMessage": "image",
    "videoMessage": "video",
    "ptvMessage": "video",
    "documentMessage": "document",
    "stickerMessage": "sticker",
}
WAID = re.compile(r"waid=(\d+)")


class ContactCard(TypedDict):
    """One person of a shared contact card, as kept in the message's metadata."""

    name: str | None
    phones: list[str]


# WhatsApp's own limit on a message's text: anything longer is no message a phone sent.
MAX_TEXT = 65_536
# How far ahead of our clock a message's time may be (a phone's clock runs fast).
MAX_AHEAD_SECONDS = 86400


@dataclass
class MessageContent:
    message_type: str  # one of the seed's kinds
    text: str | None = None
    media_url: str | None = None
    media_mime_type: str | None = None
    media_size: int | None = None
    media_filename: str | None = None
    media_seconds: int | None = None
    quoted_message_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    is_reaction: bool = False


def message_timestamp(data: dict[str, Any]) -> datetime:
    """`messageTimestamp` (seconds; number, numeric string or {low, high}); never `date_time`,
    which Evolution writes as local time mislabelled UTC.

    A value that is no moment of a real message — missing, not a number, zero or negative,
    more than a day ahead (10**20, 1.5e308…) — is replaced by the time the message is
    stored: the message is kept, and sorts where it arrived."""
    now = whole_second_now()
    seconds = long_value(data.get("messageTimestamp"))
    if seconds is None or seconds <= 0:
        return now
    if seconds > 10**11:  # milliseconds from an odd client
        seconds //= 1000
    if seconds > now.timestamp() + MAX_AHEAD_SECONDS:
        return now
    return datetime.fromtimestamp(seconds, UTC)


def _count(value: Any, largest: int) -> int | None:
    """A size or a duration; None when it is none (negative, or beyond what we can store)."""
    number = long_value(value)
    return number if number is not None and 0 <= number <= largest else None


def _content_key(message: dict[str, Any], message_type: str | None) -> str | None:
    if message_type and message_type in message:
        return message_type
    for key in message:
        if key not in HELPER_KEYS and isinstance(message[key], (dict, str)):
            return key
    return None


def parse_content(data: dict[str, Any]) -> MessageContent:
    message = data.get("message") if isinstance(data.get("message"), dict) else {}
    assert isinstance(message, dict)
    message_type = data.get("messageType") if isinstance(data.get("messageType"), str) else None
    media_url = message.get("mediaUrl") if isinstance(message.get("mediaUrl"), str) else None

    key = _content_key(message, message_type)
    while key in WRAPPERS and isinstance(message.get(key), dict):
        inner = message[key].get("message")
        if not isinstance(inner, dict):
            break
        message = inner
        key = _content_key(message, None)

    body = message.get(key) if key else None
    body = body if isinstance(body, dict) else {}
    content = _parse_body(key, message, body)
    content.media_url = content.media_url or (
        media_url
        if content.message_type in {"audio", "image", "video", "document", "sticker"}
        else None
    )
    context = data.get("contextInfo") if isinstance(data.get("contextInfo"), dict) else None
    context = context or (
        body.get("contextInfo") if isinstance(body.get("contextInfo"), dict) else None
    )
    if context and isinstance(context.get("stanzaId"), str):
        content.quoted_message_id = context["stanzaId"]
    return bounded(content)


def bounded(content: MessageContent) -> MessageContent:
    """What is stored of it: text cut at MAX_TEXT characters, and a file name and type that
    are safe in the HTTP headers they are served in (services/common/header_values.py)."""
    if isinstance(content.text, str) and len(content.text) > MAX_TEXT:
        content.text = content.text[:MAX_TEXT]
    content.media_filename = safe_file_name(content.media_filename)
    content.media_mime_type = safe_mime_type(content.media_mime_type)
    return content


def _parse_body(key: str | None, message: dict[str, Any], body: dict[str, Any]) -> MessageContent:
    if key == "conversation":
        return MessageContent("text", text=message.get("conversation") or None)
    if key == "extendedTextMessage":
        return MessageContent("text", text=body.get("text") or None)
    if key in MEDIA_KINDS:
        content = MessageContent(
            MEDIA_KINDS[key],
            text=body.get("caption") or None,
            media_mime_type=body.get("mimetype"),
            media_size=_count(body.get("fileLength"), 2**63 - 1),  # a bigint column
            media_filename=body.get("fileName") or body.get("title") or None,
            media_seconds=_count(body.get("seconds"), 2**31 - 1),  # an integer column
        )
        if key == "audioMessage":
            content.metadata["ptt"] = bool(body.get("ptt"))
        return content
    if key in ("locationMessage", "liveLocationMessage"):
        lat, lng = body.get("degreesLatitude"), body.get("degreesLongitude")
        label = ", ".join(str(p) for p in (body.get("name"), body.get("address")) if p)
        return MessageContent(
            "location",
            text=label or None,
            metadata={
                "latitude": lat,
                "longitude": lng,
                "name": body.get("name"),
                "address": body.get("address"),
                "live": key == "liveLocationMessage",
            },
        )
    if key == "contactMessage":
        return _contact([body])
    if key == "contactsArrayMessage":
        contacts = given if isinstance(given := body.get("contacts"), list) else []
        return _contact([c for c in contacts if isinstance(c, dict)])
    if key == "reactionMessage":
        target = given if isinstance(given := body.get("key"), dict) else {}
        return MessageContent(
            "other",
            text=body.get("text") or None,
            is_reaction=True,
            metadata={
                "kind": "reaction",
                "emoji": body.get("text") or "",
                "targetMessageId": target.get("id"),
            },
        )
    return MessageContent("other", metadata={"kind": key or "unknown"})


def _contact(cards: list[dict[str, Any]]) -> MessageContent:
    people: list[ContactCard] = []
    for card in cards:
        vcard = given if isinstance(given := card.get("vcard"), str) else ""
        name = given if isinstance(given := card.get("displayName"), str) else None
        people.append({"name": name, "phones": WAID.findall(vcard)})
    names = ", ".join(p["name"] for p in people if p["name"])
    return MessageContent("contact", text=names or None, metadata={"contacts": people})
