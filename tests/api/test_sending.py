"""Sending through the durable outbox against the Evolution API stand-in over real HTTP."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from typing import Any

import pytest

from tests.helpers import (
    Subscription,
    load_payload,
    make_conversation,
    post_webhook,
    settled,
    statuses,
    wait_for,
)
from tests.media_samples import voice_note_ogg

SEND = """mutation($input: SendMessageInput!) { sendMessage(input: $input) {
  id messageId status fromMe textContent messageType quotedMessageId error } }"""
MESSAGE = (
    "query($id: ID!) { messages(contactId: $id, first: 100) { edges { node { "
    "id messageId status error textContent } } } }"
)
TINY_OGG = voice_note_ogg()  # a real, decodable voice note: uploads are decoded to check them


def text_input(
    instance: Mapping[str, Any], contact: Mapping[str, Any], text: str | None = "Olá!", **extra: Any
) -> dict[str, Any]:
    return {
        "input": {
            "instanceId": str(instance["id"]),
            "contactId": str(contact["id"]),
            "textContent": text,
            **extra,
        }
    }


async def test_text_is_stored_pending_then_sent_with_the_exact_body(gql, pg, vault, evolution):
    instance, contact = await make_conversation(pg, vault, evolution, gql)
    sent = (await gql(SEND, text_input(instance, contact, "  Seu pedido saiu.  ")))["sendMessage"]
    assert sent["status"] == "PENDING" and sent["messageId"].startswith("local-")
    assert sent["textContent"] == "Seu pedido saiu."
    assert await settled(pg, sent["id"]) == ["sent"]
    [request] = evolution.requests_to("/message/sendText/")
    assert request.json == {"number": "5511999990002", "text": "Seu pedido saiu."}
    assert request.headers["apikey"] == "TOKEN-acme-support"
    wa_id = evolution.sent[0].message["key"]["id"]
    assert await pg.fetchval("SELECT message_id FROM whatsapp_messages") == wa_id


async def test_receipts_after_sending_reach_the_same_row(server, gql, pg, vault, evolution):
    instance, contact = await make_conversation(pg, vault, evolution, gql)
    sent = (await gql(SEND, text_input(instance, contact)))["sendMessage"]
    await settled(pg, sent["id"])
    wa_id = evolution.sent[0].message["key"]["id"]
    secret = vault.webhook_secret("acme-support")
    echo = load_payload("send_message", token="TOKEN-acme-support")
    echo["data"]["key"]["id"] = wa_id
    receipt = load_payload("messages_update_read", token="TOKEN-acme-support")
    receipt["data"]["keyId"] = wa_id
    for payload in (echo, receipt):
        assert (await post_webhook(gql.http, payload, secret)).status_code == 200

    async def read() -> bool:
        return (await statuses(pg, sent["id"])) == ["read"]

    await wait_for(read)
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_messages") == 1


async def test_echo_racing_the_worker_leaves_one_row(server, gql, pg, vault, evolution):
    instance, contact = await make_conversation(pg, vault, evolution, gql)
    # Evolution is slow to answer the send; its send.message echo arrives first.
    evolution.delay_next("/message/sendText/", 0.8)
    sent = (await gql(SEND, text_input(instance, contact)))["sendMessage"]
    await wait_for(lambda: evolution.sent, timeout=10)
    echo = load_payload("send_message", token="TOKEN-acme-support")
    echo["data"]["key"]["id"] = evolution.sent[0].message["key"]["id"]
    secret = vault.webhook_secret("acme-support")
    assert (await post_webhook(gql.http, echo, secret)).status_code == 200
    assert await settled(pg, sent["id"]) == ["sent"]

    async def echo_applied() -> bool:
        return (
            int(await pg.fetchval("SELECT count(*) FROM webhook_events WHERE status = 'pending'"))
            == 0
        )

    await wait_for(echo_applied, timeout=10)
    rows = await pg.fetch("SELECT id, message_id FROM whatsapp_messages")
    assert [str(r["id"]) for r in rows] == [sent["id"]]


async def test_audio_by_url_and_by_upload(server, gql, pg, vault, evolution, admin_token):
    instance, contact = await make_conversation(pg, vault, evolution, gql)
    by_url = (
        await gql(
            SEND,
            {
                "input": {
                    "instanceId": str(instance["id"]),
                    "contactId": str(contact["id"]),
                    "messageType": "AUDIO",
                    "audioUrl": "https://cdn.example.com/voz.mp3",
                }
            },
        )
    )["sendMessage"]

    operations = json.dumps(
        {
            "query": SEND,
            "variables": {
                "input": {
                    "instanceId": str(instance["id"]),
                    "contactId": str(contact["id"]),
                    "messageType": "AUDIO",
                    "audio": None,
                }
            },
        }
    )
    response = await gql.http.post(
        "/graphql",
        headers={"Authorization": f"Bearer {admin_token}"},
        data={"operations": operations, "map": json.dumps({"0": ["variables.input.audio"]})},
        files={"0": ("voz.webm", TINY_OGG, "audio/webm")},
    )
    uploaded = response.json()["data"]["sendMessage"]
    assert await settled(pg, by_url["id"], uploaded["id"]) == ["sent", "sent"]
    first, second = evolution.requests_to("/message/sendWhatsAppAudio/")
    assert first.json["audio"] == "https://cdn.example.com/voz.mp3"
    assert base64.b64decode(second.json["audio"]) == TINY_OGG
    assert second.json["number"] == "5511999990002"


async def test_bad_audio_is_refused(server, gql, pg, vault, evolution, admin_token):
    instance, contact = await make_conversation(pg, vault, evolution, gql)
    operations = json.dumps(
        {
            "query": SEND,
            "variables": {
                "input": {
                    "instanceId": str(instance["id"]),
                    "contactId": str(contact["id"]),
                    "messageType": "AUDIO",
                    "audio": None,
                }
            },
        }
    )
    response = await gql.http.post(
        "/graphql",
        headers={"Authorization": f"Bearer {admin_token}"},
        data={"operations": operations, "map": json.dumps({"0": ["variables.input.audio"]})},
        files={"0": ("voz.ogg", b"%PDF-1.4 not audio", "audio/ogg")},
    )
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "audio"}
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_messages") == 0


async def test_quoted_reply(gql, pg, vault, evolution):
    instance, contact = await make_conversation(pg, vault, evolution, gql)
    original = await pg.fetchrow(
        "INSERT INTO whatsapp_messages (instance_id, contact_id, message_id, remote_jid, "
        "message_type, text_content, status, timestamp) VALUES ($1, $2, 'WA-ORIGINAL', $3, "
        "'text', 'Qual o prazo?', 'delivered', NOW()) RETURNING id",
        instance["id"],
        contact["id"],
        contact["remote_jid"],
    )
    sent = (
        await gql(
            SEND, text_input(instance, contact, "Amanhã.", quotedMessageId=str(original["id"]))
        )
    )["sendMessage"]
    assert sent["quotedMessageId"] == "WA-ORIGINAL"
    await settled(pg, sent["id"])
    [request] = evolution.requests_to("/message/sendText/")
    assert request.json["quoted"] == {
        "key": {"id": "WA-ORIGINAL"},
        "message": {"conversation": "Qual o prazo?"},
    }


async def test_rate_limit_per_instance_does_not_slow_another(server, gql, pg, vault, evolution):
    server.runtime.settings = server.runtime.settings.with_overrides(send_interval_seconds=0.2)
    a, contact_a = await make_conversation(pg, vault, evolution, gql, "number-a")
    b, contact_b = await make_conversation(pg, vault, evolution, gql, "number-b", "5511999990003")
    ids = [
        (await gql(SEND, text_input(a, contact_a, f"a{i}")))["sendMessage"]["id"] for i in range(20)
    ]
    ids += [
        (await gql(SEND, text_input(b, contact_b, f"b{i}")))["sendMessage"]["id"] for i in range(3)
    ]
    assert set(await settled(pg, *ids)) == {"sent"}
    order = [m.request["text"] for m in evolution.sent]
    assert [t for t in order if t.startswith("a")] == [f"a{i}" for i in range(20)]  # in order
    # Number B was served while A still had most of its queue waiting.
    assert order.index("b2") < order.index("a10")
    a_times = [r.received_at for r in evolution.requests_to("/message/sendText/number-a")]
    assert all(
        later - earlier >= 0.19 for earlier, later in zip(a_times, a_times[1:], strict=False)
    )


async def test_evolution_down_then_up_sends_once_in_order(server, gql, pg, vault, evolution):
    instance, contact = await make_conversation(pg, vault, evolution, gql)
    evolution.set_down(True)
    ids = [
        (await gql(SEND, text_input(instance, contact, f"m{i}")))["sendMessage"]["id"]
        for i in range(3)
    ]

    async def attempted() -> bool:
        return (
            int(await pg.fetchval("SELECT max(attempts) FROM whatsapp_messages")) >= 1
            and int(
                await pg.fetchval("SELECT count(*) FROM whatsapp_messages WHERE error IS NOT NULL")
            )
            > 0
        )

    await wait_for(attempted)
    assert await statuses(pg, *ids) == ["pending"] * 3
    evolution.set_down(False)
    # Time passes: the backoff is over (instead of waiting seconds for it).
    await pg.execute("UPDATE whatsapp_messages SET next_attempt_at = NOW()")
    server.runtime.outbox_wakeup.set()
    assert await settled(pg, *ids) == ["sent"] * 3
    assert [m.request["text"] for m in evolution.sent] == ["m0", "m1", "m2"]


async def test_not_on_whatsapp_fails_with_the_reason_and_retry_works(gql, pg, vault, evolution):
    instance, contact = await make_conversation(pg, vault, evolution, gql, number="5511999990009")
    evolution.not_on_whatsapp("5511999990009")
    sent = (await gql(SEND, text_input(instance, contact)))["sendMessage"]
    assert await settled(pg, sent["id"]) == ["failed"]
    assert len(evolution.requests_to("/message/sendText/")) == 1  # a 400 is never retried
    data = await gql(MESSAGE, {"id": str(contact["id"])})
    failed = data["messages"]["edges"][0]["node"]
    assert failed["status"] == "FAILED" and "not on WhatsApp" in failed["error"]

    evolution.on_whatsapp_again()
    retried = (
        await gql(
            "mutation($id: ID!) { retryMessage(id: $id) { status error } }", {"id": sent["id"]}
        )
    )["retryMessage"]
    assert retried == {"status": "PENDING", "error": None}
    assert await settled(pg, sent["id"]) == ["sent"]
    error = await gql.error(
        "mutation($id: ID!) { retryMessage(id: $id) { status } }", {"id": sent["id"]}
    )
    assert error.codes == ["CONFLICT"]


async def test_idempotency_key_returns_the_same_message(gql, pg, vault, evolution):
    instance, contact = await make_conversation(pg, vault, evolution, gql)
    first = (await gql(SEND, text_input(instance, contact, idempotencyKey="k-1")))["sendMessage"]
    again = (await gql(SEND, text_input(instance, contact, idempotencyKey="k-1")))["sendMessage"]
    assert first["id"] == again["id"]
    await settled(pg, first["id"])
    assert len(evolution.requests_to("/message/sendText/")) == 1


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"textContent": "   "}, "BAD_USER_INPUT", "textContent"),
        ({"textContent": "x" * 4097}, "BAD_USER_INPUT", "textContent"),
        ({"messageType": "AUDIO", "textContent": None}, "BAD_USER_INPUT", "audio"),
        (
            {"audioUrl": "ftp://x", "messageType": "AUDIO", "textContent": None},
            "BAD_USER_INPUT",
            "audioUrl",
        ),
        ({"quotedMessageId": "nope"}, "BAD_USER_INPUT", "quotedMessageId"),
        ({"contactId": str(uuid.uuid4())}, "NOT_FOUND", None),
    ],
)
async def test_invalid_sends_store_nothing(gql, pg, vault, evolution, change, code, field):
    instance, contact = await make_conversation(pg, vault, evolution, gql)
    variables = text_input(instance, contact)
    variables["input"].update(change)
    error = await gql.error(SEND, variables)
    assert error.codes == [code]
    assert error.errors[0]["extensions"].get("field") == field
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_messages") == 0


async def test_disconnected_instance_is_a_clear_conflict(gql, pg, vault, evolution):
    instance, contact = await make_conversation(pg, vault, evolution, gql)
    await pg.execute("UPDATE whatsapp_instances SET status = 'disconnected'")
    error = await gql.error(SEND, text_input(instance, contact))
    assert error.codes == ["CONFLICT"]
    assert error.errors[0]["extensions"]["reason"] == "INSTANCE_NOT_CONNECTED"


async def test_quick_message_is_rendered_for_the_contact(gql, pg, vault, evolution):
    instance, contact = await make_conversation(pg, vault, evolution, gql)
    await gql(
        'mutation { createQuickMessage(input: {shortcut: "/Prazo", messageText: '
        '"Olá {primeiro_nome}, entregamos em 2 dias. {assinatura}"}) { id } }'
    )
    preview = await gql(
        'query($c: ID!) { renderQuickMessage(shortcut: "prazo", contactId: $c) }',
        {"c": str(contact["id"])},
    )
    sent = (await gql(SEND, text_input(instance, contact, None, quickMessageShortcut="/prazo")))[
        "sendMessage"
    ]
    assert (
        sent["textContent"]
        == preview["renderQuickMessage"]
        == "Olá Maria, entregamos em 2 dias. {assinatura}"
    )


async def test_status_changes_reach_subscribers(server, gql, pg, vault, evolution, admin_token):
    instance, contact = await make_conversation(pg, vault, evolution, gql)
    query = """subscription($i: ID!) { messageEvents(instanceId: $i, afterSeq: "0") {
      kind message { status } } }"""
    async with Subscription.connect(server.ws_url, admin_token) as ws:
        await ws.subscribe(query, {"i": str(instance["id"])})
        await gql(SEND, text_input(instance, contact))
        first = (await ws.next_data())["messageEvents"]
        second = (await ws.next_data())["messageEvents"]
    assert first["kind"] == "CREATED" and second["kind"] == "UPDATED"
    assert second["message"]["status"] == "SENT"
