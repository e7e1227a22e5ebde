"""The inbox filters of `contacts`: status, assignee (ME, UNASSIGNED, ANY, one agent), label,
combined with `search` and `type`, keyset-paginated."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.helpers import GraphQLClient, create_instance_row

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
LIST = """
query($instanceId: ID!, $status: ConversationStatus, $assignee: AssigneeFilter,
      $assigneeId: ID, $label: String, $search: String, $type: ContactType, $first: Int,
      $after: String) {
  contacts(instanceId: $instanceId, status: $status, assignee: $assignee,
           assigneeId: $assigneeId, label: $label, search: $search, type: $type,
           first: $first, after: $after) {
    edges { node { name status assignee { id } labels } }
    pageInfo { hasNextPage endCursor }
  }
}"""


@pytest.fixture
async def inbox(pg, vault, agent_id):
    """Eight conversations of one number, newest first: c0 … c7, in every combination of
    status, owner (the agent, a colleague, nobody), label and type."""
    colleague = uuid.uuid4()
    instance = await create_instance_row(pg, vault, members=[agent_id, colleague])
    plan = [
        # name, status, assignee, labels, type
        ("Ana Silva", "open", agent_id, ["VIP"], "cliente"),
        ("Bruno Silva", "pending", agent_id, [], "lead"),
        ("Carla Souza", "resolved", agent_id, ["vip", "Boleto"], "cliente"),
        ("Davi Silva", "open", colleague, ["Boleto"], "cliente"),
        ("Elisa Lima", "open", None, ["vip"], "lead"),
        ("Fábio Silva", "open", None, [], "cliente"),
        ("Gabi Rocha", "resolved", None, ["boleto"], "cliente"),
        ("Hugo Silva", "pending", colleague, ["VIP"], "cliente"),
    ]
    for n, (name, status, owner, labels, kind) in enumerate(plan):
        contact = await pg.fetchval(
            "INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number, name, "
            "last_message_at, conversation_status, assignee_id, contact_type) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            instance["id"],
            f"55119000000{n:02d}@s.whatsapp.net",
            f"55119000000{n:02d}",
            name,
            T0 - timedelta(minutes=n),
            status,
            owner,
            kind,
        )
        for label in labels:
            await pg.execute(
                "INSERT INTO whatsapp_contact_labels (contact_id, instance_id, label, label_key) "
                "VALUES ($1, $2, $3, $4)",
                contact,
                instance["id"],
                "VIP" if label.casefold() == "vip" else "Boleto",
                label.casefold(),
            )
    return {"instance": str(instance["id"]), "colleague": str(colleague)}


async def names(gql: GraphQLClient, token: str | None = None, **variables: Any) -> list[str]:
    data = await gql(LIST, variables, token=token)
    return [edge["node"]["name"].split()[0] for edge in data["contacts"]["edges"]]


async def test_each_filter_alone(gql, inbox, agent_token, agent_id):
    i = inbox["instance"]
    assert await names(gql, instanceId=i) == [
        "Ana", "Bruno", "Carla", "Davi", "Elisa", "Fábio", "Gabi", "Hugo"
    ]  # fmt: skip
    assert await names(gql, instanceId=i, status="OPEN") == ["Ana", "Davi", "Elisa", "Fábio"]
    assert await names(gql, instanceId=i, status="RESOLVED") == ["Carla", "Gabi"]
    assert await names(gql, agent_token, instanceId=i, assignee="ME") == ["Ana", "Bruno", "Carla"]
    assert await names(gql, instanceId=i, assignee="ME") == []  # the admin owns none
    assert await names(gql, instanceId=i, assignee="UNASSIGNED") == ["Elisa", "Fábio", "Gabi"]
    assert await names(gql, instanceId=i, assigneeId=inbox["colleague"]) == ["Davi", "Hugo"]
    assert await names(gql, instanceId=i, assignee="ANY") == await names(gql, instanceId=i)
    for spelling in ("vip", "VIP", "  Vip "):
        assert await names(gql, instanceId=i, label=spelling) == ["Ana", "Carla", "Elisa", "Hugo"]
    assert await names(gql, instanceId=i, label="nenhum") == []


async def test_filters_combine_with_each_other_search_and_type(gql, inbox, agent_token):
    i = inbox["instance"]
    assert await names(gql, agent_token, instanceId=i, assignee="ME", status="OPEN") == ["Ana"]
    assert await names(gql, instanceId=i, status="OPEN", assignee="UNASSIGNED", search="silva") == [
        "Fábio"
    ]
    assert await names(gql, instanceId=i, label="boleto", type="CLIENTE", status="OPEN") == ["Davi"]
    assert await names(
        gql, instanceId=i, label="VIP", assigneeId=inbox["colleague"], search="silva"
    ) == ["Hugo"]
    assert await names(gql, instanceId=i, label="vip", type="LEAD") == ["Elisa"]


async def test_filtered_pages_follow_each_other_without_gaps(gql, inbox):
    i = inbox["instance"]
    seen: list[str] = []
    after = None
    while True:
        data = await gql(LIST, {"instanceId": i, "status": "OPEN", "first": 1, "after": after})
        page = data["contacts"]
        seen += [e["node"]["name"].split()[0] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["Ana", "Davi", "Elisa", "Fábio"]


async def test_contradicting_or_empty_filters_are_refused(gql, inbox):
    i = inbox["instance"]
    for variables in (
        {"assignee": "ME", "assigneeId": inbox["colleague"]},
        {"assignee": "UNASSIGNED", "assigneeId": inbox["colleague"]},
        {"assigneeId": "not-an-id"},
        {"label": "   "},
        {"status": "CLOSED"},
    ):
        body = await gql.raw(LIST, {"instanceId": i, **variables})
        assert body.get("errors"), variables
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
