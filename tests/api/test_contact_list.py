"""The contact list: unread counts per viewer and last messages read with the page, searches by
name and by phone fragment, and the same answers as the single-contact query."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from resolvers.loaders import Loaders
from tests.helpers import GraphQLClient, create_instance_row

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

LIST = """
query($instanceId: ID!, $search: String, $first: Int, $after: String) {
  contacts(instanceId: $instanceId, search: $search, first: $first, after: $after) {
    edges { cursor node { id name phoneNumber unreadCount
                          lastMessage { id textContent fromMe deleted timestamp } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
ONE = """
query($id: ID!) {
  contact(id: $id) { id name phoneNumber unreadCount
                     lastMessage { id textContent fromMe deleted timestamp } }
}"""


@pytest.fixture
async def conversations(pg, vault, admin_id, agent_id):
    """Three contacts of one number, seen by the admin and by an agent who is a member.

    Maria Silva wrote twice, got an answer, reacted and deleted a message; the agent read up
    to the answer, the admin never. Ana Mendes wrote once; the admin read it, the agent not.
    João Souza never wrote (address-book contact)."""
    instance = await create_instance_row(pg, vault, members=[agent_id])
    await pg.execute(
        "INSERT INTO profiles (id, role) VALUES ($1, 'admin') ON CONFLICT DO NOTHING", admin_id
    )

    async def contact(name: str, phone: str, last_at: datetime | None) -> uuid.UUID:
        return await pg.fetchval(  # type: ignore[no-any-return]
            "INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number, name, "
            "last_message_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            instance["id"],
            f"{phone}@s.whatsapp.net",
            phone,
            name,
            last_at,
        )

    async def message(
        contact_id: uuid.UUID,
        key: str,
        at: datetime,
        *,
        from_me: bool = False,
        deleted: bool = False,
        kind: str | None = None,
    ) -> uuid.UUID:
        return await pg.fetchval(  # type: ignore[no-any-return]
            "INSERT INTO whatsapp_messages (instance_id, contact_id, message_id, remote_jid, "
            "from_me, message_type, text_content, status, timestamp, deleted_at, metadata) "
            "VALUES ($1, $2, $3, 'x@s.whatsapp.net', $4, 'text', $3, 'delivered', $5, $6, "
            "$7::jsonb) RETURNING id",
            instance["id"],
            contact_id,
            key,
            from_me,
            at,
            at if deleted else None,
            json.dumps({"kind": kind}) if kind else None,
        )

    async def read(profile_id: uuid.UUID, contact_id: uuid.UUID, at: datetime) -> None:
        # As markContactRead leaves it at `at`: past every message that had arrived by then.
        await pg.execute(
            "INSERT INTO whatsapp_contact_reads (profile_id, contact_id, read_at, read_arrival) "
            "SELECT $1, $2, $3, COALESCE(max(arrival), 0) FROM whatsapp_messages "
            "WHERE contact_id = $2 AND timestamp <= $3",
            profile_id,
            contact_id,
            at,
        )

    maria = await contact("Maria Silva", "5511999990001", T0 + timedelta(minutes=5))
    ana = await contact("Ana Mendes", "5521988887777", T0 + timedelta(minutes=3))
    joao = await contact("João Souza", "5531977776666", None)
    await message(maria, "m-in-1", T0)
    await message(maria, "m-out-1", T0 + timedelta(minutes=1), from_me=True)
    await message(maria, "m-in-2", T0 + timedelta(minutes=2))
    await message(maria, "m-reaction", T0 + timedelta(minutes=5), kind="reaction")
    maria_last = await message(maria, "m-deleted", T0 + timedelta(minutes=4), deleted=True)
    ana_last = await message(ana, "a-in-1", T0 + timedelta(minutes=3))
    await read(agent_id, maria, T0 + timedelta(minutes=1))
    await read(admin_id, ana, T0 + timedelta(minutes=10))
    return {
        "instance": str(instance["id"]),
        "maria": str(maria),
        "ana": str(ana),
        "joao": str(joao),
        "maria_last": str(maria_last),
        "ana_last": str(ana_last),
    }


async def listed(
    gql: GraphQLClient, instance: str, token: str | None = None, **variables: Any
) -> list[dict[str, Any]]:
    data = await gql(LIST, {"instanceId": instance, **variables}, token=token)
    return [edge["node"] for edge in data["contacts"]["edges"]]


async def test_unread_counts_are_each_viewers_own(gql, conversations, agent_token):
    c = conversations
    as_admin = {n["name"]: n["unreadCount"] for n in await listed(gql, c["instance"])}
    as_agent = {
        n["name"]: n["unreadCount"] for n in await listed(gql, c["instance"], token=agent_token)
    }
    # Incoming, not deleted, not a reaction, after the viewer's own mark.
    assert as_admin == {"Maria Silva": 2, "Ana Mendes": 0, "João Souza": 0}
    assert as_agent == {"Maria Silva": 1, "Ana Mendes": 1, "João Souza": 0}


async def test_last_message_skips_reactions_and_is_null_without_messages(gql, conversations):
    c = conversations
    nodes = await listed(gql, c["instance"])
    assert [n["name"] for n in nodes] == ["Maria Silva", "Ana Mendes", "João Souza"]
    maria, ana, joao = nodes
    assert maria["lastMessage"]["id"] == c["maria_last"]
    assert maria["lastMessage"]["deleted"] is True  # a deleted message still ends the chat
    assert ana["lastMessage"] == {
        "id": c["ana_last"],
        "textContent": "a-in-1",
        "fromMe": False,
        "deleted": False,
        "timestamp": "2026-03-02T12:03:00.000Z",
    }
    assert joao["lastMessage"] is None and joao["unreadCount"] == 0


async def test_the_list_reads_both_fields_with_its_page(gql, conversations, monkeypatch):
    """No DataLoader (a future per contact and field, two more queries) for a listed contact."""

    def unused(self: Loaders) -> None:
        raise AssertionError("a listed contact asked a DataLoader")

    monkeypatch.setattr(Loaders, "unread_count", property(unused))
    monkeypatch.setattr(Loaders, "last_message", property(unused))
    nodes = await listed(gql, conversations["instance"])
    assert [
        (n["unreadCount"], n["lastMessage"] and n["lastMessage"]["textContent"]) for n in nodes
    ] == [(2, "m-deleted"), (0, "a-in-1"), (0, None)]


@pytest.mark.parametrize("viewer", ["admin", "agent"])
async def test_the_list_answers_as_the_single_contact_query(
    gql, conversations, viewer, admin_token, agent_token
):
    """The list reads both fields with its page, one contact through the DataLoaders."""
    token = admin_token if viewer == "admin" else agent_token
    c = conversations
    for node in await listed(gql, c["instance"], token=token):
        one = (await gql(ONE, {"id": node["id"]}, token=token))["contact"]
        assert one == node


async def test_fields_asked_through_fragments_aliases_or_alone(gql, conversations, agent_token):
    c = conversations
    query = """
    fragment Counts on Contact { unread: unreadCount }
    query($instanceId: ID!) {
      contacts(instanceId: $instanceId) {
        edges { node { name ...Counts ... on Contact { last: lastMessage { textContent } } } }
      }
      onlyLast: contacts(instanceId: $instanceId) { edges { node { lastMessage { id } } } }
      onlyUnread: contacts(instanceId: $instanceId) { edges { node { unreadCount } } }
      neither: contacts(instanceId: $instanceId) { edges { node { name } } }
    }"""
    data = await gql(query, {"instanceId": c["instance"]}, token=agent_token)
    assert [
        (e["node"]["name"], e["node"]["unread"], e["node"]["last"])
        for e in data["contacts"]["edges"]
    ] == [
        ("Maria Silva", 1, {"textContent": "m-deleted"}),
        ("Ana Mendes", 1, {"textContent": "a-in-1"}),
        ("João Souza", 0, None),
    ]
    assert [
        e["node"]["lastMessage"] and e["node"]["lastMessage"]["id"]
        for e in data["onlyLast"]["edges"]
    ] == [c["maria_last"], c["ana_last"], None]
    assert [e["node"]["unreadCount"] for e in data["onlyUnread"]["edges"]] == [1, 1, 0]
    assert [e["node"]["name"] for e in data["neither"]["edges"]] == [
        "Maria Silva",
        "Ana Mendes",
        "João Souza",
    ]


@pytest.mark.parametrize(
    ("search", "names"),
    [
        ("silv", ["Maria Silva"]),
        ("SILVA", ["Maria Silva"]),
        (" mend ", ["Ana Mendes"]),
        ("a", ["Maria Silva", "Ana Mendes", "João Souza"]),
        ("zzqx", []),
        ("99999-0001", ["Maria Silva"]),  # a phone fragment, formatted
        ("(21) 98888", ["Ana Mendes"]),
        ("7777", ["Ana Mendes", "João Souza"]),  # both numbers hold it
        ("55", []),  # fewer than 3 digits search names only, never phone numbers
    ],
)
async def test_search_by_name_and_phone_fragments(gql, conversations, search, names):
    nodes = await listed(gql, conversations["instance"], search=search)
    assert [n["name"] for n in nodes] == names


async def test_search_results_keep_their_counts_and_page_on(gql, conversations, agent_token):
    c = conversations
    first = await gql(
        LIST, {"instanceId": c["instance"], "search": "a", "first": 2}, token=agent_token
    )
    page = first["contacts"]
    assert [e["node"]["name"] for e in page["edges"]] == ["Maria Silva", "Ana Mendes"]
    assert [e["node"]["unreadCount"] for e in page["edges"]] == [1, 1]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await gql(
        LIST,
        {
            "instanceId": c["instance"],
            "search": "a",
            "first": 2,
            "after": page["pageInfo"]["endCursor"],
        },
        token=agent_token,
    )
    [joao] = rest["contacts"]["edges"]
    assert joao["node"]["name"] == "João Souza" and joao["node"]["lastMessage"] is None
    assert rest["contacts"]["pageInfo"]["hasNextPage"] is False
    by_phone = await listed(gql, c["instance"], token=agent_token, search="5511 99999")
    assert [(n["name"], n["unreadCount"], n["lastMessage"]["id"]) for n in by_phone] == [
        ("Maria Silva", 1, c["maria_last"])
    ]
