"""Messages of the same second: WhatsApp's timestamps have whole seconds, so ties are broken by
the order the messages reached us, everywhere (pages, cursors, lastMessage, the contact list,
live events)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from services.platform.waiting import in_own_task
from services.webhooks.processor import WebhookProcessor
from tests.helpers import (
    GraphQLClient,
    Subscription,
    create_instance_row,
    load_payload,
    post_webhook,
    wait_for,
)

SECOND = 1763731503
MESSAGE_EVENTS = """
subscription($instanceId: ID!, $afterSeq: String) {
  messageEvents(instanceId: $instanceId, afterSeq: $afterSeq) { seq message { textContent } }
}"""
CONTACT_EVENTS = """
subscription($instanceId: ID!, $afterSeq: String) {
  contactEvents(instanceId: $instanceId, afterSeq: $afterSeq) {
    seq contact { lastMessage { textContent } }
  }
}"""
PAGE = """
query($contactId: ID!, $first: Int, $after: String) {
  messages(contactId: $contactId, first: $first, after: $after) {
    edges { cursor node { textContent } }
    pageInfo { hasNextPage endCursor }
  }
}"""
CONTACTS = """
query($instanceId: ID!, $first: Int, $after: String) {
  contacts(instanceId: $instanceId, first: $first, after: $after) {
    edges { node { name lastMessage { textContent } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def message(text: str, phone: str = "5511999990002", name: str = "Maria Souza") -> dict[str, Any]:
    payload = load_payload("messages_upsert_text")
    data = payload["data"]
    # Random ids: nothing about them may decide the order.
    data["key"] = {
        "remoteJid": f"{phone}@s.whatsapp.net",
        "fromMe": False,
        "id": uuid.uuid4().hex.upper(),
    }
    data["pushName"] = name
    data["message"] = {"conversation": text}
    data["messageTimestamp"] = SECOND
    return payload


async def page_texts(
    gql: GraphQLClient, contact_id: str, first: int, after: str | None = None
) -> tuple[list[str], dict[str, Any]]:
    page = (await gql(PAGE, {"contactId": contact_id, "first": first, "after": after}))["messages"]
    return [e["node"]["textContent"] for e in page["edges"]], page["pageInfo"]


async def test_a_burst_within_one_second_keeps_arrival_order_everywhere(
    server, gql, pg, vault, admin_token
):
    instance = await create_instance_row(pg, vault)
    secret = vault.webhook_secret("acme-support")
    variables = {"instanceId": str(instance["id"]), "afterSeq": "0"}
    texts = [f"m{i}" for i in range(1, 9)]
    async with (
        Subscription.connect(server.ws_url, admin_token) as messages_ws,
        Subscription.connect(server.ws_url, admin_token) as contacts_ws,
    ):
        await messages_ws.subscribe(MESSAGE_EVENTS, variables)
        await contacts_ws.subscribe(CONTACT_EVENTS, variables)
        for text in texts:
            assert (await post_webhook(gql.http, message(text), secret)).status_code == 200
        live = [(await messages_ws.next_data())["messageEvents"] for _ in texts]
        contact_events: list[dict[str, Any]] = []
        while (
            not contact_events
            or contact_events[-1]["contact"]["lastMessage"] is None
            or contact_events[-1]["contact"]["lastMessage"]["textContent"] != "m8"
        ):
            contact_events.append((await contacts_ws.next_data())["contactEvents"])

    assert [e["message"]["textContent"] for e in live] == texts
    # Each contact event carries the contact as it is when delivered: its last message may be
    # a later one, never an older one than the event before named.
    named = [
        texts.index(e["contact"]["lastMessage"]["textContent"])
        for e in contact_events
        if e["contact"]["lastMessage"]
    ]
    assert named == sorted(named)

    contact_id = str(await pg.fetchval("SELECT id FROM whatsapp_contacts"))
    first, info = await page_texts(gql, contact_id, 3)
    assert first == ["m8", "m7", "m6"]
    # New messages of the same second arrive between two pages: the next page goes on where
    # the first stopped, nothing repeated, nothing skipped.
    for text in ("m9", "m10"):
        assert (await post_webhook(gql.http, message(text), secret)).status_code == 200

    async def stored() -> bool:
        return int(await pg.fetchval("SELECT count(*) FROM whatsapp_messages")) == 10

    await wait_for(stored)
    second, info = await page_texts(gql, contact_id, 3, info["endCursor"])
    assert second == ["m5", "m4", "m3"]
    third, info = await page_texts(gql, contact_id, 3, info["endCursor"])
    assert third == ["m2", "m1"] and info["hasNextPage"] is False
    newest, _ = await page_texts(gql, contact_id, 3)
    assert newest == ["m10", "m9", "m8"]
    contact = await gql(
        "query($id: ID!) { contact(id: $id) { lastMessage { textContent } } }", {"id": contact_id}
    )
    assert contact["contact"]["lastMessage"]["textContent"] == "m10"


class TestOneBatch:
    @pytest.fixture
    def settings(self, settings):
        return settings.with_overrides(workers_enabled=False)  # the test drains by itself

    async def test_messages_stored_together_keep_arrival_order_and_the_list_follows(
        self, server, gql, pg, vault
    ):
        """One processor batch stores most of these with one statement (the contacts exist after
        the first of each): their order within it is the order they arrived in."""
        instance = await create_instance_row(pg, vault)
        secret = vault.webhook_secret("acme-support")
        ana, bia = ("5511999990002", "Ana"), ("5511999990003", "Bia")
        sent = [
            ("a1", ana),
            ("b1", bia),
            ("a2", ana),
            ("b2", bia),
            ("a3", ana),
            ("a4", ana),
            ("b3", bia),
            ("a5", ana),
        ]
        async with httpx.AsyncClient(base_url=server.url) as http:
            for text, (phone, name) in sent:
                response = await post_webhook(http, message(text, phone, name), secret)
                assert response.status_code == 200
            assert await in_own_task(WebhookProcessor(server.runtime).drain()) == len(sent)

            stored = await pg.fetch("SELECT text_content FROM whatsapp_messages ORDER BY arrival")
            assert [r["text_content"] for r in stored] == [text for text, _ in sent]
            contacts = (await gql(CONTACTS, {"instanceId": str(instance["id"])}))["contacts"]
            assert [
                (e["node"]["name"], e["node"]["lastMessage"]["textContent"])
                for e in contacts["edges"]
            ] == [("Ana", "a5"), ("Bia", "b3")]

            # Bia writes again in the same second: hers is now the newest conversation, and a
            # page of one contact goes on to the other.
            assert (await post_webhook(http, message("b4", *bia), secret)).status_code == 200
            assert await in_own_task(WebhookProcessor(server.runtime).drain()) == 1
        page = (await gql(CONTACTS, {"instanceId": str(instance["id"]), "first": 1}))["contacts"]
        assert [e["node"]["name"] for e in page["edges"]] == ["Bia"]
        rest = (
            await gql(
                CONTACTS,
                {
                    "instanceId": str(instance["id"]),
                    "first": 1,
                    "after": page["pageInfo"]["endCursor"],
                },
            )
        )["contacts"]
        assert [e["node"]["name"] for e in rest["edges"]] == ["Ana"]
        assert rest["pageInfo"]["hasNextPage"] is False
        ana_id = await pg.fetchval("SELECT id FROM whatsapp_contacts WHERE name = 'Ana'")
        texts, _ = await page_texts(gql, str(ana_id), 10)
        assert texts == ["a5", "a4", "a3", "a2", "a1"]

    async def test_a_customer_message_of_the_second_of_our_reply_comes_after_it(
        self, server, gql, pg, vault
    ):
        """Our reply is stored when it is queued, to the whole second as WhatsApp's times are:
        a customer's message of that second that reaches us later is the newer one."""
        instance = await create_instance_row(pg, vault)
        secret = vault.webhook_secret("acme-support")
        async with httpx.AsyncClient(base_url=server.url) as http:
            assert (await post_webhook(http, message("pergunta"), secret)).status_code == 200
            assert await in_own_task(WebhookProcessor(server.runtime).drain()) == 1
            contact_id = str(await pg.fetchval("SELECT id FROM whatsapp_contacts"))
            reply = {"instanceId": str(instance["id"]), "contactId": contact_id}
            sent = await gql(
                "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }",
                {"input": {**reply, "textContent": "resposta"}},
            )
            at = await pg.fetchval(
                "SELECT timestamp FROM whatsapp_messages WHERE id = $1",
                uuid.UUID(sent["sendMessage"]["id"]),
            )
            assert at.microsecond == 0
            late = message("mais uma coisa")
            late["data"]["messageTimestamp"] = int(at.timestamp())
            assert (await post_webhook(http, late, secret)).status_code == 200
            assert await in_own_task(WebhookProcessor(server.runtime).drain()) == 1
        texts, _ = await page_texts(gql, contact_id, 10)
        assert texts[:2] == ["mais uma coisa", "resposta"]
        contacts = (await gql(CONTACTS, {"instanceId": str(instance["id"])}))["contacts"]
        assert contacts["edges"][0]["node"]["lastMessage"]["textContent"] == "mais uma coisa"


async def test_a_message_arriving_after_the_read_mark_is_unread_whatever_its_time(
    server, gql, pg, vault
):
    """The mark is set within the second of the last message, and then come one more of that
    second and one a phone delivers late (an older time): both are unread."""
    instance = await create_instance_row(pg, vault)
    secret = vault.webhook_secret("acme-support")

    async def deliver(text: str, at: int) -> None:
        payload = message(text)
        payload["data"]["messageTimestamp"] = at
        assert (await post_webhook(gql.http, payload, secret)).status_code == 200

        async def stored() -> bool:
            return bool(
                await pg.fetchval(
                    "SELECT count(*) FROM whatsapp_messages WHERE text_content = $1", text
                )
            )

        await wait_for(stored)

    await deliver("first", SECOND)
    contact_id = str(await pg.fetchval("SELECT id FROM whatsapp_contacts"))
    read = await gql(
        "mutation($c: ID!) { markContactRead(contactId: $c) { unreadCount } }", {"c": contact_id}
    )
    assert read["markContactRead"]["unreadCount"] == 0
    await deliver("same second", SECOND)
    await deliver("delivered late", SECOND - 600)
    unread = """query($c: ID!, $i: ID!) { contact(id: $c) { unreadCount }
                 contacts(instanceId: $i) { edges { node { unreadCount } } } }"""
    data = await gql(unread, {"c": contact_id, "i": str(instance["id"])})
    assert data["contact"]["unreadCount"] == 2
    assert data["contacts"]["edges"][0]["node"]["unreadCount"] == 2
