"""Reading an Evolution webhook body: its leading fields without parsing it, then the whole of
it, off the event loop when it is large.

Evolution serialises every delivery as `{"event": …, "instance": …, "data": …, …}` (its
webhook controller builds the object in that order). The old, shared webhook URL names no
instance, so the instance is read from the first bytes, and the delivery is authenticated
before the rest of the body is even received.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any

# Real payloads nest about 8 levels; a deeper body is not something Evolution sends.
MAX_DEPTH = 64
# How much of the body the leading fields must fit in (an instance name is at most ~50 bytes).
HEAD_BYTES = 4096
# Bodies parsed on the event loop: a few milliseconds at most. Larger ones go to a thread.
PARSE_INLINE_BYTES = 256 * 1024

_STRING = rb'"(?:[^"\\]|\\.)*"'
_MEMBER = re.compile(rb"\s*(" + _STRING + rb")\s*:\s*(" + _STRING + rb")\s*[,}]")
_OPEN = re.compile(rb"\s*\{")
_LEADING = ("event", "instance")


class BadBody(Exception):
    """A body we will never accept; the message says why."""


@dataclass(frozen=True)
class Leading:
    event: str
    instance: str


def leading_fields(head: bytes) -> Leading | None:
    """`event` and `instance` when they are the body's first two members (in either order),
    both strings, within `head`; None otherwise (the body must then be read to know them)."""
    opened = _OPEN.match(head)
    if opened is None:
        return None
    found: dict[str, str] = {}
    position = opened.end()
    while len(found) < len(_LEADING):
        member = _MEMBER.match(head, position)
        if member is None:
            return None
        try:
            key, value = json.loads(member[1]), json.loads(member[2])
        except ValueError:  # invalid UTF-8 or escapes, control characters
            return None
        if key not in _LEADING or key in found:
            return None
        found[key] = value
        position = member.end()
    return Leading(found["event"], found["instance"])


async def parse(body: bytes) -> dict[str, Any]:
    """The body as a JSON object with string `event` and `instance`, or BadBody.

    Large bodies are parsed in a thread so other requests (and `/healthz`) are not held up by
    the depth check; only authenticated bodies (or small ones) get here.
    """
    if len(body) > PARSE_INLINE_BYTES:
        return await asyncio.to_thread(parse_now, body)
    return parse_now(body)


def parse_now(body: bytes) -> dict[str, Any]:
    try:
        # NaN and Infinity are not JSON, and jsonb refuses them.
        payload = json.loads(body, parse_constant=_not_json)
    except (ValueError, RecursionError) as error:
        raise BadBody("the body is not valid JSON") from error
    if not isinstance(payload, dict):
        raise BadBody("the body must be a JSON object")
    if _too_deep(body, payload):
        raise BadBody(f"the body nests deeper than {MAX_DEPTH} levels")
    if not isinstance(payload.get("event"), str) or not isinstance(payload.get("instance"), str):
        raise BadBody("the body needs string fields 'event' and 'instance'")
    return payload


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _too_deep(body: bytes, payload: Any) -> bool:
    # Every level opens a bracket, so a body with few brackets is shallow enough: counting
    # them is much cheaper than walking the parsed value, which only bodies with many do.
    if body.count(b"{") + body.count(b"[") <= MAX_DEPTH:
        return False
    return _depth(payload) > MAX_DEPTH


def _depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            return level
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest
