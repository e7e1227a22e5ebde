"""Shape rules for text people type into stored fields, and LIKE patterns built from it."""

from __future__ import annotations

import re

from services.errors import BadInput

# C0 and C1 control characters. A name or a one-line field has none: a stray ESC or CR in a
# display name breaks every screen and log line that shows it.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# In a block of text (notes) only line breaks and tabs are kept.
BLOCK_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_line(value: str | None, field: str, max_length: int) -> str | None:
    """One line of text, trimmed; None when empty; BadInput naming `field` when it is too
    long or holds a control character."""
    text = (value or "").strip()
    if CONTROL.search(text):
        raise BadInput(
            f"{field} must not contain control characters (line breaks, tabs…)", field=field
        )
    if len(text) > max_length:
        raise BadInput(f"{field} must be at most {max_length} characters", field=field)
    return text or None


def clean_block(value: str | None, field: str, max_length: int) -> str | None:
    """Several lines of text, trimmed; None when empty."""
    text = (value or "").strip()
    if BLOCK_CONTROL.search(text):
        raise BadInput(f"{field} must not contain control characters", field=field)
    if len(text) > max_length:
        raise BadInput(f"{field} must be at most {max_length} characters", field=field)
    return text or None


def escape_like(text: str) -> str:
    """`text` matched literally inside a LIKE pattern (PostgreSQL's default escape is `\\`)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
