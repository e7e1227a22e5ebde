"""An Evolution API v2.3.x stand-in: a real HTTP server that answers as the contract
(`evolution/CONTRACT.md`, cited as §) says, for tests of the client and of the whole product.

What it models: the routes the product uses with their status codes, bodies and error bodies;
the key rules of §1.2 (404 for an unknown instance before 401 for a wrong key); instance states;
recipients that are not on WhatsApp; Brazil's 9th-digit JID rule (§11.3). Tests drive the
WhatsApp side with `emit*`, `open_connection` and `close_connection`; routes emit webhooks by
themselves only where the real server does so whatever WhatsApp does (delete, below, and the
reconnect loop of an unreachable WhatsApp).

Test controls: `fail_next`, `delay_next`, `set_down`, `down_url` (a port that refuses
connections), `requests` / `requests_to`, `sent`.

`whatsapp_reachable = False` plays what a real v2.3.6 server did with WhatsApp out of reach
(`recorded-v2.3.6/`): `connect` (and create with `qrcode`) answers `{"count": 0}`, the state
stays `close`, and Evolution's reconnect loop posts `connection.update` `connecting` every
`reconnect_seconds` for ever; `logout` answers 400 "is not connected" and the loop goes on.
Always: `delete` posts `remove.instance` (and a trailing `connection.update` while the loop
runs), answers 200 again until the instance is forgotten `delete_linger_seconds` later, then
404. The loop, like Evolution's in-memory socket, outlives a delete: its webhooks go to
whichever instance has that name, so a re-created one receives them. `webhook_answers` lists
(event, status) of every webhook delivered.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import mimetypes
import re
import secrets
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.helpers import serve_app

# Copies of the shared real payloads, kept with the tests so a fresh clone has them.
PAYLOADS_DIR = Path(__file__).resolve().parents[1] / "payloads"
EVENTS = (
    "APPLICATION_STARTUP",
    "QRCODE_UPDATED",
    "MESSAGES_SET",
    "MESSAGES_UPSERT",
    "MESSAGES_EDITED",
    "MESSAGES_UPDATE",
    "MESSAGES_DELETE",
    "SEND_MESSAGE",
    "SEND_MESSAGE_UPDATE",
    "CONTACTS_SET",
    "CONTACTS_UPSERT",
    "CONTACTS_UPDATE",
    "PRESENCE_UPDATE",
    "CHATS_SET",
    "CHATS_UPSERT",
    "CHATS_UPDATE",
    "CHATS_DELETE",
    "GROUPS_UPSERT",
    "GROUP_UPDATE",
    "GROUP_PARTICIPANTS_UPDATE",
    "CONNECTION_UPDATE",
    "LABELS_EDIT",
    "LABELS_ASSOCIATION",
    "CALL",
    "TYPEBOT_START",
    "TYPEBOT_CHANGE_STATUS",
    "REMOVE_INSTANCE",
    "LOGOUT_INSTANCE",
    "INSTANCE_CREATE",
    "INSTANCE_DELETE",
    "STATUS_INSTANCE",
)
SETTINGS_DEFAULTS: dict[str, Any] = {
    "rejectCall": False,
    "msgCall": "",
    "groupsIgnore": False,
    "alwaysOnline": False,
    "readMessages": False,
    "readStatus": False,
    "syncFullHistory": False,
    "wavoipToken": "",
}
REQUIRED_SETTINGS = (
    "rejectCall",
    "groupsIgnore",
    "alwaysOnline",
    "readMessages",
    "readStatus",
    "syncFullHistory",
)
PRESENCES = ("composing", "recording", "paused", "available", "unavailable")
MEDIA_TYPES = ("image", "video", "document", "audio")
PERMANENT_CLOSE = (401, 402, 403, 406)  # §9.6: other codes reconnect silently
PNG_1PX = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJ"
    "RU5ErkJggg=="
)
CONNECTION_CLOSED = "Connection Closed"
# Envelope fields filled in on delivery (§8.1).
COMPUTED_ENVELOPE = ("destination", "date_time", "sender", "server_url", "apikey")


@dataclass
class WebhookConfig:
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    by_events: bool = False
    base64: bool = False
    enabled: bool = True
    # Of the stored row; left out of comparisons so tests can compare configurations.
    row_id: str = field(default_factory=lambda: "cm" + secrets.token_hex(11), compare=False)
    stored_at: str = field(default_factory=lambda: _iso(datetime.now(UTC)), compare=False)


@dataclass
class Instance:
    name: str
    token: str
    instance_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    state: str = "close"  # "close" | "connecting" | "open"
    webhook: WebhookConfig | None = None
    settings: dict[str, Any] | None = None
    wuid: str | None = None
    profile_name: str | None = None
    qrcode: dict[str, Any] | None = None  # the current QR object while connecting
    deleting: bool = False  # deleted, not yet forgotten
    # Chats whose presence the session subscribed to (Baileys presenceSubscribe): Evolution
    # does it on `sendPresence` and on sends with `delay`; WhatsApp then tells their presence.
    presence_subscribed: set[str] = field(default_factory=set)


@dataclass
class RecordedRequest:
    method: str
    path: str  # decoded
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    json: Any
    received_at: float  # time.monotonic(), to measure pacing between requests


@dataclass
class SentMessage:
    instance: str
    route: str
    request: dict[str, Any]
    message: dict[str, Any]  # what the send answered (§3.1)


@dataclass
class MediaFile:
    data: bytes
    mimetype: str
    media_type: str
    file_name: str | None
    caption: str | None


@dataclass
class _Override:
    route: str
    times: int
    status: int = 0
    body: Any = None
    seconds: float = 0.0


class Reject(Exception):
    """An error answer; `wrapped=False` is whatsappNumbers' body without `response` (§1.4)."""

    def __init__(self, status: int, message: Any, wrapped: bool = True) -> None:
        super().__init__(status, message)
        self.status, self.message, self.wrapped = status, message, wrapped

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"status": self.status, "error": HTTPStatus(self.status).phrase}
        if self.wrapped:
            body["response"] = {"message": self.message}
        else:
            body["message"] = self.message
        return JSONResponse(body, self.status)


