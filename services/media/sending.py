"""Outgoing media (AUDIO, IMAGE, DOCUMENT, VIDEO): what `sendMessage` checks and stores.

An upload is checked by its content (never its name or declared type), size-limited by
MEDIA_MAX_BYTES, kept in the media store before the message row exists, and sent from there by
the outbox — so the agent's own message plays back at once. A URL is passed to Evolution as it
is (the server never downloads URLs for users); once WhatsApp has the message, the media
fetcher copies the file from Evolution like any other.
"""

from __future__ import annotations

import asyncio
import hashlib
import posixpath
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from services.errors import BadInput
from services.media.codec import duration_seconds
from services.media.types import MediaRejected, check_upload
from services.platform.capabilities import WithMedia, WithSettings

SEND_MEDIA_TYPES = ("image", "document", "video")  # through sendMedia (§3.2)
MEDIA_MESSAGE_TYPES = ("audio", *SEND_MEDIA_TYPES)
MAX_CAPTION = 4096
MAX_FILE_NAME = 200


@dataclass(frozen=True)
class UploadedFile:
    """A file an agent uploaded, as the route received it (name and type are only hints)."""

    data: bytes
    filename: str | None
    content_type: str | None


@dataclass
class OutgoingMedia:
    values: dict[str, Any] = field(default_factory=dict)  # columns of the message row
    upload: bytes | None = None


def check_url(url: str, field_name: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadInput(f"{field_name} must be an http(s) URL", field=field_name)
    return url.strip()


def _one(first: Any, second: Any, names: tuple[str, str]) -> tuple[Any, str]:
    if first is not None and second is not None:
        raise BadInput(f"give {names[0]} or {names[1]}, not both", field=names[1])
    return (second, names[1]) if second is not None else (first, names[0])


async def prepare(
    runtime: WithSettings,
    message_type: str,
    *,
    text: str | None,
    caption: str | None,
    media: UploadedFile | None,
    media_url: str | None,
    audio: UploadedFile | None,
    audio_url: str | None,
    file_name: str | None,
) -> OutgoingMedia:
    """Validate a media send; raises BadInput naming the field at fault."""
    upload, upload_field = _one(media, audio, ("media", "audio"))
    url, url_field = _one(media_url, audio_url, ("mediaUrl", "audioUrl"))
    kind = message_type.upper()
    if (upload is None) == (url is None):
        raise BadInput(
            f"an {kind} message takes either a file upload (media) or mediaUrl",
            field=upload_field if message_type != "audio" else "audio",
        )
    caption, caption_field = _one(caption, text, ("caption", "textContent"))
    outgoing = OutgoingMedia()
    if message_type == "audio":
        if caption_field == "caption" and caption is not None:
            raise BadInput("a voice note has no caption", field="caption")
        caption = None  # textContent of an AUDIO send was always ignored
    elif caption is not None:
        caption = caption.strip() or None
        if caption is not None and len(caption) > MAX_CAPTION:
            raise BadInput(f"caption must be at most {MAX_CAPTION} characters", field=caption_field)
        outgoing.values["text_content"] = caption
    if file_name is not None:
        file_name = file_name.strip().replace("/", "_").replace("\\", "_")
        if not 1 <= len(file_name) <= MAX_FILE_NAME:
            raise BadInput(f"fileName must have 1 to {MAX_FILE_NAME} characters", field="fileName")

    if url is not None:
        outgoing.values["media_url"] = check_url(url, url_field)
        name = file_name or _name_in_url(outgoing.values["media_url"])
        if message_type == "document" and name:
            outgoing.values["media_filename"] = name
        elif file_name:
            outgoing.values["media_filename"] = file_name
        # Fetched from Evolution once sent, like incoming media.
        outgoing.values["media_state"] = "pending"
        return outgoing

    assert upload is not None
    try:
        checked = await asyncio.to_thread(
            check_upload,
            message_type,
            upload.data,
            file_name or upload.filename,
            runtime.settings.media_max_bytes,
        )
    except MediaRejected as rejected:
        raise BadInput(f"{upload_field}: {rejected}", field=upload_field) from None
    outgoing.upload = upload.data
    outgoing.values.update(
        media_mime_type=checked.mime_type,
        media_size=len(upload.data),
        media_filename=checked.file_name,
    )
    if message_type in ("audio", "video"):
        outgoing.values["media_seconds"] = await asyncio.to_thread(duration_seconds, upload.data)
    return outgoing


async def store(
    runtime: WithMedia,
    instance_id: uuid.UUID,
    local_id: uuid.UUID,
    message_type: str,
    outgoing: OutgoingMedia,
) -> dict[str, Any]:
    """Keep an upload in the media store; returns the columns that say where it is."""
    if outgoing.upload is None:
        return {}
    key = f"outgoing/{instance_id}/{local_id}"
    await runtime.media.put(key, outgoing.upload, outgoing.values.get("media_mime_type"))
    columns: dict[str, Any] = {
        "media_state": "ready",
        "media_key": key,
        "media_sha256": hashlib.sha256(outgoing.upload).hexdigest(),
    }
    if message_type == "audio":
        columns["metadata"] = {"upload": key}  # where the outbox has always read recordings
    return columns


def _name_in_url(url: str) -> str | None:
    name = posixpath.basename(unquote(urlsplit(url).path))
    return name[:MAX_FILE_NAME] or None
