"""EvolutionClient against the Evolution API stand-in over real HTTP: request bodies and keys,
every error body of CONTRACT §1.4, retries and their limits, logging. Backoff waits are the only
thing replaced (by a recorder), so retry tests take no time."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.errors import EvolutionNotConfigured, EvolutionUnavailable
from services.instances.evolution import EvolutionApiError, EvolutionClient, error_message
from services.instances.evolution_values import bytes_value, long_value
from tests.helpers import serve_app, wait_for
from tests.standin.evolution import PAYLOADS_DIR, EvolutionStandIn, Instance, WebhookConfig

TOKEN = "7A1F3C2E-9B4D-4E8F-A1C2-3D4E5F6A7B8C"
CUSTOMER = "5511999990002"
JWT_KEY = "jwt-secret-for-webhooks-0123456789abcdef"  # HS256 wants 32+ bytes
EVENTS = [
    "MESSAGES_UPSERT",
    "MESSAGES_UPDATE",
    "SEND_MESSAGE",
    "CONNECTION_UPDATE",
    "QRCODE_UPDATED",
]


class Sleeps(list[float]):
    """Stands in for asyncio.sleep in the client: records each backoff instead of waiting."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


MakeClient = Callable[..., tuple[EvolutionClient, Sleeps]]


@pytest.fixture
async def make_client(evolution: EvolutionStandIn) -> AsyncIterator[MakeClient]:
    """Clients of the stand-in (or of `base_url`) whose backoff waits are recorded, not slept."""
    clients: list[EvolutionClient] = []

    def make(base_url: str | None = None, **options: Any) -> tuple[EvolutionClient, Sleeps]:
        sleeps = Sleeps()
        client = EvolutionClient(
            base_url or evolution.url, evolution.api_key, sleep=sleeps, **options
        )
        clients.append(client)
        return client, sleeps

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def line(evolution: EvolutionStandIn) -> Instance:
    """A connected instance."""
    return evolution.add_instance("acme-support", token=TOKEN, state="open")


# -- tolerant values (§10.3) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1763731654, 1763731654),
        ("148213", 148213),
        ({"low": 23841, "high": 0, "unsigned": True}, 23841),
        # senderTimestampMs of messages_upsert_reaction.json: a negative low half
        ({"low": -1499495239, "high": 410, "unsigned": False}, 1763732063417),
        ({"low": -1, "high": -1, "unsigned": True}, 2**64 - 1),
        ({"low": -1, "high": -1, "unsigned": False}, -1),
        (7.0, 7),
        (7.5, None),
        (True, None),
        ("12 kB", None),
        ({"low": 1}, None),
        (None, None),
    ],
)
def test_long_value(value, expected):
    assert long_value(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("AQID/w==", b"\x01\x02\x03\xff"),
        ({"0": 1, "1": 2, "2": 255}, b"\x01\x02\xff"),
        ([1, 2, 255], b"\x01\x02\xff"),
        ({}, b""),
        ([], b""),
        ("not base64!", None),
        ({"0": 1, "2": 3}, None),
        ({"low": 1, "high": 0}, None),
        ([1, 256], None),
        ([1, True], None),
        (12, None),
    ],
)
def test_bytes_value(value, expected):
    assert bytes_value(value) == expected


