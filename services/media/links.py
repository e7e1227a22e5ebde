"""Signed, short-lived media URLs of this server: what `Message.mediaUrl` gives a browser.

`/media/<message id>?exp=<unix seconds>&sig=<HMAC-SHA256>` (plus `&format=m4a|mp3` for an audio
rendition). The signature covers the message id, the format and the expiry, so a URL cannot be
guessed, extended, or turned into another message's URL; it needs no header, so `<audio src>`
and `<img src>` work as they are. The key comes from the server's secrets (Vault).

Expiries are rounded up to a quarter of the lifetime: the same message keeps the same URL for a
while, so the browser's cache keeps working across refetches of the conversation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from urllib.parse import urlencode

MEDIA_PATH = "/media"
FORMATS = ("original", "m4a", "mp3")


def signature(key: bytes, message_pk: uuid.UUID | str, fmt: str, expires: int) -> str:
    payload = f"{message_pk}\n{fmt}\n{expires}".encode()
    digest = hmac.new(key, payload, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def expiry(ttl_seconds: int, now: float | None = None) -> int:
    """An expiry at least `ttl_seconds` away, rounded up to a quarter of it."""
    now = time.time() if now is None else now
    step = max(1, ttl_seconds // 4)
    return (int(now) + ttl_seconds + step - 1) // step * step


def signed_path(key: bytes, message_pk: uuid.UUID, fmt: str, expires: int) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown media format {fmt!r}")
    query = {"exp": str(expires), "sig": signature(key, message_pk, fmt, expires)}
    if fmt != "original":
        query["format"] = fmt
    return f"{MEDIA_PATH}/{message_pk}?{urlencode(query)}"


def verify(
    key: bytes,
    message_pk: str,
    fmt: str,
    expires: str | None,
    sig: str | None,
    now: float | None = None,
) -> bool:
    """True when `sig` signs this message, format and expiry, and the expiry has not passed."""
    # ASCII digits only: "²" passes isdigit() and then fails int().
    if not expires or not sig or not (expires.isascii() and expires.isdigit()) or len(expires) > 12:
        return False
    if int(expires) <= (time.time() if now is None else now):
        return False
    expected = signature(key, message_pk, fmt, int(expires))
    return hmac.compare_digest(expected.encode(), sig.encode())


def absolute(base_url: str, path: str) -> str:
    """`path` on `base_url`, a websocket base (a subscription's request) made http(s)."""
    base = base_url.rstrip("/")
    if base.startswith("ws://"):
        base = "http://" + base.removeprefix("ws://")
    elif base.startswith("wss://"):
        base = "https://" + base.removeprefix("wss://")
    return base + path
