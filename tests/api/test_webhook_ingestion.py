"""Every shared Evolution payload through real HTTP into the database and out of GraphQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from tests.helpers import (
    GraphQLClient,
    load_payload,
    post_webhook,
    wait_for,
)

TOKEN = "7A1F3C2E-9B4D-4E8F-A1C2-3D4E5F6A7B8C"

CONTACTS = """
query($instanceId: ID!, $search: String) {
  contacts(instanceId: $instanceId, search: $search, first: 50) {
    edges { node { id name pushName phoneNumber remoteJid isGroup profilePictureUrl unreadCount
                   lastMessage { textContent messageType } } }
  }
}"""
MESSAGES = """
query($contactId: ID!) {
  messages(contactId: $contactId, first: 50) {
    edges { node { id messageId fromMe messageType textContent mediaMimeType mediaSize
                   mediaFilename mediaSeconds quotedMessageId status timestamp senderName
                   metadata deleted } }
  }
}"""


async def deliver(
    gql: GraphQLClient, pg: asyncpg.Connection, secret: str, *names: str, suffix: str | None = None
) -> None:
    for name in names:
        response = await post_webhook(gql.http, load_payload(name), secret, suffix=suffix)
        assert response.status_code == 200, (name, response.text)
    await processed(pg)


async def processed(pg: asyncpg.Connection) -> None:
    async def settled() -> bool:
        pending: int = await pg.fetchval(
            "SELECT count(*) FROM webhook_events WHERE status = 'pending'"
        )
        return pending == 0

    await wait_for(settled)
    failed = await pg.fetch(
        "SELECT event, last_error FROM webhook_events WHERE status='failed' "
        "OR last_error IS NOT NULL"
    )
    assert not failed, [dict(r) for r in failed]


async def contacts(
    gql: GraphQLClient, instance: dict[str, Any], search: str | None = None
) -> list[dict[str, Any]]:
    data = await gql(CONTACTS, {"instanceId": str(instance["id"]), "search": search})
    return [e["node"] for e in data["contacts"]["edges"]]


async def messages(gql: GraphQLClient, contact_id: str) -> list[dict[str, Any]]:
    data = await gql(MESSAGES, {"contactId": contact_id})
    return [e["node"] for e in data["messages"]["edges"]]


async def only_contact(gql: GraphQLClient, instance: dict[str, Any]) -> dict[str, Any]:
    found = await contacts(gql, instance)
    assert len(found) == 1, found
    return found[0]


async def test_incoming_text_creates_contact_and_message(gql, pg, instance, secret):
    await deliver(gql, pg, secret, "messages_upsert_text")
    contact = await only_contact(gql, instance)
    assert contact["name"] == "Maria Souza"
    assert contact["phoneNumber"] == "5511999990002"
    assert contact["remoteJid"] == "5511999990002@s.whatsapp.net"
    assert contact["unreadCount"] == 1
    assert contact["lastMessage"]["textContent"].startswith("Oi, bom dia!")
    [message] = await messages(gql, contact["id"])
    assert message["messageType"] == "TEXT" and not message["fromMe"]
    assert message["status"] == "DELIVERED"
    assert message["messageId"] == "A5561E44C2A63682E4295B52F484C14E"
    assert datetime.fromisoformat(message["timestamp"]) == datetime.fromtimestamp(1763731503, UTC)


async def test_every_message_kind_of_the_shared_payloads(gql, pg, instance, secret):
    await deliver(
        gql,
        pg,
        secret,
        "messages_upsert_text",
        "messages_upsert_extended_text",
        "messages_upsert_audio_ptt",
        "messages_upsert_image_caption",
        "messages_upsert_document",
        "messages_upsert_reply_quoted",
        "messages_upsert_reaction",
        "messages_upsert_from_me",
        "send_message",
    )
    contact = await only_contact(gql, instance)
    by_id = {m["messageId"]: m for m in await messages(gql, contact["id"])}
    assert len(by_id) == 9

    assert by_id["3EB0B6F1C2A4D8E9F0A1B2"]["textContent"].startswith("Segue o link do rastreio")
    audio = by_id["AC3F0E21B4D97A6650C2E8F1D3B5A7C9"]
    assert (
        audio["messageType"],
        audio["mediaSeconds"],
        audio["mediaSize"],
        audio["mediaMimeType"],
    ) == ("AUDIO", 9, 23841, "audio/ogg; codecs=opus")
    image = by_id["AC8D21F03B6E4A9957C0D1E2F3A4B5C6"]
    assert (image["messageType"], image["textContent"], image["mediaSize"]) == (
        "IMAGE",
        "Foto da caixa que chegou amassada",
        148213,
    )
    document = by_id["3A71D0C9E8B7A6F5E4D3"]
    assert (
        document["messageType"],
        document["mediaFilename"],
        document["mediaSize"],
        document["textContent"],
    ) == ("DOCUMENT", "nota-fiscal-4821.pdf", 284519, "Nota fiscal em anexo")
    reply = by_id["AC0B9E8D7C6B5A4F3E2D1C0B9A8F7E6D"]
    assert reply["quotedMessageId"] == "3EB0F92CAB0D0C54F4DC65"
    reaction = by_id["AC77E1D2C3B4A5968778695A4B3C2D1E"]
    assert reaction["messageType"] == "OTHER"
    assert reaction["metadata"] == {
        "kind": "reaction",
        "emoji": "👍",
        "targetMessageId": "3EB0F92CAB0D0C54F4DC65",
    }
    from_phone = by_id["3AE99D6A1DBF3F9A0578"]
    assert from_phone["fromMe"] and from_phone["status"] == "SENT"
    echo = by_id["3EB0F92CAB0D0C54F4DC65"]
    assert echo["fromMe"] and echo["status"] == "SENT"  # never PENDING: not ours to send again
    # Our own messages never rename the contact ("Acme Atendimento", "Você").
    assert contact["name"] == "Maria Souza"
    assert contact["unreadCount"] == 6  # incoming, not counting our own


async def test_duplicates_store_one_row(gql, pg, instance, secret):
    payload = load_payload("messages_upsert_text")
    for suffix in (None, None, "messages-upsert"):
        response = await post_webhook(gql.http, payload, secret, suffix=suffix)
        assert response.status_code == 200
    # The same message again in a different envelope (a second replica, a retry with new time).
    payload["date_time"] = "2025-11-21T10:25:09.000Z"
    assert (await post_webhook(gql.http, payload, secret)).status_code == 200
    await processed(pg)
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_messages") == 1
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_contacts") == 1


async def test_receipts_move_forward_only_in_any_order(gql, pg, instance, secret):
    # The read receipt arrives first, before the message it is about, then the delivery.
    await deliver(
        gql,
        pg,
        secret,
        "messages_update_read",
        "send_message",
        "messages_update_delivered",
        "messages_update_read",
    )
    contact = await only_contact(gql, instance)
    [message] = await messages(gql, contact["id"])
    assert message["status"] == "READ"
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_message_receipts") == 0


async def test_delete_marks_the_message_and_keeps_it(gql, pg, instance, secret):
    await deliver(gql, pg, secret, "messages_upsert_text")
    payload = load_payload("messages_upsert_text")
    payload["event"] = "messages.delete"
    payload["data"] = {**payload["data"]["key"], "status": "DELETED"}
    assert (await post_webhook(gql.http, payload, secret)).status_code == 200
    await processed(pg)
    [message] = await messages(gql, (await only_contact(gql, instance))["id"])
    assert message["deleted"] is True and message["textContent"]


async def test_groups_are_ignored_by_default_and_stored_when_enabled(gql, pg, instance, secret):
    await deliver(gql, pg, secret, "messages_upsert_group")
    assert await contacts(gql, instance) == []
    await pg.execute("UPDATE whatsapp_instance_settings SET ignore_groups = false")
    payload = load_payload("messages_upsert_group")
    payload["date_time"] = "later"  # a new delivery, not a duplicate body
    assert (await post_webhook(gql.http, payload, secret)).status_code == 200
    await processed(pg)
    group = await only_contact(gql, instance)
    assert group["isGroup"] and group["phoneNumber"] is None and group["name"] is None
    [message] = await messages(gql, group["id"])
    assert message["senderName"] == "Bruna Costa"


async def test_lid_contact_is_merged_when_the_phone_becomes_known(gql, pg, instance, secret):
    lid_only = load_payload("messages_upsert_text")
    lid_only["data"]["key"] = {
        "remoteJid": "184467440737095@lid",
        "fromMe": False,
        "id": "LIDFIRST0001",
        "addressingMode": "lid",
    }
    assert (await post_webhook(gql.http, lid_only, secret)).status_code == 200
    await processed(pg)
    first = await only_contact(gql, instance)
    assert first["phoneNumber"] is None and first["remoteJid"] == "184467440737095@lid"

    # The next message names both identities (phone JID with the LID as remoteJidAlt).
    await deliver(gql, pg, secret, "messages_upsert_text")
    merged = await only_contact(gql, instance)
    assert merged["phoneNumber"] == "5511999990002"
    assert len(await messages(gql, merged["id"])) == 2


async def test_contacts_events_object_and_array(gql, pg, instance, secret):
    await deliver(gql, pg, secret, "contacts_upsert_array", "contacts_update")
    [contact] = await contacts(gql, instance)  # the LID-only entry is not a new contact
    assert contact["name"] == "Maria Souza"
    assert contact["profilePictureUrl"].startswith("https://pps.whatsapp.net/")


async def test_search_by_name_and_by_phone_in_any_format(gql, pg, instance, secret):
    await deliver(gql, pg, secret, "messages_upsert_text", "messages_upsert_text_lid")
    assert [c["name"] for c in await contacts(gql, instance, "mari")] == ["Maria Souza"]
    for typed in ("99999-0003", "(11) 99999-0003", "+55 11 99999 0003"):
        assert [c["name"] for c in await contacts(gql, instance, typed)] == ["Bruna Costa"]
    assert await contacts(gql, instance, "zzz") == []


async def test_lifecycle_events_update_the_instance(gql, pg, instance, secret):
    query = (
        "query($id: ID!) { instance(id: $id) { status phoneNumber profileName qrCode "
        "statusReason statusDetail lastSeenAt } }"
    )
    variables = {"id": str(instance["id"])}
    await deliver(gql, pg, secret, "qrcode_updated")
    data = (await gql(query, variables))["instance"]
    assert data["status"] == "QR_CODE" and data["qrCode"].startswith("data:image/png;base64,")
    await deliver(gql, pg, secret, "connection_update_open")
    data = (await gql(query, variables))["instance"]
    assert (data["status"], data["phoneNumber"], data["profileName"], data["qrCode"]) == (
        "CONNECTED",
        "5511999990001",
        "Acme Atendimento",
        None,
    )
    assert data["lastSeenAt"] is not None
    await deliver(gql, pg, secret, "connection_update_close")
    data = (await gql(query, variables))["instance"]
    assert (data["status"], data["statusReason"]) == ("DISCONNECTED", 401)


@pytest.mark.parametrize("own_url", [True, False], ids=["own-url", "shared-url"])
@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"secret": "wrong"}, 401),
        ({"secret": None}, 401),
        ({"apikey": "not-the-token"}, 401),
        ({"instance": "someone-else"}, 401),  # with acme-support's secret
        # Correctly signed for a number we do not have: one of ours, deleted (its trailing
        # deliveries): answered 200 so Evolution logs no failure, and stored nowhere.
        ({"instance": "someone-else", "secret_of": "someone-else"}, 200),
        ({"body": b"{not json"}, 400),
        ({"body": b"[]"}, 400),
        # Evolution retries 415 and 413; what we never accept gets 400 or 422, which it does not.
        ({"content_type": "text/plain"}, 400),
        ({"suffix": "connection-update"}, 400),
    ],
)
async def test_refused_webhooks_store_nothing(
    gql, pg, vault, instance, secret, change, status, own_url
):
    name = change.get("instance", "acme-support")
    payload = load_payload(
        "messages_upsert_text", instance_name=name, token=change.get("apikey", TOKEN)
    )
    body = change.get("body", json.dumps(payload).encode())
    if "secret_of" in change:
        secret = vault.webhook_secret(change["secret_of"])
    response = await post_webhook(
        gql.http,
        body,
        change.get("secret", secret),
        suffix=change.get("suffix"),
        headers={"content-type": change["content_type"]} if "content_type" in change else None,
        instance=name if own_url else None,
    )
    assert response.status_code == status, response.text
    assert await pg.fetchval("SELECT count(*) FROM webhook_events") == 0


async def test_own_url_refuses_a_body_naming_another_instance(gql, pg, instance, secret):
    payload = load_payload("messages_upsert_text", instance_name="someone-else")
    response = await post_webhook(gql.http, payload, secret, instance="acme-support")
    assert response.status_code == 400 and "another instance" in response.json()["error"]
    assert await pg.fetchval("SELECT count(*) FROM webhook_events") == 0


@pytest.mark.parametrize("suffix", [None, "messages-upsert"])
async def test_own_url_accepts_real_payloads(gql, pg, instance, secret, suffix):
    response = await post_webhook(
        gql.http,
        load_payload("messages_upsert_text"),
        secret,
        suffix=suffix,
        instance="acme-support",
    )
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    await processed(pg)
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_messages") == 1


async def test_events_we_do_not_use_are_acknowledged_and_not_stored(gql, pg, instance, secret):
    for name in ("call", "groups_upsert"):
        response = await post_webhook(gql.http, load_payload(name), secret)
        assert response.status_code == 200 and response.json() == {"status": "ignored"}
    assert await pg.fetchval("SELECT count(*) FROM webhook_events") == 0


async def test_webhook_without_apikey_is_accepted_with_the_secret(gql, pg, instance, secret):
    # Evolution sends apikey null unless AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES is on.
    payload = load_payload("messages_upsert_text", token=None)
    assert (await post_webhook(gql.http, payload, secret)).status_code == 200
    await processed(pg)
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_messages") == 1
