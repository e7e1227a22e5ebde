"""What a file is, told by its content (`filetype` signatures and a decode with PyAV), never by
its name or by the type a client declares; and how each kind may be sent and served.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass

import filetype  # type: ignore[import-untyped]

from services.media.codec import MediaDecodeError, check_decodes

IMAGE_TYPES = {"image/jpeg", "image/png", "image/webp", "image/gif"}
VIDEO_TYPES = {"video/mp4", "video/3gpp", "video/quicktime"}
AUDIO_TYPES = {
    "audio/ogg",
    "audio/webm",
    "audio/mp4",
    "audio/wav",
    "audio/mpeg",
    "audio/aac",
    "audio/amr",
}
# Served inline (a browser shows or plays them); anything else is a download, so an uploaded
# HTML or SVG file can never run as a page of this server.
INLINE_TYPES = (
    IMAGE_TYPES
    | VIDEO_TYPES
    | AUDIO_TYPES
    | {"application/pdf", "video/webm", "image/bmp", "audio/x-m4a", "audio/3gpp"}
)
REFUSED_DOCUMENTS = {
    "application/x-msdownload",
    "application/x-executable",
    "application/x-sharedlib",
    "application/x-mach-binary",
    "application/vnd.microsoft.portable-executable",
}
EXTENSIONS = {
    "audio/ogg": "ogg",
    "audio/webm": "webm",
    "audio/mp4": "m4a",
    "audio/wav": "wav",
    "audio/mpeg": "mp3",
    "audio/aac": "aac",
    "audio/amr": "amr",
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "video/mp4": "mp4",
    "video/3gpp": "3gp",
    "video/quicktime": "mov",
    "application/pdf": "pdf",
    "text/plain": "txt",
    "text/csv": "csv",
}
ALIASES = {
    "audio/x-wav": "audio/wav",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "audio/x-flac": "audio/flac",
    "application/x-pdf": "application/pdf",
}
TEXT_SNIFF_BYTES = 8192


class MediaRejected(ValueError):
    """An upload that cannot be sent as this kind; the message says why, for the agent."""


@dataclass(frozen=True)
class CheckedMedia:
    mime_type: str
    file_name: str


def base_type(mime: str | None) -> str:
    """ "audio/ogg; codecs=opus" → "audio/ogg"."""
    return (mime or "").split(";")[0].strip().lower()


def extension_for(mime: str | None) -> str:
    base = base_type(mime)
    return EXTENSIONS.get(base) or (mimetypes.guess_extension(base) or ".bin").lstrip(".")


def detect(data: bytes) -> str | None:
    """The MIME type of `data` by its signature; UTF-8 text without one is text/plain."""
    mime: str | None = filetype.guess_mime(data)
    if mime:
        return ALIASES.get(mime, mime)
    head = data[:TEXT_SNIFF_BYTES]
    if head and b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as error:
            if error.start < len(head) - 3:  # not merely a character cut at the sniff limit
                return None
        return "text/plain"
    return None


def _audio_type(data: bytes, detected: str | None) -> str | None:
    head = data[:16]
    if head.startswith(b"\x1aE\xdf\xa3"):
        return "audio/webm"  # a browser's MediaRecorder: WebM with Opus, no video
    if head[4:8] == b"ftyp":
        return "audio/mp4"
    if head.startswith(b"#!AMR"):
        return "audio/amr"
    return detected if detected in AUDIO_TYPES else None


def check_upload(kind: str, data: bytes, file_name: str | None, max_bytes: int) -> CheckedMedia:
    """Validate an upload to send as `kind` ("audio", "image", "video", "document").

    Raises MediaRejected for an empty, oversized, unknown, mismatched or damaged file.
    """
    if not data:
        raise MediaRejected("the file is empty")
    if len(data) > max_bytes:
        raise MediaRejected(f"the file is larger than the limit of {_size(max_bytes)}")
    detected = detect(data)
    if kind == "audio":
        mime = _audio_type(data, detected)
        if mime is None:
            raise MediaRejected(
                "not a recognised audio file (ogg, webm, mp4/m4a, wav, mp3, aac or amr)"
            )
        _decodes(data, "audio")
    elif kind == "image":
        if detected not in IMAGE_TYPES:
            raise MediaRejected(
                "not a recognised image (JPEG, PNG, WebP or GIF)"
                + (f"; it looks like {detected}" if detected else "")
            )
        mime = detected
        _decodes(data, "video")  # FFmpeg decodes a still image as a one-frame video
    elif kind == "video":
        if detected not in VIDEO_TYPES:
            raise MediaRejected(
                "not a recognised video (MP4, 3GP or QuickTime)"
                + (f"; it looks like {detected}" if detected else "")
            )
        mime = detected
        _decodes(data, "video")
    elif kind == "document":
        if detected is None:
            raise MediaRejected("unknown file type: the content matches no known format")
        if detected in REFUSED_DOCUMENTS:
            raise MediaRejected("programs cannot be sent")
        mime = detected
        if mime == "text/plain" and (file_name or "").lower().endswith(".csv"):
            mime = "text/csv"
        if mime == "application/pdf" and b"%%EOF" not in data[-2048:]:
            raise MediaRejected("the PDF is damaged or incomplete")
    else:
        raise ValueError(f"unknown media kind {kind!r}")
    name = (file_name or "").strip().replace("/", "_").replace("\\", "_")[:200]
    if not name:
        name = f"{'documento' if kind == 'document' else kind}.{extension_for(mime)}"
    return CheckedMedia(mime, name)


def _decodes(data: bytes, kind: str) -> None:
    try:
        check_decodes(data, kind)
    except MediaDecodeError:
        raise MediaRejected("the file is damaged or incomplete: it cannot be decoded") from None


def _size(count: int) -> str:
    return f"{count / 1024 / 1024:g} MB" if count >= 1024 * 1024 else f"{count} bytes"


def inline(mime: str | None) -> bool:
    return base_type(mime) in INLINE_TYPES
