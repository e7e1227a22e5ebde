"""`node(id:)` and `nodes(ids:)` through the GraphQL API: every type with an id is found by the
id it is shown with, answers as its own lookup does, and under the same access rules (what does
not exist and what is not yours answer null alike)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.helpers import GraphQLClient, create_instance_row

NODE = """
query($id: ID!) {
  node(id: $id) {
    __typename
    id
    ... on Contact { name phoneNumber unreadCount lastMessage { id textContent } }
    ... on Message { textContent contactId }
    ... on Instance { instanceName }
    ... on Profile { fullName role }
    ... on Client { clientName: name }
    ... on QuickMessage { shortcut }
  }
}"""
NODES = """
query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"""


@pytest.fixture
async def world(pg, vault, admin_id, agent_id, gql, agent_token):
    """Two numbers, the agent a member of the first only; a contact with a message on each; a
    colleague who shares the agent's number, an admin who shares none; a client and a quick
    message."""
    colleague, loner = uuid.uuid4(), uuid.uuid4()
    mine = await create_instance_row(pg, vault, name="mine", members=[agent_id, colleague])
    other = await create_instance_row(pg, vault, name="other")
    await pg.execute(
        "INSERT INTO profiles (id, role, full_name) VALUES ($1, 'admin', 'Loner') "
        "ON CONFLICT DO NOTHING",
        loner,
    )
    await pg.execute("UPDATE profiles SET full_name = 'Colleague' WHERE id = $1", colleague)
    await gql("{ viewer { id } }", token=agent_token)  # the agent's profile exists

    async def conversation(instance: uuid.UUID, phone: str) -> tuple[str, str]:
        contact = await pg.fetchval(
            "INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number, name) "
            "VALUES ($1, $2, $3, 'Maria') RETURNING id",
            instance,
            f"{phone}@s.whatsapp.net",
            phone,
        )
        message = await pg.fetchval(
            "INSERT INTO whatsapp_messages (instance_id, contact_id, message_id, remote_jid, "
            "from_me, message_type, text_content, status, timestamp) VALUES ($1, $2, $3, "
            "'x@s.whatsapp.net', false, 'text', 'Oi', 'delivered', now()) RETURNING id",
            instance,
            contact,
            f"wa-{phone}",
        )
        return str(contact), str(message)

    contact, message = await conversation(mine["id"], "5511999990002")
    other_contact, other_message = await conversation(other["id"], "5511999990003")
    client = await pg.fetchval("INSERT INTO clients (name) VALUES ('Maria Ltda') RETURNING id")
    quick = (
        await gql(
            'mutation { createQuickMessage(input: {shortcut: "oi", messageText: "Olá!"}) { id } }'
        )
    )["createQuickMessage"]["id"]
    return {
        "Contact": contact,
        "Message": message,
        "Instance": str(mine["id"]),
        "Client": str(client),
        "QuickMessage": quick,
        "Profile": str(colleague),
        "other Contact": other_contact,
        "other Message": other_message,
        "other Instance": str(other["id"]),
        "agent": str(agent_id),
        "loner": str(loner),
    }


async def node(gql: GraphQLClient, id: str, token: str | None = None) -> dict[str, Any] | None:
    return (await gql(NODE, {"id": id}, token=token))["node"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "kind", ["Contact", "Message", "Instance", "Client", "QuickMessage", "Profile"]
)
async def test_every_type_is_found_by_its_id(gql, world, kind, agent_token):
    for token in (None, agent_token):  # the admin, and an agent of the number
        found = await node(gql, world[kind], token)
        assert found is not None and (found["__typename"], found["id"]) == (kind, world[kind])


async def test_a_node_answers_as_its_own_lookup(gql, world, agent_token):
    contact = await node(gql, world["Contact"], agent_token)
    one = await gql(
        "query($id: ID!) { contact(id: $id) { id name phoneNumber unreadCount "
        "lastMessage { id textContent } } }",
        {"id": world["Contact"]},
        token=agent_token,
    )
    assert contact == {"__typename": "Contact", **one["contact"]}
    assert contact["lastMessage"] == {"id": world["Message"], "textContent": "Oi"}
    message = await node(gql, world["Message"], agent_token)
    assert message == {
        "__typename": "Message",
        "id": world["Message"],
        "textContent": "Oi",
        "contactId": world["Contact"],
    }
    instance = await node(gql, world["Instance"], agent_token)
    assert instance == {"__typename": "Instance", "id": world["Instance"], "instanceName": "mine"}


async def test_what_an_agent_may_not_see_is_null_like_what_does_not_exist(gql, world, agent_token):
    hidden = ["other Contact", "other Message", "other Instance", "loner"]
    for name in hidden:
        assert await node(gql, world[name], agent_token) is None, name
        assert await node(gql, world[name]) is not None, name  # the admin sees it
    assert await node(gql, str(uuid.uuid4()), agent_token) is None
    assert await node(gql, str(uuid.uuid4())) is None
    # Their own profile, and a colleague's of a number they share.
    me = await node(gql, world["agent"], agent_token)
    assert me is not None and me["role"] == "AGENT"
    colleague = await node(gql, world["Profile"], agent_token)
    assert colleague is not None and colleague["fullName"] == "Colleague"


async def test_removing_a_member_hides_the_number_from_node(gql, world, agent_token, pg):
    await pg.execute(
        "DELETE FROM whatsapp_instance_members WHERE profile_id = $1", uuid.UUID(world["agent"])
    )
    for name in ("Contact", "Message", "Instance", "Profile"):
        assert await node(gql, world[name], agent_token) is None, name
    assert await node(gql, world["Client"], agent_token) is not None


async def test_nodes_answers_in_order_with_nulls(gql, world, agent_token):
    unknown = str(uuid.uuid4())
    ids = [world["Message"], unknown, world["other Contact"], world["Contact"], world["Message"]]
    answer = (await gql(NODES, {"ids": ids}, token=agent_token))["nodes"]
    assert answer == [
        {"__typename": "Message", "id": world["Message"]},
        None,
        None,
        {"__typename": "Contact", "id": world["Contact"]},
        {"__typename": "Message", "id": world["Message"]},
    ]
    assert (await gql(NODES, {"ids": []}))["nodes"] == []


async def test_malformed_ids_and_too_many_are_refused_naming_them(gql, world):
    error = await gql.error(NODE, {"id": "not-an-id"})
    assert error.codes == ["BAD_USER_INPUT"] and error.errors[0]["extensions"]["field"] == "id"
    error = await gql.error(NODES, {"ids": [world["Contact"], "x"]})
    assert error.codes == ["BAD_USER_INPUT"]
    assert error.errors[0]["extensions"]["field"] == "ids[1]"
    error = await gql.error(NODES, {"ids": [str(uuid.uuid4()) for _ in range(101)]})
    assert error.codes == ["BAD_USER_INPUT"] and error.errors[0]["extensions"]["field"] == "ids"


async def test_node_needs_a_token(server, world):
    async with GraphQLClient(server.url) as anonymous:
        error = await anonymous.error(NODE, {"id": world["Contact"]})
    assert error.codes == ["UNAUTHENTICATED"]