Handler = Callable[[Request, dict[str, Any]], Awaitable[tuple[int, Any]]]


class EvolutionStandIn:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.url = ""  # set by serve()
        self.down_url = ""
        self.instances: dict[str, Instance] = {}
        self.requests: list[RecordedRequest] = []
        self.sent: list[SentMessage] = []
        # Number (digits, as in the JID) → picture URL answered by fetchProfilePictureUrl.
        self.profile_pictures: dict[str, str] = {}
        self._not_on_whatsapp: set[str] = set()
        self._media: dict[str, MediaFile] = {}
        self._failures: list[_Override] = []
        self._delays: list[_Override] = []
        self._down = False
        self._closing = asyncio.Event()
        self.whatsapp_reachable = True
        self.reconnect_seconds = 5.0
        self.delete_linger_seconds = 0.5
        self._loops: dict[str, asyncio.Task[None]] = {}
        self._removals: set[asyncio.Task[None]] = set()
        # (event, status) of every webhook delivered, in order.
        self.webhook_answers: list[tuple[str, int]] = []
        self._http = httpx.AsyncClient(timeout=10)
        self.app = Starlette(routes=self._routes())

    @classmethod
    @contextlib.asynccontextmanager
    async def serve(cls, api_key: str | None = None) -> AsyncIterator[EvolutionStandIn]:
        """Run a stand-in on a free loopback port until the block ends."""
        standin = cls(api_key or f"test-global-key-{secrets.token_hex(8)}")
        # Bound but never listening: connecting to it is refused, and no one else can take it.
        with socket.socket() as refusing:
            refusing.bind(("127.0.0.1", 0))
            standin.down_url = f"http://127.0.0.1:{refusing.getsockname()[1]}"
            try:
                async with serve_app(standin.app) as handle:
                    standin.url = handle.url
                    try:
                        yield standin
                    finally:
                        standin._closing.set()  # releases delayed requests so shutdown is quick
                        background = [*standin._loops.values(), *standin._removals]
                        for task in background:
                            task.cancel()
                        await asyncio.gather(*background, return_exceptions=True)
            finally:
                await standin._http.aclose()

    # -- arranging --------------------------------------------------------------------------

    def add_instance(
        self,
        name: str,
        *,
        token: str | None = None,
        state: str = "close",
        webhook: WebhookConfig | None = None,
    ) -> Instance:
        """An instance as if created earlier (settings at their defaults)."""
        instance = Instance(
            name,
            token or str(uuid.uuid4()).upper(),
            state=state,
            webhook=webhook,
            settings=dict(SETTINGS_DEFAULTS),
        )
        self.instances[name] = instance
        return instance

    def not_on_whatsapp(self, number: str) -> None:
        """Sends to `number` answer 400 `[{"exists": false, …}]`; whatsappNumbers says so too."""
        self._not_on_whatsapp.add(_jid(number).split("@")[0])

    def on_whatsapp_again(self) -> None:
        """Every number is on WhatsApp again (undoes `not_on_whatsapp`)."""
        self._not_on_whatsapp.clear()

    def add_media(
        self,
        message_id: str,
        data: bytes,
        *,
        mimetype: str,
        media_type: str = "imageMessage",
        file_name: str | None = None,
        caption: str | None = None,
    ) -> None:
        """Media served by getBase64FromMediaMessage for the message with `message_id`."""
        self._media[message_id] = MediaFile(data, mimetype, media_type, file_name, caption)

    def fail_next(self, route: str, status: int, body: Any, times: int = 1) -> None:
        """The next `times` requests whose path contains `route` answer `status` with `body`:
        JSON, or a `str` sent as is (a proxy's HTML error page)."""
        self._failures.append(_Override(route, times, status=status, body=body))

    def recover(self) -> None:
        """Failures still planned by `fail_next` are dropped: the API works again."""
        self._failures.clear()

    def delay_next(self, route: str, seconds: float, times: int = 1) -> None:
        """The next `times` requests whose path contains `route` wait `seconds` first."""
        self._delays.append(_Override(route, times, seconds=seconds))

    def set_down(self, down: bool) -> None:
        """While down every route answers 503, as a proxy does in front of a stopped Evolution.
        For a refused connection, point the client at `down_url`."""
        self._down = down

    def requests_to(self, route: str) -> list[RecordedRequest]:
        return [r for r in self.requests if route in r.path]

    # -- the WhatsApp side: webhooks (§8, §9) --------------------------------------------------

    async def emit(self, name: str, event: str, data: Any) -> int | None:
        """POST one event (dotted, e.g. "messages.upsert") to the instance webhook as Evolution
        does; `connection.update` and `qrcode.updated` also move the instance state. Answers the
        receiver's HTTP status, or None when the webhook would not get it (none configured,
        disabled, or not subscribed to the event); an unreachable receiver raises httpx's
        error."""
        instance = self.instances[name]
        envelope: dict[str, Any] = {"event": event, "instance": name, "data": data}
        return await self._deliver(instance, envelope)

    async def emit_message(self, name: str, data: dict[str, Any]) -> int | None:
        """A `messages.upsert` with `data`, its `instanceId` set to this instance's."""
        return await self.emit(
            name, "messages.upsert", {**data, "instanceId": self.instances[name].instance_id}
        )

    async def emit_presence(
        self, name: str, jid: str, presence: str, last_seen: int | None = None
    ) -> int | None:
        """The person of chat `jid` typing (`composing`), recording, pausing or going online or
        offline: `presence.update` as Evolution posts it (§9.10). Like WhatsApp, only for a
        chat the session subscribed to (a `sendPresence` to it): None otherwise."""
        if presence not in PRESENCES:
            raise ValueError(presence)
        if jid not in self.instances[name].presence_subscribed:
            return None
        state: dict[str, Any] = {"lastKnownPresence": presence}
        if last_seen is not None:
            state["lastSeen"] = last_seen
        return await self.emit(name, "presence.update", {"id": jid, "presences": {jid: state}})

    async def emit_qrcode(self, name: str) -> int | None:
        """A new QR code (`qrcode.updated`); the instance becomes `connecting`."""
        instance = self.instances[name]
        qr = _next_qr(instance, pairing=bool(instance.qrcode and instance.qrcode["pairingCode"]))
        data = {
            "qrcode": {
                "instance": name,
                "pairingCode": qr["pairingCode"],
                "code": qr["code"],
                "base64": qr["base64"],
            }
        }
        return await self.emit(name, "qrcode.updated", data)

    async def open_connection(
        self,
        name: str,
        wuid: str = "5511999990001@s.whatsapp.net",
        profile_name: str = "Acme Atendimento",
        profile_picture_url: str | None = None,
    ) -> int | None:
        """The phone scanned the QR: `connection.update` open (the state follows)."""
        return await self.emit(
            name,
            "connection.update",
            {
                "instance": name,
                "wuid": wuid,
                "profileName": profile_name,
                "profilePictureUrl": profile_picture_url,
                "state": "open",
                "statusReason": 200,
            },
        )

    async def close_connection(self, name: str, status_reason: int = 401) -> int | None:
        """The session ended: `connection.update` close, then for a permanent reason (401, 402,
        403, 406) `status.instance` and `logout.instance` as §9.6 says. Answers the status of
        the `connection.update` delivery."""
        status = await self.emit(
            name,
            "connection.update",
            {"instance": name, "state": "close", "statusReason": status_reason},
        )
        if status_reason in PERMANENT_CLOSE:
            await self.emit(
                name,
                "status.instance",
                {
                    "instance": name,
                    "status": "closed",
                    "disconnectionAt": _iso(datetime.now(UTC)),
                    "disconnectionReasonCode": status_reason,
                    "disconnectionObject": json.dumps(
                        {"error": {"output": {"statusCode": status_reason}}}
                    ),
                },
            )
            await self.emit(name, "logout.instance", None)
        return status

    async def emit_payload_file(self, name: str, path: str | Path) -> int | None:
        """POST a recorded payload (a file name under PAYLOADS_DIR, or a path) as if this
        instance sent it: its instance name, instance id and token are put in."""
        source = Path(path)
        payload = json.loads(
            (source if source.is_absolute() else PAYLOADS_DIR / source).read_text(encoding="utf-8")
        )
        instance = self.instances[name]
        return await self._deliver(instance, _as_instance(payload, instance))

    async def _deliver(
        self, instance: Instance, envelope: dict[str, Any], follow: bool = True
    ) -> int | None:
        if follow:
            _follow(instance, envelope["event"], envelope.get("data"))
        hook = instance.webhook
        upper = re.sub(r"[.-]", "_", envelope["event"]).upper()
        if (
            hook is None
            or not hook.enabled
            or not hook.url.startswith(("http://", "https://"))
            or (hook.events and upper not in hook.events)
        ):
            return None
        envelope = {
            **envelope,
            "destination": hook.url,
            # Evolution's local time (São Paulo in its image) labelled as UTC (§8.1).
            "date_time": _iso(datetime.now(UTC) - timedelta(hours=3)),
            **({"sender": instance.wuid} if instance.wuid else {}),
            "server_url": self.url,
            "apikey": instance.token,
        }
        url = f"{hook.url}/{upper.lower().replace('_', '-')}" if hook.by_events else hook.url
        response = await self._http.post(url, json=envelope, headers=_webhook_headers(hook))
        self.webhook_answers.append((envelope["event"], response.status_code))
        return response.status_code

    def reconnecting(self, name: str) -> bool:
        """Whether Evolution's reconnect loop runs for `name` (WhatsApp out of reach)."""
        loop = self._loops.get(name)
        return loop is not None and not loop.done()

    def _start_reconnecting(self, name: str) -> None:
        if not self.reconnecting(name):
            self._loops[name] = asyncio.create_task(self._reconnect_loop(name))

    async def _reconnect_loop(self, name: str) -> None:
        """Baileys failing to reach WhatsApp: every few seconds a new socket says
        `connecting`, fails, and the state falls back to `close` (§9.6, recorded)."""
        while not self._closing.is_set():
            await self._post_connecting(name)
            await self._pause(self.reconnect_seconds)

    async def _post_connecting(self, name: str) -> None:
        instance = self.instances.get(name)
        if instance is None:  # deleted: Evolution finds no webhook for the name
            return
        envelope = {
            "event": "connection.update",
            "instance": name,
            "data": {"instance": name, "state": "connecting", "statusReason": 200},
        }
        with contextlib.suppress(httpx.HTTPError):
            await self._deliver(instance, envelope, follow=False)

    # -- HTTP plumbing --------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        table: list[tuple[str, str, Handler]] = [
            ("POST", "/instance/create", self._create),
            ("GET", "/instance/fetchInstances", self._fetch_instances),
            ("GET", "/instance/connect/{instance}", self._connect),
            ("GET", "/instance/connectionState/{instance}", self._connection_state),
            ("DELETE", "/instance/logout/{instance}", self._logout),
            ("DELETE", "/instance/delete/{instance}", self._delete),
            ("POST", "/instance/restart/{instance}", self._restart),
            ("POST", "/message/sendText/{instance}", self._send_text),
            ("POST", "/message/sendMedia/{instance}", self._send_media),
            ("POST", "/message/sendWhatsAppAudio/{instance}", self._send_audio),
            ("POST", "/settings/set/{instance}", self._set_settings),
            ("GET", "/settings/find/{instance}", self._find_settings),
            ("POST", "/webhook/set/{instance}", self._set_webhook),
            ("GET", "/webhook/find/{instance}", self._find_webhook),
            ("POST", "/chat/markMessageAsRead/{instance}", self._mark_read),
            ("POST", "/chat/whatsappNumbers/{instance}", self._whatsapp_numbers),
            ("POST", "/chat/fetchProfilePictureUrl/{instance}", self._profile_picture),
            ("POST", "/chat/getBase64FromMediaMessage/{instance}", self._media_base64),
            ("POST", "/chat/sendPresence/{instance}", self._send_presence),
        ]
        routes = [
            Route(path, self._endpoint(handler), methods=[method])
            for method, path, handler in table
        ]
        # Express answers unknown routes and wrong methods alike with 404 "Cannot METHOD /path".
        routes.append(
            Route(
                "/{path:path}",
                self._endpoint(self._unknown_route),
                methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            )
        )
        return routes

    def _endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = None
            path = request.scope["path"]  # decoded, as instance names are compared
            self.requests.append(
                RecordedRequest(
                    request.method,
                    path,
                    dict(request.query_params),
                    dict(request.headers),
                    body,
                    time.monotonic(),
                )
            )
            delay = _take(self._delays, path)
            if delay is not None:
                await self._pause(delay.seconds)
            failure = _take(self._failures, path)
            if failure is not None:
                if isinstance(failure.body, str):
                    return Response(failure.body, failure.status, media_type="text/html")
                return JSONResponse(failure.body, failure.status)
            if self._down:
                return Reject(503, ["Service Unavailable"]).response()
            if body is None:
                return Reject(400, ["Unexpected token in JSON"]).response()
            try:
                status, payload = await handler(request, body if isinstance(body, dict) else {})
            except Reject as reject:
                return reject.response()
            return JSONResponse(payload, status)

        return endpoint

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    def _instance(self, request: Request) -> Instance:
        """§1.2: the instance must exist (404) before the key is checked (401)."""
        name = request.path_params["instance"]
        instance = self.instances.get(name)
        if instance is None:
            raise Reject(404, [f'The "{name}" instance does not exist'])
        if request.headers.get("apikey") not in (self.api_key, instance.token):
            raise Reject(401, "Unauthorized")
        return instance

    def _recipient(self, instance: Instance, number: Any) -> str:
        """The JID a send goes to, after the checks Evolution makes while resolving it."""
        if instance.state != "open":
            raise Reject(500, CONNECTION_CLOSED)  # the socket fails during number resolution
        jid = _jid(str(number))
        if jid.split("@")[0] in self._not_on_whatsapp and jid.endswith("@s.whatsapp.net"):
            raise Reject(400, [{"jid": jid, "exists": False, "number": number}])
        return jid

    def _store(
        self,
        instance: Instance,
        route: str,
        request: dict[str, Any],
        jid: str,
        content: dict[str, Any],
        message_type: str,
    ) -> dict[str, Any]:
        now = int(time.time())
        message = {
            "key": {"remoteJid": jid, "fromMe": True, "id": "3EB0" + secrets.token_hex(9).upper()},
            "pushName": "Você",
            "status": "PENDING",
            "message": content,
            "contextInfo": None
            if jid.endswith("@g.us")
            else {
                "mentionedJid": [],
                "groupMentions": [],
                "ephemeralSettingTimestamp": _long(now - 2 * 86400),
                "disappearingMode": {"initiator": 0},
            },
            "messageType": message_type,
            "messageTimestamp": now,
            "instanceId": instance.instance_id,
            "source": "web",
        }
        self.sent.append(SentMessage(instance.name, route, request, message))
        return message

    # -- instance routes (§2) -------------------------------------------------------------

    async def _create(self, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        name = body.get("instanceName")
        if isinstance(name, str) and name in self.instances:
            raise Reject(403, [f'This name "{name}" is already in use.'])
        if request.headers.get("apikey") != self.api_key:
            raise Reject(401, "Unauthorized")
        if not isinstance(name, str) or not name:
            raise Reject(400, [['The "instanceName" cannot be empty']])
        if body.get("integration") not in ("WHATSAPP-BAILEYS", "WHATSAPP-BUSINESS", "EVOLUTION"):
            raise Reject(400, ["Invalid integration"])
        hook = body.get("webhook")
        if isinstance(hook, dict) and "events" not in hook:
            raise Reject(400, ["Cannot read properties of undefined (reading 'length')"])
        instance = self.add_instance(name, token=body.get("token") or None)
        assert instance.settings is not None
        instance.settings.update((k, body[k]) for k in SETTINGS_DEFAULTS if k in body)
        if isinstance(hook, dict):
            instance.webhook = WebhookConfig(
                url=hook.get("url") or "",
                headers=dict(hook.get("headers") or {}),
                events=list(hook["events"]),
                by_events=bool(hook.get("byEvents")),
                base64=bool(hook.get("base64")),
            )
        answer: dict[str, Any] = {
            "instance": {
                "instanceName": name,
                "instanceId": instance.instance_id,
                "integration": body["integration"],
                "webhookWaBusiness": None,
                "accessTokenWaBusiness": "",
                "status": "close",
            },
            "hash": instance.token,
            "webhook": {}
            if instance.webhook is None
            else {
                "webhookUrl": instance.webhook.url,
                "webhookHeaders": instance.webhook.headers,
                "webhookByEvents": instance.webhook.by_events,
                "webhookBase64": instance.webhook.base64,
            },
            "websocket": {},
            "rabbitmq": {},
            "nats": {},
            "sqs": {},
            "settings": instance.settings,
        }
        if body.get("qrcode") and not self.whatsapp_reachable:
            answer["qrcode"] = {"count": 0}  # recorded: status stays "close"
            self._start_reconnecting(name)
        elif body.get("qrcode"):
            answer["qrcode"] = _next_qr(instance, pairing=bool(body.get("number")), first=True)
            answer["instance"]["status"] = "connecting"
        return 201, answer

    async def _fetch_instances(self, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        key = request.headers.get("apikey")
        found = [i for i in self.instances.values() if key in (self.api_key, i.token)]
        if key != self.api_key and not found:
            raise Reject(401, "Unauthorized")
        name = request.query_params.get("instanceName")
        if name is not None:
            if name not in self.instances:
                raise Reject(404, [f'Instance "{name}" not found'])
            found = [i for i in found if i.name == name]
        return 200, [self._row(i) for i in found]

    def _row(self, instance: Instance) -> dict[str, Any]:
        now = _iso(datetime.now(UTC))
        settings = instance.settings or SETTINGS_DEFAULTS
        return {
            "id": instance.instance_id,
            "name": instance.name,
            "connectionStatus": instance.state,
            "ownerJid": instance.wuid,
            "profileName": instance.profile_name,
            "profilePicUrl": None,
            "integration": "WHATSAPP-BAILEYS",
            "number": None,
            "businessId": None,
            "token": instance.token,
            "clientName": "evolution_exchange",
            "disconnectionReasonCode": None,
            "disconnectionObject": None,
            "disconnectionAt": None,
            "createdAt": now,
            "updatedAt": now,
            "Chatwoot": None,
            "Proxy": None,
            "Rabbitmq": None,
            "Nats": None,
            "Sqs": None,
            "Websocket": None,
            "Setting": {
                **settings,
                "id": "cm" + instance.instance_id.replace("-", "")[:23],
                "instanceId": instance.instance_id,
            },
            "_count": {"Message": 0, "Contact": 0, "Chat": 0},
        }

    async def _connect(self, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        instance = self._instance(request)
        if instance.state == "open":
            return 200, {"instance": {"instanceName": instance.name, "state": "open"}}
        if instance.state == "connecting" and instance.qrcode is not None:
            return 200, instance.qrcode
        if not self.whatsapp_reachable:
            self._start_reconnecting(instance.name)
            return 200, {"count": 0}
        return 200, _next_qr(instance, pairing="number" in request.query_params, first=True)

    async def _connection_state(self, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        instance = self._instance(request)
        return 200, {"instance": {"instanceName": instance.name, "state": instance.state}}

    async def _logout(self, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        instance = self._instance(request)
        if instance.state == "close":
            raise Reject(400, [f'The "{instance.name}" instance is not connected'])
        instance.state, instance.qrcode = "close", None
        return 200, {
            "status": "SUCCESS",
            "error": False,
            "response": {"message": "Instance logged out"},
        }

    async def _delete(self, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        instance = self._instance(request)
        if not instance.deleting:
            instance.deleting = True
            instance.state, instance.qrcode = "close", None
            self._removals.add(asyncio.create_task(self._remove(instance)))
        # Recorded: until the removal is through, a repeated delete answers 200 again.
        return 200, {
            "status": "SUCCESS",
            "error": False,
            "response": {"message": "Instance deleted"},
        }

    async def _remove(self, instance: Instance) -> None:
        """What Evolution does after answering a delete: `remove.instance` (data null), the
        reconnect loop's next `connecting` while the name still resolves, and only then the
        instance is forgotten (its name is taken until then: create answers 403)."""
        with contextlib.suppress(httpx.HTTPError):
            await self._deliver(
                instance,
                {"event": "remove.instance", "instance": instance.name, "data": None},
                follow=False,
            )
            if self.reconnecting(instance.name):
                await self._post_connecting(instance.name)
        await self._pause(self.delete_linger_seconds)
        if self.instances.get(instance.name) is instance:
            del self.instances[instance.name]

    async def _restart(self, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        instance = self._instance(request)
        if instance.state == "close":
            return 200, {"error": True, "message": "[object Object]"}
        return await self._connect(request, body)

    # -- message routes (§3) --------------------------------------------------------------

    async def _send_text(self, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        instance = self._instance(request)
        _require(body, "number", "text")
        if not str(body["text"]).strip():
            raise Reject(400, ["Text is required"])
        jid = self._recipient(instance, body["number"])
        await self._typing(body)
        message = self._store(
            instance, "sendText", body, jid, {"conversation": body["text"]}, "conversation"
        )
        return 201, message

    async def _send_media(self, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        instance = self._instance(request)
        _require(body, "number", "mediatype")
        mediatype = body["mediatype"]
        if mediatype not in MEDIA_TYPES:
            raise Reject(
                400, [[f"instance.mediatype is not one of enum values: {','.join(MEDIA_TYPES)}"]]
            )
        media, file_name = body.get("media"), body.get("fileName")
        if not isinstance(media, str) or not media:
            raise Reject(400, ["Owned media must be a url or base64"])
        is_url = media.startswith(("http://", "https://"))
        if mediatype == "document" and not is_url and not file_name:
            raise Reject(400, ["For base64 the file name must be informed."])
        jid = self._recipient(instance, body["number"])
        await self._typing(body)
        # Evolution re-encodes images to JPEG and trusts the file name over `mimetype` (§3.2).
        mimetype = (
            "image/jpeg"
            if mediatype == "image"
            else (file_name and mimetypes.guess_type(file_name)[0])
            or body.get("mimetype")
            or "application/octet-stream"
        )
        try:
            size = 1024 if is_url else len(base64.b64decode(media, validate=True))
        except binascii.Error:
            raise Reject(400, ["Owned media must be a url or base64"]) from None
        content = _media_object(mimetype, size)
        content.update(_without_none({"caption": body.get("caption"), "fileName": file_name}))
        message = self._store(
            instance,
            "sendMedia",
            body,
            jid,
            {f"{mediatype}Message": content},
            f"{mediatype}Message",
        )
        return 201, message

    async def _send_audio(self, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        instance = self._instance(request)
        _require(body, "number", "audio")
        jid = self._recipient(instance, body["number"])
        await self._typing(body)
        content = {
            **_media_object("audio/ogg; codecs=opus", 18342),
            "seconds": 7,
            "ptt": True,
            "waveform": _index_bytes(64),
        }
        message = self._store(
            instance, "sendWhatsAppAudio", body, jid, {"audioMessage": content}, "audioMessage"
        )
        return 201, message

    async def _typing(self, body: dict[str, Any]) -> None:
        # Evolution shows "composing"/"recording" for `delay` ms before it sends (§3 item 2).
        delay = body.get("delay")
        if isinstance(delay, int) and delay > 0:
            await self._pause(delay / 1000)

    # -- settings and webhook (§5, §6) ----------------------------------------------------

    async def _set_settings(self, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        instance = self._instance(request)
        _require(body, *REQUIRED_SETTINGS)
        wrong = [k for k in REQUIRED_SETTINGS if not isinstance(body[k], bool)]
        if wrong:
            raise Reject(400, [[f"instance.{k} is not of a type(s) boolean" for k in wrong]])
        instance.settings = {
            **SETTINGS_DEFAULTS,
            **{k: body[k] for k in SETTINGS_DEFAULTS if k in body},
        }
        return 201, {"settings": {"instanceName": instance.name, "settings": body}}

    async def _find_settings(self, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        return 200, self._instance(request).settings

    async def _set_webhook(self, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        instance = self._instance(request)
        hook = body.get("webhook")
        if not isinstance(hook, dict):
            raise Reject(400, [['instance requires property "webhook"']])
        missing = [k for k in ("enabled", "url") if k not in hook]
        if missing:
            raise Reject(400, [[f'instance.webhook requires property "{k}"' for k in missing]])
        if hook["enabled"] and "events" not in hook:
            raise Reject(500, "Cannot read properties of undefined (reading 'length')")
        events = list(hook.get("events") or []) if hook["enabled"] else []
        unknown = [
            f"instance.webhook.events[{i}] is not one of enum values: {','.join(EVENTS)}"
            for i, e in enumerate(events)
            if e not in EVENTS
        ]
        if unknown:
            raise Reject(400, [unknown])
        instance.webhook = WebhookConfig(
            url=hook["url"],
            headers=dict(hook.get("headers") or {}),
            events=events,
            by_events=bool(hook.get("byEvents")),
            base64=bool(hook.get("base64")),
            enabled=bool(hook["enabled"]),
        )
        return 201, self._webhook_row(instance)

    async def _find_webhook(self, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        instance = self._instance(request)
        return 200, None if instance.webhook is None else self._webhook_row(instance)

    def _webhook_row(self, instance: Instance) -> dict[str, Any]:
        hook = instance.webhook
        assert hook is not None
        return {
            "id": hook.row_id,
            "url": hook.url,
            "headers": hook.headers,
            "enabled": hook.enabled,
            "events": hook.events,
            "webhookByEvents": hook.by_events,
            "webhookBase64": hook.base64,
            "createdAt": hook.stored_at,
            "updatedAt": hook.stored_at,
            "instanceId": instance.instance_id,
        }

    # -- chat routes (§4) -----------------------------------------------------------------

    async def _mark_read(self, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        instance = self._instance(request)
        _require(body, "readMessages")
        keys = body["readMessages"]
        if not isinstance(keys, list) or not keys:
            raise Reject(400, [["instance.readMessages does not meet minimum length of 1"]])
        for i, key in enumerate(keys):
            _require(
                key if isinstance(key, dict) else {},
                "remoteJid",
                "fromMe",
                "id",
                where=f"instance.readMessages[{i}]",
            )
        if instance.state != "open":
            raise Reject(500, ["Read messages fail", CONNECTION_CLOSED])
        return 201, {"message": "Read messages", "read": "success"}

    async def _whatsapp_numbers(self, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        instance = self._instance(request)
        _require(body, "numbers")
        if instance.state != "open":
            raise Reject(400, [CONNECTION_CLOSED], wrapped=False)
        answer = []
        for number in body["numbers"]:
            jid = _jid(str(number))
            entry: dict[str, Any] = {
                "jid": jid,
                "number": number,
                "exists": jid.split("@")[0] not in self._not_on_whatsapp,
            }
            if jid.endswith("@lid"):
                entry["lid"] = "lid"
            answer.append(entry)
        return 200, answer

    async def _profile_picture(self, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        instance = self._instance(request)
        _require(body, "number")
        if instance.state != "open":
            raise Reject(500, CONNECTION_CLOSED)
        jid = _jid(str(body["number"]))
        return 200, {"wuid": jid, "profilePictureUrl": self.profile_pictures.get(jid.split("@")[0])}

    async def _media_base64(self, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        self._instance(request)
        message = body.get("message")
        key = message.get("key") if isinstance(message, dict) else None
        message_id = str(key.get("id")) if isinstance(key, dict) else ""
        media = self._media.get(message_id)
        if media is None:
            raise Reject(400, ["Message not found"])
        audio_to_mp4 = body.get("convertToMp4") is True and media.media_type == "audioMessage"
        extension = (mimetypes.guess_extension(media.mimetype.split(";")[0]) or ".bin")[1:]
        return 201, {
            "mediaType": media.media_type,
            "fileName": media.file_name or f"{message_id}.{extension}",
            "caption": media.caption,
            "size": {"fileLength": _long(len(media.data), unsigned=True)},
            "mimetype": "audio/mp4" if audio_to_mp4 else media.mimetype,
            "base64": base64.b64encode(media.data).decode(),
            "buffer": None,
        }

    async def _send_presence(self, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        instance = self._instance(request)
        _require(body, "number", "presence", "delay")
        if body["presence"] not in PRESENCES:
            raise Reject(
                400, [[f"instance.presence is not one of enum values: {','.join(PRESENCES)}"]]
            )
        if not isinstance(body["delay"], int):
            raise Reject(400, [["instance.delay is not of a type(s) integer"]])
        try:
            self._recipient(instance, body["number"])
        except Reject as reject:
            if reject.status != 400:
                raise
            # sendPresence re-wraps the plain object it caught (§1.4).
            raise Reject(400, ["[object Object]"]) from None
        instance.presence_subscribed.add(_jid(str(body["number"])))
        await self._pause(body["delay"] / 1000)
        return 201, {"presence": body["presence"]}

    async def _unknown_route(self, request: Request, body: dict[str, Any]) -> tuple[int, Any]:
        raise Reject(404, [f"Cannot {request.method} {request.scope['path']}"])


def _take(overrides: list[_Override], path: str) -> _Override | None:
    for override in overrides:
        if override.route in path:
            override.times -= 1
            if override.times <= 0:
                overrides.remove(override)
            return override
    return None


def _require(body: dict[str, Any], *fields: str, where: str = "instance") -> None:
    missing = [f'{where} requires property "{f}"' for f in fields if f not in body]
    if missing:
        raise Reject(400, [missing])  # jsonschema errors come as a nested array (§1.4)


def _jid(number: str) -> str:
    """Evolution's `createJid` (§11.3), for individual numbers, groups and LIDs."""
    if "@" in number:
        user, _, server = number.partition("@")
        return f"{user.split(':')[0]}@{server}"
    digits = re.sub(r"\D", "", number.split(":")[0])
    if len(digits) >= 18:
        return f"{digits}@g.us"
    # Brazilian mobiles outside DDD 11–30 whose number starts with 7–9 are registered without
    # the 9th digit.
    if (
        len(digits) == 13
        and digits.startswith("55")
        and int(digits[2:4]) >= 31
        and digits[5] >= "7"
    ):
        digits = digits[:4] + digits[5:]
    return f"{digits}@s.whatsapp.net"


def _next_qr(instance: Instance, *, pairing: bool, first: bool = False) -> dict[str, Any]:
    """A new QR for `instance`, which becomes `connecting`; with `pairing` a pairing code too
    (a number was given); `first` restarts the count."""
    count = 1 if first or instance.qrcode is None else instance.qrcode["count"] + 1
    instance.state = "connecting"
    instance.qrcode = {
        "pairingCode": secrets.token_hex(4).upper() if pairing else None,
        "code": f"2@{base64.b64encode(secrets.token_bytes(48)).decode()},"
        f"{base64.b64encode(secrets.token_bytes(32)).decode()}",
        "base64": f"data:image/png;base64,{PNG_1PX}",
        "count": count,
    }
    return instance.qrcode


def _as_instance(payload: dict[str, Any], instance: Instance) -> dict[str, Any]:
    """A recorded payload re-addressed to `instance` (name and id); the envelope fields this
    stand-in computes on delivery are dropped."""

    def rewrite(value: Any) -> Any:
        if isinstance(value, list):
            return [rewrite(v) for v in value]
        if not isinstance(value, dict):
            return value
        out = {k: rewrite(v) for k, v in value.items()}
        if isinstance(out.get("instance"), str):
            out["instance"] = instance.name
        if "instanceId" in out:
            out["instanceId"] = instance.instance_id
        return out

    return {k: v for k, v in rewrite(payload).items() if k not in COMPUTED_ENVELOPE}


def _follow(instance: Instance, event: str, data: Any) -> None:
    """Keep the instance state in step with the events it announces."""
    if event == "qrcode.updated":
        instance.state = "connecting"
    if event != "connection.update" or not isinstance(data, dict):
        return
    state = data.get("state")
    if state == "open":
        instance.state, instance.qrcode = "open", None
        instance.wuid = data.get("wuid") or instance.wuid
        instance.profile_name = data.get("profileName") or instance.profile_name
    elif state in ("close", "refused"):  # "refused" (QR limit) leaves the instance closed
        instance.state, instance.qrcode = "close", None
    elif state == "connecting":
        instance.state = "connecting"


def _webhook_headers(hook: WebhookConfig) -> dict[str, str]:
    headers = dict(hook.headers)
    jwt_key = headers.pop("jwt_key", None)
    if jwt_key:
        # §8.5: a `jwt_key` header is replaced by a short-lived HS256 bearer token.
        now = int(time.time())
        claims = {"iat": now, "exp": now + 600, "app": "evolution", "action": "webhook"}
        headers["Authorization"] = f"Bearer {jwt.encode(claims, jwt_key, algorithm='HS256')}"
    return headers


def _media_object(mimetype: str, size: int) -> dict[str, Any]:
    path = f"/v/t62.7118-24/{secrets.randbelow(10**12)}_n.enc?ccb=11-4&_nc_sid=5e03e0"
    return {
        "url": f"https://mmg.whatsapp.net{path}&mms3=true",
        "mimetype": mimetype,
        "fileSha256": _index_bytes(32),
        "fileLength": _long(size, unsigned=True),
        "mediaKey": _index_bytes(32),
        "fileEncSha256": _index_bytes(32),
        "directPath": path,
        "mediaKeyTimestamp": _long(int(time.time())),
    }


def _index_bytes(n: int) -> dict[str, int]:
    """Bytes as 2.3.6+ serialises a Buffer: an object with index keys (§10.3)."""
    return {str(i): b for i, b in enumerate(secrets.token_bytes(n))}


def _long(value: int, unsigned: bool = False) -> dict[str, Any]:
    """A 64-bit integer as 2.3.6+ serialises a protobufjs Long (§10.3)."""
    low = value & 0xFFFFFFFF
    return {"low": low - 2**32 if low >= 2**31 else low, "high": value >> 32, "unsigned": unsigned}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
