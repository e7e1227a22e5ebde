"""Atendimento rules: contacts ↔ clients, quick messages with variables, business hours and
the auto-reply, end to end through webhooks, GraphQL and the Evolution stand-in."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from tests.helpers import GraphQLClient, create_instance_row, load_payload, post_webhook, wait_for
from tests.standin.evolution import EvolutionStandIn

CONTACT = """query($id: ID!) { contact(id: $id) { id name contactType clientMatchAmbiguous
  client { name phone } interactions { incomingCount outgoingCount lastAutoReplyAt } } }"""
UPDATE = """mutation($id: ID!, $input: UpdateContactInput!) { updateContact(id: $id, input: $input)
  { name contactType client { id name } } }"""
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


@pytest.fixture
async def instance(pg, vault, evolution):
    row = await create_instance_row(pg, vault, token="TOKEN")
    evolution.add_instance("acme-support", token="TOKEN", state="open")
    return row


def incoming(
    number: str = "5511999990002",
    message_id: str | None = None,
    text: str = "Oi",
    push_name: str = "Maria Souza",
    **key: Any,
) -> dict[str, Any]:
    payload = load_payload("messages_upsert_text", token="TOKEN")
    data = payload["data"]
    data["key"] = {
        "remoteJid": f"{number}@s.whatsapp.net",
        "fromMe": False,
        "id": message_id or uuid.uuid4().hex.upper(),
        **key,
    }
    data["pushName"] = push_name
    data["message"] = {"conversation": text}
    data["messageTimestamp"] = int(time.time())
    return payload


async def deliver(
    gql: GraphQLClient, pg: asyncpg.Connection, secret: str, *payloads: dict[str, Any]
) -> None:
    for payload in payloads:
        assert (await post_webhook(gql.http, payload, secret)).status_code == 200

    async def done() -> bool:
        unfinished: int = await pg.fetchval(
            "SELECT count(*) FROM webhook_events WHERE status <> 'done'"
        )
        return unfinished == 0

    await wait_for(done)


async def contact_id(pg: asyncpg.Connection, number: str = "5511999990002") -> str:
    return str(
        await pg.fetchval("SELECT id FROM whatsapp_contacts WHERE phone_number = $1", number)
    )


async def add_client(
    pg: asyncpg.Connection, name: str, phone: str, document: str | None = None
) -> uuid.UUID:
    from services.common.phones import normalize_phone, phone_key

    digits = normalize_phone(phone)
    client_id: uuid.UUID = await pg.fetchval(
        "INSERT INTO clients (name, phone, phone_key, document) VALUES ($1, $2, $3, $4) "
        "RETURNING id",
        name,
        phone,
        phone_key(digits) if digits else None,
        document,
    )
    return client_id


async def test_new_contact_is_linked_to_the_client_with_that_phone(gql, pg, instance, secret):
    await add_client(pg, "Maria Souza Ltda", "(11) 99999-0002")
    # WhatsApp knows this Belo Horizonte mobile without its ninth digit; the client has it.
    await add_client(pg, "Carlos BH", "+55 31 98888-7777")
    await deliver(gql, pg, secret, incoming(), incoming("553188887777", push_name="Carlos"))
    maria = (await gql(CONTACT, {"id": await contact_id(pg)}))["contact"]
    assert maria["contactType"] == "CLIENTE" and maria["client"]["name"] == "Maria Souza Ltda"
    carlos = (await gql(CONTACT, {"id": await contact_id(pg, "553188887777")}))["contact"]
    assert carlos["client"]["name"] == "Carlos BH"


async def test_two_clients_with_one_phone_are_not_guessed(gql, pg, instance, secret):
    await add_client(pg, "Maria A", "11999990002")
    await add_client(pg, "Maria B", "+55 (11) 99999-0002")
    await deliver(gql, pg, secret, incoming())
    contact = (await gql(CONTACT, {"id": await contact_id(pg)}))["contact"]
    assert contact["client"] is None and contact["clientMatchAmbiguous"] is True
    assert contact["contactType"] == "UNKNOWN"


async def test_agent_name_survives_push_names_and_can_be_reset(gql, pg, instance, secret):
    await deliver(gql, pg, secret, incoming())
    cid = await contact_id(pg)
    renamed = (
        await gql(
            UPDATE, {"id": cid, "input": {"name": "Dona Maria (síndica)", "contactType": "LEAD"}}
        )
    )["updateContact"]
    assert renamed["name"] == "Dona Maria (síndica)" and renamed["contactType"] == "LEAD"
    await deliver(gql, pg, secret, incoming(push_name="Maria S."))
    assert (await gql(CONTACT, {"id": cid}))["contact"]["name"] == "Dona Maria (síndica)"
    reset = (await gql(UPDATE, {"id": cid, "input": {"name": None}}))["updateContact"]
    assert reset["name"] == "Maria S."


async def test_link_unlink_and_create_client_from_contact(gql, pg, instance, secret):
    await deliver(gql, pg, secret, incoming())
    cid = await contact_id(pg)
    error = await gql.error(UPDATE, {"id": cid, "input": {"clientId": str(uuid.uuid4())}})
    assert error.codes == ["BAD_USER_INPUT"]
    assert error.errors[0]["extensions"]["field"] == "clientId"

    created = (
        await gql(
            """mutation($c: ID!) { createClientFromContact(contactId: $c,
        input: {document: "123.456.789-00", email: "maria@example.com"}) {
        contactType client { id name phone } } }""",
            {"c": cid},
        )
    )["createClientFromContact"]
    assert created["contactType"] == "CLIENTE"
    assert created["client"]["name"] == "Maria Souza"
    assert created["client"]["phone"] == "5511999990002"
    for term in ("souza", "99999-0002", "12345678900"):
        found = (
            await gql(
                "query($s: String) { clients(search: $s) { edges { node { id } } } }", {"s": term}
            )
        )["clients"]["edges"]
        assert [e["node"]["id"] for e in found] == [created["client"]["id"]], term

    unlinked = (await gql(UPDATE, {"id": cid, "input": {"clientId": None}}))["updateContact"]
    assert unlinked["client"] is None and unlinked["contactType"] == "UNKNOWN"


async def test_clients_are_paginated_by_name(gql, pg):
    for name in ("Ana", "Bruno", "Carla", "Davi", "Eva"):
        await add_client(pg, name, "")
    query = (
        "query($a: String) { clients(first: 2, after: $a) { edges { node { name } } "
        "pageInfo { hasNextPage endCursor } } }"
    )
    names, after = [], None
    while True:
        page = (await gql(query, {"a": after}))["clients"]
        names += [e["node"]["name"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert names == ["Ana", "Bruno", "Carla", "Davi", "Eva"]


async def test_quick_messages_crud_and_validation(gql, agent_token):
    create = """mutation($s: String!, $t: String!) { createQuickMessage(input: {shortcut: $s,
        messageText: $t}) { id shortcut } }"""
    made = (await gql(create, {"s": "/Boleto", "t": "Segue o boleto."}))["createQuickMessage"]
    assert made["shortcut"] == "boleto"
    await gql(create, {"s": "bom-dia", "t": "{saudacao}!"})
    assert (await gql.error(create, {"s": "boleto", "t": "x"})).codes == ["CONFLICT"]
    for shortcut, text, field in (
        ("com espaço", "x", "shortcut"),
        ("x" * 33, "x", "shortcut"),
        ("", "x", "shortcut"),
        ("ok", "   ", "messageText"),
    ):
        error = await gql.error(create, {"s": shortcut, "t": text})
        assert error.codes == ["BAD_USER_INPUT"]
        assert error.errors[0]["extensions"]["field"] == field
    assert (await gql.error(create, {"s": "agente", "t": "x"}, token=agent_token)).codes == [
        "FORBIDDEN"
    ]

    search = "query($q: String) { quickMessages(search: $q) { shortcut } }"
    assert [q["shortcut"] for q in (await gql(search, {"q": "/bo"}))["quickMessages"]] == [
        "boleto",
        "bom-dia",
    ]
    assert [q["shortcut"] for q in (await gql(search, {"q": "segue"}))["quickMessages"]] == [
        "boleto"
    ]
    updated = (
        await gql(
            """mutation($id: ID!) { updateQuickMessage(id: $id,
        input: {messageText: "Segue o boleto atualizado."}) { messageText shortcut } }""",
            {"id": made["id"]},
        )
    )["updateQuickMessage"]
    assert updated == {"messageText": "Segue o boleto atualizado.", "shortcut": "boleto"}
    await gql("mutation($id: ID!) { deleteQuickMessage(id: $id) }", {"id": made["id"]})
    assert [q["shortcut"] for q in (await gql(search, {"q": None}))["quickMessages"]] == ["bom-dia"]


async def test_every_variable_is_rendered(gql, pg, instance, secret, admin_token):
    await deliver(gql, pg, secret, incoming())
    cid = await contact_id(pg)
    await gql(
        """mutation { createQuickMessage(input: {shortcut: "tudo", messageText:
        "{saudacao}, {primeiro_nome}! {nome_cliente} | {telefone} | {data} {hora} | """
        """{atendente} | {desconhecida}"
        }) { id } }"""
    )
    rendered = (
        await gql(
            'query($c: ID!) { renderQuickMessage(shortcut: "/tudo", contactId: $c) }', {"c": cid}
        )
    )["renderQuickMessage"]
    now = datetime.now(UTC).astimezone(ZoneInfo("America/Sao_Paulo"))
    greeting = (
        "Bom dia" if 5 <= now.hour < 12 else "Boa tarde" if 12 <= now.hour < 18 else "Boa noite"
    )
    assert rendered.startswith(f"{greeting}, Maria! Maria Souza | +55 11 99999-0002 | ")
    assert now.strftime("%d/%m/%Y") in rendered
    assert rendered.endswith("| Ana Admin | {desconhecida}")


def closed_now_schedule() -> dict[str, Any]:
    """Open only on a day that is not today (in São Paulo), so it is closed now."""
    today = datetime.now(ZoneInfo("America/Sao_Paulo")).weekday()
    other = WEEKDAYS[(today + 3) % 7]
    return {other: {"enabled": True, "start": "08:00", "end": "18:00"}}


async def enable_auto_reply(
    pg: asyncpg.Connection, schedule: dict[str, Any], cooldown: int = 720
) -> None:
    import json

    await pg.execute(
        "UPDATE whatsapp_instance_settings SET auto_reply_enabled = true, auto_reply_message = "
        "'Olá {primeiro_nome}, voltamos às 8h.', availability_schedule = $1, "
        "auto_reply_cooldown_minutes = $2",
        json.dumps(schedule),
        cooldown,
    )


async def sent_texts(evolution: EvolutionStandIn) -> list[str]:
    return [m.request["text"] for m in evolution.sent]


async def test_auto_reply_outside_hours_once_per_cooldown(gql, pg, instance, secret, evolution):
    await enable_auto_reply(pg, closed_now_schedule())
    first = incoming(message_id="FIRST")
    await deliver(gql, pg, secret, first, first, incoming(message_id="SECOND"))
    await wait_for(lambda: evolution.sent)
    assert await sent_texts(evolution) == ["Olá Maria, voltamos às 8h."]
    log = await pg.fetch("SELECT * FROM whatsapp_auto_reply_log")
    assert len(log) == 1 and log[0]["message_sent"] == "Olá Maria, voltamos às 8h."
    contact = (await gql(CONTACT, {"id": await contact_id(pg)}))["contact"]
    assert contact["interactions"]["lastAutoReplyAt"] is not None
    assert contact["interactions"]["incomingCount"] == 2
    assert contact["interactions"]["outgoingCount"] == 1

    # The cooldown is over (12 h later): the next message gets a reply again.
    await pg.execute("UPDATE whatsapp_auto_reply_log SET sent_at = sent_at - interval '13 hours'")
    await deliver(gql, pg, secret, incoming(message_id="THIRD"))
    await wait_for(lambda: len(evolution.sent) == 2)
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_auto_reply_log") == 2


async def test_no_auto_reply_within_hours_or_to_groups_or_our_own(
    gql, pg, instance, secret, evolution
):
    everyday = {day: {"enabled": True, "start": "00:00", "end": "24:00"} for day in WEEKDAYS}
    await enable_auto_reply(pg, everyday)
    await deliver(gql, pg, secret, incoming(message_id="OPEN"))
    await enable_auto_reply(pg, closed_now_schedule())
    await pg.execute("UPDATE whatsapp_instance_settings SET ignore_groups = false")
    group = load_payload("messages_upsert_group", token="TOKEN")
    group["data"]["messageTimestamp"] = int(time.time())
    own = incoming(message_id="OWN", fromMe=True)
    await deliver(gql, pg, secret, group, own)
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_auto_reply_log") == 0
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_messages WHERE status = 'pending'") == 0


async def test_an_old_message_delivered_late_gets_no_auto_reply(gql, pg, instance, secret):
    await enable_auto_reply(pg, closed_now_schedule())
    late = incoming(message_id="LATE")
    late["data"]["messageTimestamp"] = int((datetime.now(UTC) - timedelta(hours=3)).timestamp())
    await deliver(gql, pg, secret, late)
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_auto_reply_log") == 0


async def test_availability_query(gql, pg, instance):
    await enable_auto_reply(pg, closed_now_schedule())
    data = (
        await gql(
            "query($i: ID!) { availability(instanceId: $i) { isAvailableNow "
            "nextAvailableAt timezone } }",
            {"i": str(instance["id"])},
        )
    )["availability"]
    assert data["isAvailableNow"] is False and data["timezone"] == "America/Sao_Paulo"
    assert datetime.fromisoformat(data["nextAvailableAt"]) > datetime.now(UTC)
