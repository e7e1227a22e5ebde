"""Tolerant decoding of the protobuf scalars in Evolution API payloads.

The encoding of 64-bit integers and byte fields changed across 2.x releases (CONTRACT §10.3):
a decimal string or base64 (≤ 2.3.2), a number or an index-keyed object (2.3.3–2.3.5), a
protobufjs `Long` object `{low, high, unsigned}` (2.3.6+). These helpers accept every form and
answer None for anything else, so a payload from an unexpected release degrades to a missing
value instead of an exception.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

_U32 = 0xFFFFFFFF


def long_value(value: Any) -> int | None:
    """An integer from a number, a numeric string or a `{low, high, unsigned}` Long object."""
    if isinstance(value, bool):  # bool is an int subclass; a flag is never a count
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    if isinstance(value, dict):
        low, high = value.get("low"), value.get("high")
        if isinstance(low, int) and isinstance(high, int):
            # Long.js keeps both halves as signed 32-bit ints; an unsigned Long reads its high
            # half as unsigned too (Long#toNumber), a signed one keeps the sign of `high`.
            if value.get("unsigned"):
                high &= _U32
            return high * 2**32 + (low & _U32)
    return None


def bytes_value(value: Any) -> bytes | None:
    """Bytes from a base64 string, an index-keyed object `{"0": 12, …}` or a list of ints."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
    if isinstance(value, dict):
        if not all(isinstance(k, str) and k.isdigit() for k in value):
            return None
        try:
            return _byte_list([value[str(i)] for i in range(len(value))])
        except KeyError:  # keys with gaps: not a serialised Buffer
            return None
    if isinstance(value, list):
        return _byte_list(value)
    return None


def _byte_list(items: list[Any]) -> bytes | None:
    if not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i <= 255 for i in items):
        return None
    return bytes(items)
