"""Evolution API v2.3.x HTTP client: one method per route this product uses.

Section numbers (§) refer to the Evolution API contract (`evolution/CONTRACT.md`).

Keys (§1.2, §13): the global key goes only to `instance/create` and `instance/fetchInstances`;
every per-instance route is called with that instance's token, so a leaked token exposes one
WhatsApp number, not the whole server.

Retries: connection errors, timeouts, 429 and 5xx are retried with exponential backoff and full
jitter, within `retry_seconds` for the whole call; 4xx never. Sends are the exception: a timeout
or a 5xx may come after WhatsApp already got the message, so they are retried only when the
request surely never reached Evolution (no connection) or was turned away (429). Their caller,
a durable outbox, decides about anything else.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import httpx

from services.errors import EvolutionFailed, EvolutionNotConfigured, EvolutionUnavailable

log = logging.getLogger("atendimento.evolution")

# (method, route template such as "/message/sendText/{instance}", HTTP status or None, seconds)
CallHook = Callable[[str, str, int | None, float], None]

# Evolution requires every boolean on settings/set (§5.1); what the caller leaves out is off.
SETTINGS_DEFAULTS: dict[str, Any] = {
    "rejectCall": False,
    "msgCall": "",
    "groupsIgnore": False,
    "alwaysOnline": False,
    "readMessages": False,
    "readStatus": False,
    "syncFullHistory": False,
}
_SETTINGS_KEYS = {*SETTINGS_DEFAULTS, "wavoipToken"}

_BACKOFF_BASE = 0.5
_BACKOFF_CAP = 5.0
_RETRIED_FAILURES = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
# No connection was ever made: the request cannot have reached Evolution.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class EvolutionApiError(EvolutionFailed):
    """Evolution API answered with an error.

    `status` is the HTTP status: 200 for the `{"error": true, …}` answers of connect and
    restart (§1.4), 404 when the instance does not exist. `response` is the parsed body (or the
    text of a body that is not JSON), `message` one readable line made from it.
    """

    def __init__(self, status: int, message: str, response: Any = None) -> None:
        super().__init__(message, status=status)
        self.status: int = status  # always known here, unlike in EvolutionFailed
        self.response = response

    @property
    def not_on_whatsapp(self) -> bool:
        """The recipient of a send has no WhatsApp account (400 `[{"exists": false, …}]`)."""
        return any(
            isinstance(item, dict) and item.get("exists") is False
            for item in _flat(_raw_message(self.response))
        )


def error_message(body: Any) -> str | None:
    """One readable line from any error body of §1.4, or None when it says nothing useful."""
    texts = [_describe(item) for item in _flat(_raw_message(body))]
    return "; ".join(t for t in texts if t) or None


def _raw_message(body: Any) -> Any:
    if isinstance(body, dict):
        response = body.get("response")
        if isinstance(response, dict) and "message" in response:
            return response["message"]
        # whatsappNumbers (400) and connect/restart (200) put `message` at the top level.
        return body.get("message")
    return None  # a body that is not JSON (a proxy's error page) is not shown to users


def _flat(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [item for element in value for item in _flat(element)]
    return [] if value is None else [value]


def _describe(item: Any) -> str | None:
    if isinstance(item, dict):
        if item.get("exists") is False:
            who = item.get("number") or str(item.get("jid") or "").split("@")[0]
            return f"{who or 'the recipient'} is not on WhatsApp"
        return error_message({"message": item.get("message")})
    text = str(item).strip()
    # A plain object stringified by Evolution's catch blocks carries no information.
    return None if text in ("", "[object Object]") else text


class EvolutionClient:
    """Calls Evolution API through one owned `httpx.AsyncClient`; close it with `aclose()`.

    Parameters:
        base_url, api_key: the server and its global key; if either is missing every call
            raises `EvolutionNotConfigured` before any I/O.
        timeout: seconds allowed to each attempt (connect, write, read and pool each).
        retry_seconds: budget of one call for retries, backoff included. No new attempt starts
            once it is spent, so a call lasts at most about `retry_seconds + timeout`.
        transport: replaces the network transport (tests).

    `on_call`, when set, is called after every attempt with (method, route template, status or
    None, seconds) — for metrics.
    """

    def __init__(
        self,
        base_url: str | None,
        api_key: str | None,
        *,
        timeout: float = 15.0,
        retry_seconds: float = 20.0,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._base_url = (base_url or "").rstrip("/")
        self._api_key = api_key or ""
        self._timeout = timeout
        self._retry_seconds = retry_seconds
        self._http = httpx.AsyncClient(
            base_url=self._base_url,
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers={"accept": "application/json"},
        )
        # Backoff waits go through here so tests can observe them without waiting.
        self._sleep = sleep
        self.on_call: CallHook | None = None

    @property
    def configured(self) -> bool:
        return bool(self._base_url and self._api_key)

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- instances (§2) -------------------------------------------------------------------

    async def create_instance(
        self,
        name: str,
        token: str,
        *,
        webhook_url: str,
        webhook_headers: dict[str, str],
        events: list[str],
        settings: dict[str, Any] | None = None,
        qrcode: bool = False,
        number: str | None = None,
    ) -> dict[str, Any]:
        """Create a Baileys instance whose token is `token`, with its webhook set inline."""
        if not events:
            # Evolution fails on a missing list, and an empty one subscribes to every event,
            # history-sync floods included (§2.1, §6.1).
            raise ValueError("events must list the webhook events to receive")
        body: dict[str, Any] = {
            "instanceName": name,
            "token": token,
            "integration": "WHATSAPP-BAILEYS",
            "qrcode": qrcode,
        }
        if number is not None:
            body["number"] = number
        if settings is not None:
            body.update(_settings_body(settings))
        body["webhook"] = {
            "url": webhook_url,
            "byEvents": False,
            "base64": False,
            "headers": webhook_headers,
            "events": events,
        }
        result: dict[str, Any] = await self._call(
            "POST", "/instance/create", key=self._api_key, json=body
        )
        return result

    async def fetch_instances(self, name: str | None = None) -> list[dict[str, Any]]:
        """Instance rows (§2.7). An unknown `name` raises EvolutionApiError with status 404."""
        params = {"instanceName": name} if name is not None else None
        result: list[dict[str, Any]] = await self._call(
            "GET", "/instance/fetchInstances", key=self._api_key, params=params, expect=list
        )
        return result

    async def connect(self, name: str, token: str, number: str | None = None) -> dict[str, Any]:
        """A QR object `{pairingCode, code, base64, count}`, or `{"instance": {…, "state":
        "open"}}` when already connected (§2.2). `number` asks for a pairing code too."""
        params = {"number": number} if number is not None else None
        result: dict[str, Any] = await self._call(
            "GET", "/instance/connect/{instance}", name, key=token, params=params
        )
        return result

    async def connection_state(self, name: str, token: str) -> str:
        """ "open", "connecting" or "close" (§2.3)."""
        route = "/instance/connectionState/{instance}"
        body: dict[str, Any] = await self._call("GET", route, name, key=token)
        instance = body.get("instance")
        if isinstance(instance, dict) and isinstance(instance.get("state"), str):
            return str(instance["state"])
        raise EvolutionApiError(200, f"Evolution API answered {route} without a state", body)

    async def logout(self, name: str, token: str) -> None:
        """Log the device out (§2.4); 400 when it is not connected."""
        await self._call("DELETE", "/instance/logout/{instance}", name, key=token)

    async def delete_instance(self, name: str, token: str) -> None:
        """Remove the instance (§2.5); status 404 means it is already gone."""
        await self._call("DELETE", "/instance/delete/{instance}", name, key=token)

    async def restart(self, name: str, token: str) -> dict[str, Any]:
        """Reconnect an open or connecting instance; answers as `connect` (§2.6)."""
        result: dict[str, Any] = await self._call(
            "POST", "/instance/restart/{instance}", name, key=token
        )
        return result

    # -- messages (§3) --------------------------------------------------------------------

    async def send_text(
        self,
        name: str,
        token: str,
        *,
        number: str,
        text: str,
        quoted: dict[str, Any] | None = None,
        delay: int | None = None,
        link_preview: bool | None = None,
    ) -> dict[str, Any]:
        """Send a text; answers the stored message (`key.id`, `status` "PENDING"; §3.1)."""
        body = _without_none(
            {
                "number": number,
                "text": text,
                "quoted": quoted,
                "delay": delay,
                "linkPreview": link_preview,
            }
        )
        return await self._send("/message/sendText/{instance}", name, token, body)

    async def send_whatsapp_audio(
        self, name: str, token: str, *, number: str, audio: str, encoding: bool = True
    ) -> dict[str, Any]:
        """Send a voice note; `audio` is a URL or base64 (§3.3)."""
        body = {"number": number, "audio": audio, "encoding": encoding}
        return await self._send("/message/sendWhatsAppAudio/{instance}", name, token, body)

    async def send_media(
        self,
        name: str,
        token: str,
        *,
        number: str,
        mediatype: str,
        media: str,
        mimetype: str | None = None,
        file_name: str | None = None,
        caption: str | None = None,
        quoted: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send an image, video, document or audio file; `media` is a URL or raw base64 (§3.2)."""
        body = _without_none(
            {
                "number": number,
                "mediatype": mediatype,
                "media": media,
                "mimetype": mimetype,
                "fileName": file_name,
                "caption": caption,
                "quoted": quoted,
            }
        )
        return await self._send("/message/sendMedia/{instance}", name, token, body)

    # -- settings and webhook (§5, §6) ----------------------------------------------------

    async def set_settings(self, name: str, token: str, settings: dict[str, Any]) -> dict[str, Any]:
        """Replace the instance settings; `settings` uses Evolution's camelCase keys and what
        it leaves out is sent as off (§5.1)."""
        result: dict[str, Any] = await self._call(
            "POST", "/settings/set/{instance}", name, key=token, json=_settings_body(settings)
        )
        return result

    async def find_settings(self, name: str, token: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = await self._call(
            "GET", "/settings/find/{instance}", name, key=token, expect=(dict, type(None))
        )
        return result

    async def set_webhook(
        self,
        name: str,
        token: str,
        *,
        url: str,
        headers: dict[str, str],
        events: list[str],
        by_events: bool = False,
        base64: bool = False,
        enabled: bool = True,
    ) -> dict[str, Any]:
        """Replace the instance webhook (§6.1); answers the stored row."""
        if enabled and not events:
            raise ValueError("events must list the webhook events to receive")
        body = {
            "webhook": {
                "enabled": enabled,
                "url": url,
                "byEvents": by_events,
                "base64": base64,
                "headers": headers,
                "events": events,
            }
        }
        result: dict[str, Any] = await self._call(
            "POST", "/webhook/set/{instance}", name, key=token, json=body
        )
        return result

    async def find_webhook(self, name: str, token: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = await self._call(
            "GET", "/webhook/find/{instance}", name, key=token, expect=(dict, type(None))
        )
        return result

    # -- chats (§4) -----------------------------------------------------------------------

    async def mark_messages_read(
        self, name: str, token: str, keys: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """Send read receipts; each key is `{remoteJid, fromMe, id}` (§4.1)."""
        result: dict[str, Any] = await self._call(
            "POST",
            "/chat/markMessageAsRead/{instance}",
            name,
            key=token,
            json={"readMessages": keys},
        )
        return result

    async def whatsapp_numbers(
        self, name: str, token: str, numbers: list[str]
    ) -> list[dict[str, Any]]:
        """`[{jid, exists, number, name?, lid?}]`, one entry per number (§4.2)."""
        result: list[dict[str, Any]] = await self._call(
            "POST",
            "/chat/whatsappNumbers/{instance}",
            name,
            key=token,
            json={"numbers": numbers},
            expect=list,
        )
        return result

    async def fetch_profile_picture_url(self, name: str, token: str, number: str) -> str | None:
        """The signed, expiring picture URL, or None when hidden or absent (§4.3)."""
        body: dict[str, Any] = await self._call(
            "POST",
            "/chat/fetchProfilePictureUrl/{instance}",
            name,
            key=token,
            json={"number": number},
        )
        url = body.get("profilePictureUrl")
        return url if isinstance(url, str) and url else None

    async def get_base64_from_media_message(
        self, name: str, token: str, message: dict[str, Any], convert_to_mp4: bool = False
    ) -> dict[str, Any]:
        """The decrypted media of a message: `{mediaType, fileName, mimetype, base64, …}` (§4.4).
        `message` is `{"key": {"id": …}}` or a webhook's whole `data`."""
        result: dict[str, Any] = await self._call(
            "POST",
            "/chat/getBase64FromMediaMessage/{instance}",
            name,
            key=token,
            json={"message": message, "convertToMp4": convert_to_mp4},
        )
        return result

    async def send_presence(
        self, name: str, token: str, *, number: str, presence: str, delay: int
    ) -> dict[str, Any]:
        """Show `presence` ("composing", "recording", …) to `number`; Evolution holds the
        answer for `delay` ms (§4.6)."""
        result: dict[str, Any] = await self._call(
            "POST",
            "/chat/sendPresence/{instance}",
            name,
            key=token,
            json={"number": number, "presence": presence, "delay": delay},
        )
        return result

    # -- plumbing -------------------------------------------------------------------------

    async def _send(
        self, route: str, name: str, token: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "POST", route, name, key=token, json=body, repeatable=False
        )
        return result

    async def _call(
        self,
        method: str,
        route: str,
        instance: str | None = None,
        *,
        key: str,
        json: Any = None,
        params: dict[str, str] | None = None,
        expect: type | tuple[type, ...] = dict,
        repeatable: bool = True,
    ) -> Any:
        """One call, retried as the module docstring says; `repeatable=False` for sends."""
        if not self.configured:
            raise EvolutionNotConfigured()
        path = route if instance is None else route.format(instance=quote(instance, safe=""))
        spent = 0.0
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            response: httpx.Response | None = None
            failure: httpx.TransportError | None = None
            try:
                response = await self._http.request(
                    method, path, json=json, params=params, headers={"apikey": key}
                )
            except httpx.TransportError as error:
                failure = error
            elapsed = time.monotonic() - started
            spent += elapsed
            status = response.status_code if response is not None else None
            self._record(method, route, path, status, failure, elapsed, attempt)
            if _retryable(status, failure, repeatable):
                delay = random.uniform(0, min(_BACKOFF_CAP, _BACKOFF_BASE * 2 ** (attempt - 1)))
                if spent + delay < self._retry_seconds:
                    await self._sleep(delay)
                    spent += delay
                    continue
            if response is None:
                assert failure is not None
                raise EvolutionUnavailable(
                    f"Evolution API is unreachable: {self._reason(failure)}"
                ) from failure
            return _result(method, route, response, expect)

    def _record(
        self,
        method: str,
        route: str,
        path: str,
        status: int | None,
        failure: httpx.TransportError | None,
        elapsed: float,
        attempt: int,
    ) -> None:
        # Only the path: headers carry keys, bodies carry customers' messages and webhook secrets.
        outcome = status if status is not None else type(failure).__name__
        duration_ms = round(elapsed * 1000)
        log.info(
            "%s %s -> %s in %d ms (attempt %d)",
            method,
            path,
            outcome,
            duration_ms,
            attempt,
            extra={
                "ctx_method": method,
                "ctx_path": path,
                "ctx_status": outcome,
                "ctx_duration_ms": duration_ms,
                "ctx_attempt": attempt,
            },
        )
        if self.on_call is not None:
            self.on_call(method, route, status, elapsed)

    def _reason(self, failure: httpx.TransportError) -> str:
        # No URL: the message reaches API clients, and a base URL may carry credentials.
        if isinstance(failure, httpx.TimeoutException):
            return f"no answer within {self._timeout:g} s"
        return str(failure) or type(failure).__name__


def _retryable(status: int | None, failure: httpx.TransportError | None, repeatable: bool) -> bool:
    if failure is not None:
        return isinstance(failure, _NEVER_SENT) or (
            repeatable and isinstance(failure, _RETRIED_FAILURES)
        )
    assert status is not None
    return status == 429 or (repeatable and status >= 500)


def _result(
    method: str, route: str, response: httpx.Response, expect: type | tuple[type, ...]
) -> Any:
    status = response.status_code
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = response.text
        if response.is_success:
            raise EvolutionApiError(
                status,
                f"Evolution API answered {method} {route} with a body that is not JSON",
                body,
            ) from None
    # connect and restart report failures as HTTP 200 {"error": true, "message": …} (§1.4).
    if response.is_success and not (isinstance(body, dict) and body.get("error") is True):
        if not isinstance(body, expect):
            raise EvolutionApiError(
                status, f"Evolution API answered {method} {route} with an unexpected body", body
            )
        return body
    message = error_message(body) or (
        f"Evolution API failed on {method} {route} without saying why (HTTP {status})"
    )
    raise EvolutionApiError(status, message, body)


def _settings_body(settings: dict[str, Any]) -> dict[str, Any]:
    unknown = set(settings) - _SETTINGS_KEYS
    if unknown:
        # v1 spelled these in snake_case; Evolution v2 would silently ignore them.
        raise ValueError(f"unknown Evolution settings: {', '.join(sorted(unknown))}")
    return {**SETTINGS_DEFAULTS, **settings}


def _without_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}