def test_values_of_a_recorded_payload():
    audio = json.loads((PAYLOADS_DIR / "messages_upsert_audio_ptt.json").read_text())
    content = audio["data"]["message"]["audioMessage"]
    assert long_value(content["fileLength"]) == 23841
    assert long_value(content["mediaKeyTimestamp"]) == 1763731653
    media_key = bytes_value(content["mediaKey"])
    assert media_key is not None and len(media_key) == 32 and media_key[:2] == bytes([250, 49])
    assert len(bytes_value(content["waveform"]) or b"") == 64

    reaction = json.loads((PAYLOADS_DIR / "messages_upsert_reaction.json").read_text())["data"]
    sent_ms = long_value(reaction["message"]["reactionMessage"]["senderTimestampMs"])
    assert sent_ms is not None
    assert abs(sent_ms // 1000 - reaction["messageTimestamp"]) < 3600


# -- request bodies and keys --------------------------------------------------------------


async def test_create_instance_sends_the_v2_body_with_the_global_key(evolution, evolution_client):
    answer = await evolution_client.create_instance(
        "acme-support",
        TOKEN,
        webhook_url="https://crm.example.com/api/webhooks/evolution",
        webhook_headers={"x-atendimento-secret": "webhook-secret-123"},
        events=EVENTS,
        settings={"rejectCall": True, "msgCall": "Não atendemos ligações", "groupsIgnore": True},
        qrcode=True,
        number="5511999990001",
    )

    [request] = evolution.requests_to("/instance/create")
    assert request.headers["apikey"] == evolution.api_key
    assert request.json == {
        "instanceName": "acme-support",
        "token": TOKEN,
        "integration": "WHATSAPP-BAILEYS",
        "qrcode": True,
        "number": "5511999990001",
        "rejectCall": True,
        "msgCall": "Não atendemos ligações",
        "groupsIgnore": True,
        "alwaysOnline": False,
        "readMessages": False,
        "readStatus": False,
        "syncFullHistory": False,
        "webhook": {
            "url": "https://crm.example.com/api/webhooks/evolution",
            "byEvents": False,
            "base64": False,
            "headers": {"x-atendimento-secret": "webhook-secret-123"},
            "events": EVENTS,
        },
    }
    assert answer["hash"] == TOKEN
    assert answer["instance"]["status"] == "connecting"
    assert answer["qrcode"]["base64"].startswith("data:image/png;base64,")
    assert len(answer["qrcode"]["pairingCode"]) == 8
    instance = evolution.instances["acme-support"]
    assert instance.instance_id == answer["instance"]["instanceId"]
    assert instance.webhook == WebhookConfig(
        url="https://crm.example.com/api/webhooks/evolution",
        headers={"x-atendimento-secret": "webhook-secret-123"},
        events=EVENTS,
    )
    assert instance.settings is not None and instance.settings["rejectCall"] is True


async def test_create_instance_minimal_body(evolution, evolution_client):
    answer = await evolution_client.create_instance(
        "acme-support",
        TOKEN,
        webhook_url="https://crm.example.com/hook",
        webhook_headers={},
        events=["MESSAGES_UPSERT"],
    )
    [request] = evolution.requests_to("/instance/create")
    assert set(request.json) == {"instanceName", "token", "integration", "qrcode", "webhook"}
    assert request.json["qrcode"] is False
    assert "qrcode" not in answer and answer["instance"]["status"] == "close"


@pytest.mark.parametrize(
    "bad",
    [
        {"events": []},
        {"settings": {"reject_call": True}},  # v1 spelling, silently ignored by Evolution v2
    ],
)
async def test_create_instance_refuses_bodies_evolution_would_misread(
    evolution, evolution_client, bad
):
    arguments: dict[str, Any] = {
        "webhook_url": "https://crm.example.com/hook",
        "webhook_headers": {},
        "events": EVENTS,
        **bad,
    }
    with pytest.raises(ValueError):
        await evolution_client.create_instance("acme-support", TOKEN, **arguments)
    assert evolution.requests == []


async def test_the_stand_in_rejects_a_webhook_without_events_as_evolution_does(evolution):
    async with httpx.AsyncClient(base_url=evolution.url) as http:
        response = await http.post(
            "/instance/create",
            headers={"apikey": evolution.api_key},
            json={
                "instanceName": "x",
                "integration": "WHATSAPP-BAILEYS",
                "webhook": {"url": "https://crm.example.com/hook"},
            },
        )
    assert response.status_code == 400
    assert error_message(response.json()) == (
        "Cannot read properties of undefined (reading 'length')"
    )


async def test_instance_routes_use_the_instance_token_and_fetch_uses_the_global_key(
    evolution, evolution_client, line
):
    client = evolution_client
    assert await client.connection_state("acme-support", TOKEN) == "open"
    assert await client.connect("acme-support", TOKEN) == {
        "instance": {"instanceName": "acme-support", "state": "open"}
    }
    assert (await client.find_settings("acme-support", TOKEN) or {})["rejectCall"] is False
    assert await client.find_webhook("acme-support", TOKEN) is None
    [row] = await client.fetch_instances("acme-support")
    assert row["name"] == "acme-support" and row["connectionStatus"] == "open"

    keys = {(r.method, r.path.split("/")[2]): r.headers["apikey"] for r in evolution.requests}
    assert keys == {
        ("GET", "connectionState"): TOKEN,
        ("GET", "connect"): TOKEN,
        ("GET", "find"): TOKEN,
        ("GET", "fetchInstances"): evolution.api_key,
    }
    assert evolution.requests_to("fetchInstances")[0].query == {"instanceName": "acme-support"}


async def test_send_text_with_quote(evolution, evolution_client, line):
    quoted = {
        "key": {"id": "AC3F0E21B4D97A6650C2E8F1D3B5A7C9"},
        "message": {"conversation": "Quando chega?"},
    }
    answer = await evolution_client.send_text(
        "acme-support",
        TOKEN,
        number=CUSTOMER,
        text="Amanhã de manhã.",
        quoted=quoted,
        delay=10,
        link_preview=False,
    )

    [request] = evolution.requests_to("/message/sendText/acme-support")
    assert request.headers["apikey"] == TOKEN
    assert request.json == {
        "number": CUSTOMER,
        "text": "Amanhã de manhã.",
        "quoted": quoted,
        "delay": 10,
        "linkPreview": False,
    }
    assert answer["key"]["remoteJid"] == f"{CUSTOMER}@s.whatsapp.net"
    assert answer["key"]["fromMe"] is True
    assert answer["key"]["id"].startswith("3EB0") and len(answer["key"]["id"]) == 22
    assert answer["status"] == "PENDING"
    assert answer["message"] == {"conversation": "Amanhã de manhã."}
    assert isinstance(answer["messageTimestamp"], int)
    assert [s.message for s in evolution.sent] == [answer]


async def test_send_text_leaves_out_unset_options(evolution, evolution_client, line):
    await evolution_client.send_text("acme-support", TOKEN, number=CUSTOMER, text="Oi")
    assert evolution.requests_to("sendText")[0].json == {"number": CUSTOMER, "text": "Oi"}


async def test_send_whatsapp_audio(evolution, evolution_client, line):
    audio = base64.b64encode(b"OggS fake opus").decode()
    answer = await evolution_client.send_whatsapp_audio(
        "acme-support", TOKEN, number=CUSTOMER, audio=audio, encoding=False
    )
    [request] = evolution.requests_to("/message/sendWhatsAppAudio/acme-support")
    assert request.headers["apikey"] == TOKEN
    assert request.json == {"number": CUSTOMER, "audio": audio, "encoding": False}
    assert answer["messageType"] == "audioMessage"
    assert answer["message"]["audioMessage"]["ptt"] is True
    assert long_value(answer["message"]["audioMessage"]["fileLength"]) == 18342


async def test_send_media(evolution, evolution_client, line):
    pdf = base64.b64encode(b"%PDF-1.7 fake").decode()
    answer = await evolution_client.send_media(
        "acme-support",
        TOKEN,
        number=CUSTOMER,
        mediatype="document",
        media=pdf,
        mimetype="application/pdf",
        file_name="boleto.pdf",
        caption="Segue o boleto",
    )
    [request] = evolution.requests_to("/message/sendMedia/acme-support")
    assert request.headers["apikey"] == TOKEN
    assert request.json == {
        "number": CUSTOMER,
        "mediatype": "document",
        "media": pdf,
        "mimetype": "application/pdf",
        "fileName": "boleto.pdf",
        "caption": "Segue o boleto",
    }
    document = answer["message"]["documentMessage"]
    assert answer["messageType"] == "documentMessage"
    assert (document["fileName"], document["caption"]) == ("boleto.pdf", "Segue o boleto")
    assert long_value(document["fileLength"]) == len(b"%PDF-1.7 fake")


async def test_set_settings_sends_every_flag(evolution, evolution_client, line):
    answer = await evolution_client.set_settings(
        "acme-support", TOKEN, {"readMessages": True, "msgCall": "Só mensagens"}
    )
    [request] = evolution.requests_to("/settings/set/acme-support")
    expected = {
        "rejectCall": False,
        "msgCall": "Só mensagens",
        "groupsIgnore": False,
        "alwaysOnline": False,
        "readMessages": True,
        "readStatus": False,
        "syncFullHistory": False,
    }
    assert request.headers["apikey"] == TOKEN
    assert request.json == expected
    assert answer == {"settings": {"instanceName": "acme-support", "settings": expected}}
    assert await evolution_client.find_settings("acme-support", TOKEN) == {
        **expected,
        "wavoipToken": "",
    }


async def test_set_webhook(evolution, evolution_client, line):
    row = await evolution_client.set_webhook(
        "acme-support",
        TOKEN,
        url="https://crm.example.com/hook",
        headers={"x-atendimento-secret": "webhook-secret-123"},
        events=EVENTS,
    )
    [request] = evolution.requests_to("/webhook/set/acme-support")
    assert request.headers["apikey"] == TOKEN
    assert request.json == {
        "webhook": {
            "enabled": True,
            "url": "https://crm.example.com/hook",
            "byEvents": False,
            "base64": False,
            "headers": {"x-atendimento-secret": "webhook-secret-123"},
            "events": EVENTS,
        }
    }
    assert row["events"] == EVENTS and row["instanceId"] == line.instance_id
    assert await evolution_client.find_webhook("acme-support", TOKEN) == row
    with pytest.raises(ValueError):
        await evolution_client.set_webhook(
            "acme-support", TOKEN, url="https://x.example/h", headers={}, events=[]
        )


async def test_mark_messages_read(evolution, evolution_client, line):
    keys = [
        {
            "remoteJid": f"{CUSTOMER}@s.whatsapp.net",
            "fromMe": False,
            "id": "AC3F0E21B4D97A6650C2E8F1D3B5A7C9",
        }
    ]
    answer = await evolution_client.mark_messages_read("acme-support", TOKEN, keys)
    [request] = evolution.requests_to("/chat/markMessageAsRead/acme-support")
    assert request.headers["apikey"] == TOKEN
    assert request.json == {"readMessages": keys}
    assert answer == {"message": "Read messages", "read": "success"}


async def test_send_presence_uses_top_level_fields(evolution, evolution_client, line):
    answer = await evolution_client.send_presence(
        "acme-support", TOKEN, number=CUSTOMER, presence="composing", delay=20
    )
    [request] = evolution.requests_to("/chat/sendPresence/acme-support")
    assert request.headers["apikey"] == TOKEN
    assert request.json == {"number": CUSTOMER, "presence": "composing", "delay": 20}
    assert answer == {"presence": "composing"}


async def test_numbers_pictures_and_media(evolution, evolution_client, line):
    evolution.not_on_whatsapp("5511999990009")
    evolution.profile_pictures[CUSTOMER] = "https://pps.whatsapp.net/v/maria.jpg"
    evolution.add_media(
        "AC8D21F03B6E4A9957C0D1E2F3A4B5C6",
        b"\x89PNG fake",
        mimetype="image/png",
        caption="Caixa amassada",
    )
    client = evolution_client

    numbers = await client.whatsapp_numbers("acme-support", TOKEN, [CUSTOMER, "5511999990009"])
    assert [(n["number"], n["exists"]) for n in numbers] == [
        (CUSTOMER, True),
        ("5511999990009", False),
    ]
    assert evolution.requests_to("whatsappNumbers")[0].json == {
        "numbers": [CUSTOMER, "5511999990009"]
    }
    assert await client.fetch_profile_picture_url("acme-support", TOKEN, CUSTOMER) == (
        "https://pps.whatsapp.net/v/maria.jpg"
    )
    assert await client.fetch_profile_picture_url("acme-support", TOKEN, "5511999990003") is None
    media = await client.get_base64_from_media_message(
        "acme-support", TOKEN, {"key": {"id": "AC8D21F03B6E4A9957C0D1E2F3A4B5C6"}}
    )
    assert evolution.requests_to("getBase64FromMediaMessage")[0].json == {
        "message": {"key": {"id": "AC8D21F03B6E4A9957C0D1E2F3A4B5C6"}},
        "convertToMp4": False,
    }
    assert base64.b64decode(media["base64"]) == b"\x89PNG fake"
    assert (media["mimetype"], media["caption"]) == ("image/png", "Caixa amassada")


async def test_connection_life_cycle(evolution, evolution_client):
    client = evolution_client
    # Subscribed to nothing this test emits, so the webhook URL is never called.
    await client.create_instance(
        "acme-support",
        TOKEN,
        webhook_url="https://x.example/h",
        webhook_headers={},
        events=["CALL"],
    )
    assert await client.connection_state("acme-support", TOKEN) == "close"

    qr = await client.connect("acme-support", TOKEN, number="5511999990001")
    assert evolution.requests_to("/instance/connect/")[0].query == {"number": "5511999990001"}
    assert qr["count"] == 1 and len(qr["pairingCode"]) == 8 and qr["code"].startswith("2@")
    assert await client.connection_state("acme-support", TOKEN) == "connecting"
    assert await client.restart("acme-support", TOKEN) == qr

    await evolution.open_connection("acme-support")
    assert await client.connection_state("acme-support", TOKEN) == "open"
    await client.logout("acme-support", TOKEN)
    assert await client.connection_state("acme-support", TOKEN) == "close"
    with pytest.raises(EvolutionApiError) as logged_out:
        await client.logout("acme-support", TOKEN)
    assert logged_out.value.status == 400
    assert logged_out.value.message == 'The "acme-support" instance is not connected'

    await client.delete_instance("acme-support", TOKEN)
    await client.delete_instance("acme-support", TOKEN)  # recorded: 200 again for a while
    await wait_for(lambda: "acme-support" not in evolution.instances)
    with pytest.raises(EvolutionApiError) as gone:
        await client.delete_instance("acme-support", TOKEN)
    assert gone.value.status == 404


async def test_instance_names_are_url_encoded(evolution, evolution_client):
    evolution.add_instance("loja #1?", token=TOKEN)
    assert await evolution_client.connection_state("loja #1?", TOKEN) == "close"
    assert evolution.requests[0].path == "/instance/connectionState/loja #1?"


# -- error bodies (§1.4) ------------------------------------------------------------------

SEND_ROUTE = "/message/sendText/{instance}"


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (
            404,
            {
                "status": 404,
                "error": "Not Found",
                "response": {"message": ["Cannot POST /message/sendTxt/acme-support"]},
            },
            "Cannot POST /message/sendTxt/acme-support",
        ),
        (
            400,
            {
                "status": 400,
                "error": "Bad Request",
                "response": {"message": [['instance requires property "text"']]},
            },
            'instance requires property "text"',
        ),
        (
            400,
            {
                "status": 400,
                "error": "Bad Request",
                "response": {
                    "message": [
                        {
                            "jid": "5511999990009@s.whatsapp.net",
                            "exists": False,
                            "number": "5511999990009",
                        }
                    ]
                },
            },
            "5511999990009 is not on WhatsApp",
        ),
        (
            400,
            {
                "status": 400,
                "error": "Bad Request",
                "response": {"message": [{"jid": "5511999990009@s.whatsapp.net", "exists": False}]},
            },
            "5511999990009 is not on WhatsApp",
        ),
        (
            400,
            {
                "status": 400,
                "error": "Bad Request",
                "response": {"message": ["Error: Connection Closed"]},
            },
            "Error: Connection Closed",
        ),
        (
            500,
            {
                "status": 500,
                "error": "Internal Server Error",
                "response": {"message": "Cannot read properties of undefined (reading 'length')"},
            },
            "Cannot read properties of undefined (reading 'length')",
        ),
        (
            500,
            {
                "status": 500,
                "error": "Internal Server Error",
                "response": {"message": ["Read messages fail", "Error: timed out"]},
            },
            "Read messages fail; Error: timed out",
        ),
        (
            400,
            {"status": 400, "error": "Bad Request", "response": {"message": ["[object Object]"]}},
            f"Evolution API failed on POST {SEND_ROUTE} without saying why (HTTP 400)",
        ),
        (
            400,
            {"status": 400, "error": "Bad Request", "message": ["Invalid number"]},
            "Invalid number",
        ),
        (
            401,
            {"status": 401, "error": "Unauthorized", "response": {"message": "Unauthorized"}},
            "Unauthorized",
        ),
        (
            502,
            "<html><body>502 Bad Gateway</body></html>",
            f"Evolution API failed on POST {SEND_ROUTE} without saying why (HTTP 502)",
        ),
    ],
)
async def test_error_bodies_become_one_readable_message(
    evolution, evolution_client, line, status, body, message
):
    # A send is never retried on these, so each body is seen exactly once.
    evolution.fail_next("/message/sendText", status, body)
    with pytest.raises(EvolutionApiError) as raised:
        await evolution_client.send_text("acme-support", TOKEN, number=CUSTOMER, text="Oi")
    assert (raised.value.status, raised.value.message) == (status, message)
    assert raised.value.response == body
    assert raised.value.not_on_whatsapp is ("not on WhatsApp" in message)
    assert raised.value.extensions["code"] == "EVOLUTION_ERROR"
    assert len(evolution.requests_to("sendText")) == 1


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "[object Object]",
            "Evolution API failed on GET /instance/connect/{instance} without "
            "saying why (HTTP 200)",
        ),
        ("Connection Closed", "Connection Closed"),
    ],
)
async def test_connect_failures_answered_with_http_200(
    evolution, evolution_client, line, message, expected
):
    evolution.fail_next("/instance/connect/", 200, {"error": True, "message": message})
    with pytest.raises(EvolutionApiError) as raised:
        await evolution_client.connect("acme-support", TOKEN)
    assert (raised.value.status, raised.value.message) == (200, expected)


