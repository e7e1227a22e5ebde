"""What the media route serves for a message: the stored file, or an audio rendition every
browser plays (AAC in MP4, or MP3), transcoded with PyAV on first request and kept in the store.
"""

from __future__ import annotations

import asyncio
import posixpath
import uuid
from dataclasses import dataclass
from typing import Protocol

from db import messages as messages_db, privacy as privacy_db
from services.common.header_values import safe_file_name, safe_mime_type
from services.media import cleanup
from services.media.codec import RENDITIONS, MediaDecodeError, transcode_audio
from services.media.types import base_type, extension_for, inline
from services.platform.capabilities import WithDatabase, WithMedia


class Uses(WithDatabase, WithMedia, Protocol): ...


# A rendition is made once per process at a time; a second request waits for the first.
_making: dict[str, asyncio.Lock] = {}
# Audio already in the asked format is served as it is.
SAME_FORMAT = {"m4a": {"audio/mp4", "audio/x-m4a", "audio/m4a"}, "mp3": {"audio/mpeg"}}


class MediaMissing(Exception):
    """No media to serve for this message (yet, or any more); the message says which."""


class RenditionFailed(Exception):
    """The audio could not be converted (a damaged file)."""


@dataclass(frozen=True)
class MediaObject:
    key: str
    size: int
    content_type: str
    etag: str
    file_name: str | None
    inline: bool


async def locate(runtime: Uses, message_pk: uuid.UUID, fmt: str) -> MediaObject:
    row = await messages_db.get_message(runtime.db, message_pk)
    if row is None:
        raise MediaMissing("message not found")
    if row["media_state"] != "ready" or not row["media_key"]:
        raise MediaMissing(f"media {row['media_state'] or 'absent'}")
    # Rows stored before the names and types were made header-safe are made safe here.
    mime = safe_mime_type(row["media_mime_type"]) or "application/octet-stream"
    digest = (row["media_sha256"] or str(row["id"]).replace("-", ""))[:40]
    name = safe_file_name(row["media_filename"])
    if (
        fmt in RENDITIONS
        and row["message_type"] == "audio"
        and base_type(mime) not in SAME_FORMAT[fmt]
    ):
        key, length = await _rendition(runtime, row["id"], row["media_key"], fmt)
        stem = posixpath.splitext(name)[0] if name else "audio"
        return MediaObject(
            key, length, RENDITIONS[fmt][3], f'"{digest}-{fmt}"', f"{stem}.{fmt}", True
        )
    size: int | None = row["media_size"]
    if size is None:
        size = await runtime.media.size(row["media_key"])
        if size is None:
            raise MediaMissing("media file missing from the store")
    if not name:
        name = f"{row['message_type']}.{extension_for(mime)}"
    return MediaObject(row["media_key"], size, mime, f'"{digest}"', name, inline(mime))


async def _rendition(
    runtime: Uses, message_pk: uuid.UUID, original: str, fmt: str
) -> tuple[str, int]:
    key = f"{original}.{fmt}"
    lock = _making.setdefault(key, asyncio.Lock())
    try:
        async with lock:
            size = await runtime.media.size(key)
            if size is not None:
                return key, size
            data = await runtime.media.get(original)
            if data is None:
                raise MediaMissing("media file missing from the store")
            try:
                converted = await asyncio.to_thread(transcode_audio, data, fmt)
            except MediaDecodeError as error:
                raise RenditionFailed(f"this audio cannot be converted: {error}") from None
            await runtime.media.put(key, converted, RENDITIONS[fmt][3])
            if not await privacy_db.message_exists(runtime.db, message_pk):
                # Erased while converting: the erasure could not know of this object.
                await cleanup.discard(runtime, [key])
                raise MediaMissing("message not found")
            return key, len(converted)
    finally:
        if not lock.locked() and _making.get(key) is lock:
            del _making[key]
