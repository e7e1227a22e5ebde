"""Text PostgreSQL can store, from whatever a webhook carries.

JSON can spell what PostgreSQL refuses: `\\u0000` (text and jsonb cannot hold NUL) and lone
surrogates such as `\\ud800` (not UTF-8). A message with either would be refused on every
delivery, so it is cleaned where it comes in: NUL removed, a lone surrogate replaced by
U+FFFD (the replacement character), everything else left as it is.
"""

from __future__ import annotations

import re
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def clean_text(text: str) -> str:
    if not _UNSTORABLE.search(text):
        return text
    return _UNSTORABLE.sub(lambda match: "" if match.group() == "\x00" else "\ufffd", text)


def may_need_cleaning(body: bytes) -> bool:
    """Whether the parsed `body` may hold such text: it can only come from a `\\u` escape, or
    from bytes of an encoded surrogate (json.loads lets them through)."""
    return b"\\u" in body or b"\xed" in body


def clean_json(value: Any) -> Any:
    """`value` (parsed JSON) with every string, keys too, cleaned."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    return value