async def test_a_success_that_is_not_json_is_an_error(evolution, evolution_client, line):
    evolution.fail_next("/instance/connectionState", 200, "<html>Welcome to nginx!</html>")
    with pytest.raises(EvolutionApiError) as raised:
        await evolution_client.connection_state("acme-support", TOKEN)
    assert raised.value.status == 200
    assert raised.value.message == (
        "Evolution API answered GET /instance/connectionState/"
        "{instance} with a body that is not JSON"
    )


async def test_restart_of_a_closed_instance_raises(evolution, evolution_client, line):
    line.state = "close"
    with pytest.raises(EvolutionApiError) as raised:
        await evolution_client.restart("acme-support", TOKEN)
    assert raised.value.status == 200
    assert raised.value.response == {"error": True, "message": "[object Object]"}
    assert "/instance/restart/{instance}" in raised.value.message


async def test_errors_the_stand_in_gives_on_its_own(evolution, evolution_client, line):
    client = evolution_client
    evolution.not_on_whatsapp("5511999990009")

    with pytest.raises(EvolutionApiError) as not_on_whatsapp:
        await client.send_text("acme-support", TOKEN, number="5511999990009", text="Oi")
    assert not_on_whatsapp.value.not_on_whatsapp
    assert not_on_whatsapp.value.message == "5511999990009 is not on WhatsApp"

    with pytest.raises(EvolutionApiError) as presence:
        await client.send_presence(
            "acme-support", TOKEN, number="5511999990009", presence="composing", delay=0
        )
    assert presence.value.response["response"]["message"] == ["[object Object]"]
    assert not presence.value.not_on_whatsapp

    with pytest.raises(EvolutionApiError) as taken:
        await client.create_instance(
            "acme-support",
            TOKEN,
            webhook_url="https://x.example/h",
            webhook_headers={},
            events=EVENTS,
        )
    assert (taken.value.status, taken.value.message) == (
        403,
        'This name "acme-support" is already in use.',
    )

    with pytest.raises(EvolutionApiError) as unknown:
        await client.fetch_instances("ghost")
    assert (unknown.value.status, unknown.value.message) == (404, 'Instance "ghost" not found')

    line.state = "close"
    with pytest.raises(EvolutionApiError) as closed:
        await client.send_text("acme-support", TOKEN, number=CUSTOMER, text="Oi")
    assert (closed.value.status, closed.value.message) == (500, "Connection Closed")
    with pytest.raises(EvolutionApiError) as numbers:
        await client.whatsapp_numbers("acme-support", TOKEN, [CUSTOMER])
    assert (numbers.value.status, numbers.value.message) == (400, "Connection Closed")
    assert "response" not in numbers.value.response


