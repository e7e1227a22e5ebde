"""A file's name and type as they go into HTTP headers (Content-Type, Content-Disposition).

Both come from WhatsApp senders. A CR or LF in either would end the header early: the server
then drops the connection and the file can never be downloaded. They are made safe when
stored and again when served (rows stored before this rule are served safely too).
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL and the Unicode line and paragraph separators.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# type/subtype with optional parameters, in the token characters of RFC 9110.
MIME = re.compile(
    r"[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+"
    r"(\s*;\s*[A-Za-z0-9!#$&^_.+-]+=(\"[^\"\\]*\"|[A-Za-z0-9!#$&^_.+-]+))*"
)
MAX_FILE_NAME = 200
MAX_MIME = 150


def safe_file_name(name: object) -> str | None:
    """The name with control characters replaced; None when nothing is left or it is not text."""
    if not isinstance(name, str):
        return None
    cleaned = CONTROL.sub("_", name).strip()[:MAX_FILE_NAME]
    return cleaned or None


def safe_mime_type(mime: object) -> str | None:
    """A well-formed media type, or None (served then as application/octet-stream)."""
    if not isinstance(mime, str):
        return None
    mime = mime.strip()
    return mime if len(mime) <= MAX_MIME and MIME.fullmatch(mime) else None