async def test_a_v1_body_gets_the_nested_array_error(evolution, line):
    async with httpx.AsyncClient(base_url=evolution.url) as http:
        response = await http.post(
            "/message/sendText/acme-support",
            headers={"apikey": TOKEN},
            json={"number": CUSTOMER, "textMessage": {"text": "Oi"}},
        )
    assert response.status_code == 400
    assert response.json()["response"]["message"] == [['instance requires property "text"']]


async def test_unknown_instance_is_404_before_the_key_is_checked(evolution, evolution_client):
    with pytest.raises(EvolutionApiError) as raised:
        await evolution_client.delete_instance("ghost", "not-a-token")
    assert raised.value.status == 404
    assert raised.value.message == 'The "ghost" instance does not exist'


async def test_wrong_keys_are_401(evolution, evolution_client, line):
    with pytest.raises(EvolutionApiError) as wrong_token:
        await evolution_client.connection_state("acme-support", "someone-elses-token")
    assert (wrong_token.value.status, wrong_token.value.message) == (401, "Unauthorized")

    token_client = EvolutionClient(evolution.url, TOKEN)  # an instance token as global key
    try:
        with pytest.raises(EvolutionApiError) as create:
            await token_client.create_instance(
                "other", "T", webhook_url="https://x.example/h", webhook_headers={}, events=EVENTS
            )
    finally:
        await token_client.aclose()
    assert create.value.status == 401


CALLS: list[Callable[[EvolutionClient], Any]] = [
    lambda c: c.create_instance(
        "a", "t", webhook_url="https://x.example/h", webhook_headers={}, events=EVENTS
    ),
    lambda c: c.fetch_instances(),
    lambda c: c.connect("a", "t"),
    lambda c: c.connection_state("a", "t"),
    lambda c: c.logout("a", "t"),
    lambda c: c.delete_instance("a", "t"),
    lambda c: c.restart("a", "t"),
    lambda c: c.send_text("a", "t", number=CUSTOMER, text="Oi"),
    lambda c: c.send_whatsapp_audio("a", "t", number=CUSTOMER, audio="AAAA"),
    lambda c: c.send_media("a", "t", number=CUSTOMER, mediatype="image", media="AAAA"),
    lambda c: c.set_settings("a", "t", {}),
    lambda c: c.find_settings("a", "t"),
    lambda c: c.set_webhook("a", "t", url="https://x.example/h", headers={}, events=EVENTS),
    lambda c: c.find_webhook("a", "t"),
    lambda c: c.mark_messages_read("a", "t", []),
    lambda c: c.whatsapp_numbers("a", "t", [CUSTOMER]),
    lambda c: c.fetch_profile_picture_url("a", "t", CUSTOMER),
    lambda c: c.get_base64_from_media_message("a", "t", {"key": {"id": "X"}}),
    lambda c: c.send_presence("a", "t", number=CUSTOMER, presence="paused", delay=0),
]


@pytest.mark.parametrize("missing", ["base_url", "api_key"])
async def test_not_configured_fails_before_any_request(evolution, missing):
    client = EvolutionClient(
        None if missing == "base_url" else evolution.url,
        None if missing == "api_key" else evolution.api_key,
    )
    try:
        assert not client.configured
        for call in CALLS:
            with pytest.raises(EvolutionNotConfigured):
                await call(client)
    finally:
        await client.aclose()
    assert evolution.requests == []


# -- retries ------------------------------------------------------------------------------


def attempts_of(client: EvolutionClient) -> list[tuple[str, str, int | None]]:
    calls: list[tuple[str, str, int | None]] = []
    client.on_call = lambda method, route, status, seconds: calls.append((method, route, status))
    return calls


async def test_unreachable_evolution_is_retried_within_the_budget(evolution, make_client):
    client, sleeps = make_client(evolution.down_url, retry_seconds=2.0)
    calls = attempts_of(client)
    with pytest.raises(EvolutionUnavailable) as raised:
        await client.connection_state("acme-support", TOKEN)
    assert str(raised.value).startswith("Evolution API is unreachable: ")
    assert evolution.down_url not in str(raised.value)
    assert raised.value.extensions["code"] == "EVOLUTION_UNAVAILABLE"
    assert len(sleeps) >= 1 and sum(sleeps) < 2.0
    assert len(calls) == len(sleeps) + 1
    assert set(calls) == {("GET", "/instance/connectionState/{instance}", None)}


async def test_a_send_is_retried_when_it_never_reached_evolution(evolution, make_client):
    client, sleeps = make_client(evolution.down_url, retry_seconds=2.0)
    calls = attempts_of(client)
    with pytest.raises(EvolutionUnavailable):
        await client.send_text("acme-support", TOKEN, number=CUSTOMER, text="Oi")
    assert len(calls) == len(sleeps) + 1 >= 2


async def test_a_slow_idempotent_call_is_retried_then_unavailable(evolution, make_client, line):
    client, sleeps = make_client(timeout=0.2, retry_seconds=1.0)
    evolution.delay_next("/instance/connectionState", 5, times=100)
    with pytest.raises(EvolutionUnavailable) as raised:
        await client.connection_state("acme-support", TOKEN)
    assert "within 0.2 s" in str(raised.value)
    assert len(evolution.requests_to("connectionState")) == len(sleeps) + 1 >= 2


async def test_a_slow_send_is_tried_once(evolution, make_client, line):
    client, sleeps = make_client(timeout=0.2, retry_seconds=5.0)
    evolution.delay_next("/message/sendText", 0.5)
    with pytest.raises(EvolutionUnavailable):
        await client.send_text("acme-support", TOKEN, number=CUSTOMER, text="Oi")
    assert sleeps == []
    assert len(evolution.requests_to("sendText")) == 1
    # The reason not to retry: Evolution went on and sent it.
    await wait_for(lambda: len(evolution.sent) == 1)


async def test_503_then_200_succeeds_after_one_retry(evolution, make_client, line):
    client, sleeps = make_client()
    evolution.fail_next(
        "/instance/connectionState", 503, {"status": 503, "error": "Service Unavailable"}
    )
    assert await client.connection_state("acme-support", TOKEN) == "open"
    assert len(sleeps) == 1
    assert len(evolution.requests_to("connectionState")) == 2


async def test_a_lasting_5xx_ends_as_an_api_error(evolution, make_client, line):
    client, sleeps = make_client(retry_seconds=3.0)
    evolution.set_down(True)
    with pytest.raises(EvolutionApiError) as raised:
        await client.find_settings("acme-support", TOKEN)
    assert raised.value.status == 503
    assert len(evolution.requests_to("/settings/find")) == len(sleeps) + 1 >= 2
    evolution.set_down(False)
    assert await client.find_settings("acme-support", TOKEN) is not None


async def test_429_is_retried_even_for_a_send(evolution, make_client, line):
    client, sleeps = make_client()
    evolution.fail_next("/message/sendText", 429, {"status": 429, "error": "Too Many Requests"})
    answer = await client.send_text("acme-support", TOKEN, number=CUSTOMER, text="Oi")
    assert len(evolution.requests_to("sendText")) == 2 and len(sleeps) == 1
    assert [s.message for s in evolution.sent] == [answer]


async def test_a_send_is_not_retried_after_a_5xx(evolution, make_client, line):
    client, sleeps = make_client()
    evolution.fail_next("/message/sendText", 503, {"status": 503, "error": "Service Unavailable"})
    with pytest.raises(EvolutionApiError) as raised:
        await client.send_text("acme-support", TOKEN, number=CUSTOMER, text="Oi")
    assert raised.value.status == 503
    assert sleeps == [] and len(evolution.requests_to("sendText")) == 1


async def test_400_is_never_retried(evolution, make_client, line):
    client, sleeps = make_client()
    evolution.fail_next(
        "/instance/connectionState",
        400,
        {"status": 400, "error": "Bad Request", "response": {"message": ["no"]}},
    )
    with pytest.raises(EvolutionApiError):
        await client.connection_state("acme-support", TOKEN)
    assert sleeps == [] and len(evolution.requests_to("connectionState")) == 1


# -- logging and metrics ------------------------------------------------------------------


async def test_logs_name_the_call_but_never_keys_or_content(evolution, evolution_client, caplog):
    caplog.set_level(logging.INFO)
    await evolution_client.create_instance(
        "acme-support",
        TOKEN,
        webhook_url="https://x.example/h",
        webhook_headers={"x-atendimento-secret": "webhook-secret-123"},
        events=EVENTS,
    )
    evolution.instances["acme-support"].state = "open"
    await evolution_client.send_text(
        "acme-support", TOKEN, number=CUSTOMER, text="Meu CPF é 123.456.789-00"
    )
    with pytest.raises(EvolutionApiError):
        await evolution_client.connection_state("acme-support", "WRONG-TOKEN-0123456789")

    ours = [r.getMessage() for r in caplog.records if r.name == "atendimento.evolution"]
    assert len(ours) == 3
    assert ours[0].startswith("POST /instance/create -> 201 in ")
    assert ours[1].startswith("POST /message/sendText/acme-support -> 201 in ")
    assert ours[2].startswith("GET /instance/connectionState/acme-support -> 401 in ")
    assert all(line.endswith("(attempt 1)") for line in ours)
    everything = caplog.text + "".join(r.getMessage() for r in caplog.records)
    for secret in (
        evolution.api_key,
        TOKEN,
        "WRONG-TOKEN-0123456789",
        "webhook-secret-123",
        "123.456.789-00",
        CUSTOMER,
    ):
        assert secret not in everything


async def test_on_call_reports_route_templates(evolution, evolution_client, line):
    seen: list[tuple[str, str, int | None, float]] = []
    evolution_client.on_call = lambda *call: seen.append(call)
    await evolution_client.connection_state("acme-support", TOKEN)
    await evolution_client.send_text("acme-support", TOKEN, number=CUSTOMER, text="Oi")
    assert [call[:3] for call in seen] == [
        ("GET", "/instance/connectionState/{instance}", 200),
        ("POST", "/message/sendText/{instance}", 201),
    ]
    assert all(0 <= call[3] < 2 for call in seen)


# -- the stand-in's webhooks (§8) ---------------------------------------------------------


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[tuple[str, dict[str, str], Any]]]]:
    """A webhook receiver: its URL and what it got (path, headers, body)."""
    received: list[tuple[str, dict[str, str], Any]] = []

    async def hook(request: Request) -> JSONResponse:
        received.append((request.url.path, dict(request.headers), await request.json()))
        return JSONResponse({"ok": True})

    app = Starlette(
        routes=[
            Route("/hook", hook, methods=["POST"]),
            Route("/hook/{event}", hook, methods=["POST"]),
        ]
    )
    async with serve_app(app) as handle:
        yield handle.url + "/hook", received


async def test_webhooks_carry_the_envelope_and_headers(evolution, evolution_client, receiver):
    url, received = receiver
    await evolution_client.create_instance(
        "acme-support",
        TOKEN,
        webhook_url=url,
        webhook_headers={"x-atendimento-secret": "webhook-secret-123"},
        events=EVENTS,
    )
    instance = evolution.instances["acme-support"]

    assert await evolution.emit_qrcode("acme-support") == 200
    assert await evolution.open_connection("acme-support") == 200
    assert instance.state == "open"
    assert await evolution.emit_payload_file("acme-support", "messages_upsert_text.json") == 200
    assert await evolution.emit("acme-support", "contacts.upsert", {"remoteJid": "x"}) is None

    [(path, headers, qr), (_, _, opened), (_, _, upsert)] = received
    assert path == "/hook" and headers["x-atendimento-secret"] == "webhook-secret-123"
    assert qr["event"] == "qrcode.updated" and "sender" not in qr
    assert qr["data"]["qrcode"]["base64"].startswith("data:image/png;base64,")
    assert opened["event"] == "connection.update" and opened["data"]["state"] == "open"
    assert opened["sender"] == "5511999990001@s.whatsapp.net"
    assert upsert["event"] == "messages.upsert"
    assert upsert["data"]["instanceId"] == instance.instance_id
    for envelope in (qr, opened, upsert):
        assert envelope["instance"] == "acme-support" and envelope["apikey"] == TOKEN
        assert envelope["destination"] == url and envelope["server_url"] == evolution.url
        assert envelope["date_time"].endswith("Z")


async def test_webhooks_by_event_and_a_permanent_close(evolution, receiver):
    url, received = receiver
    hook = WebhookConfig(url=url, by_events=True, headers={"jwt_key": JWT_KEY})
    evolution.add_instance("acme-support", token=TOKEN, state="open", webhook=hook)
    assert await evolution.close_connection("acme-support") == 200
    assert [path for path, _, _ in received] == [
        "/hook/connection-update",
        "/hook/status-instance",
        "/hook/logout-instance",
    ]
    assert evolution.instances["acme-support"].state == "close"
    headers = received[0][1]
    assert "jwt_key" not in headers
    claims = jwt.decode(
        headers["authorization"].removeprefix("Bearer "), JWT_KEY, algorithms=["HS256"]
    )
    assert (claims["app"], claims["action"]) == ("evolution", "webhook")
    assert received[2][2]["data"] is None
