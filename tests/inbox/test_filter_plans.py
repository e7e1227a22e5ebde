"""The plans PostgreSQL settles on for the inbox filters of the contact list at 20,000 contacts
(and 100,000 messages) on one number: each is served by an index, never a sequential scan of
contacts or messages. Run with `-s` to see the plans.

The statements are the ones the application sends: recorded while the GraphQL queries run,
then PREPAREd and EXECUTEd six times as the statement cache does (PostgreSQL may switch to a
generic plan from the sixth run on) before EXPLAIN ANALYZE shows the plan it uses."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import pytest

import db.contacts
from tests.helpers import GraphQLClient, create_instance_row

CONTACTS = 20_000
LIST = """
query($instanceId: ID!, $status: ConversationStatus, $assignee: AssigneeFilter,
      $assigneeId: ID, $label: String, $search: String, $type: ContactType, $after: String) {
  contacts(instanceId: $instanceId, status: $status, assignee: $assignee,
           assigneeId: $assigneeId, label: $label, search: $search, type: $type, first: 50,
           after: $after) {
    edges { node { id name status unreadCount lastMessage { id } } }
    pageInfo { endCursor }
  }
}"""


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (uuid.UUID, datetime, str)):
        text = value.isoformat() if isinstance(value, datetime) else str(value)
        return "'" + text.replace("'", "''") + "'"
    raise TypeError(type(value))


def _nodes(plan: dict[str, Any], depth: int = 0) -> list[tuple[int, dict[str, Any]]]:
    found = [(depth, plan)]
    for child in plan.get("Plans", []):
        found += _nodes(child, depth + 1)
    return found


async def _plan(
    pg: Any, sql: str, args: tuple[Any, ...], warm: bool
) -> list[tuple[int, dict[str, Any]]]:
    await pg.execute(f"PREPARE inbox_plan AS {sql}")
    try:
        call = f"EXECUTE inbox_plan({', '.join(_literal(a) for a in args)})" if args else ""
        for _ in range(6 if warm else 0):
            await pg.fetch(call)
        raw = await pg.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {call}")
        return _nodes(json.loads(raw)[0]["Plan"])
    finally:
        await pg.execute("DEALLOCATE inbox_plan")


@pytest.fixture
async def big_number(pg, vault, agent_id):
    instance = await create_instance_row(pg, vault, members=[agent_id])
    others = [uuid.uuid4() for _ in range(4)]
    for other in others:
        await pg.execute("INSERT INTO profiles (id, role) VALUES ($1, 'agent')", other)
    owners = [agent_id, *others]
    # 20,000 contacts: 15 % open, 10 % pending, the rest resolved; a fifth unassigned, the rest
    # spread over four agents; "VIP" on 0.4 %, "Boleto" on 30 %; five messages each. (At 1 %
    # PostgreSQL's default costs rightly rate a hash join over a sequential scan about as dear as
    # 200 index probes: a label that common is a coin toss, not a rare one.)
    await pg.execute(
        """
        INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number, name,
          last_message_at, conversation_status, assignee_id, contact_type)
        SELECT $1, '55119' || lpad(n::text, 8, '0') || '@s.whatsapp.net',
               '55119' || lpad(n::text, 8, '0'), 'Cliente ' || n,
               now() - n * interval '1 minute',
               CASE WHEN n % 20 < 3 THEN 'open' WHEN n % 20 < 5 THEN 'pending' ELSE 'resolved' END,
               CASE WHEN n % 5 = 0 THEN NULL ELSE ($2::uuid[])[n % 5] END,
               CASE WHEN n % 3 = 0 THEN 'lead' ELSE 'cliente' END
        FROM generate_series(1, $3) AS n
        """,
        instance["id"],
        owners,
        CONTACTS,
    )
    await pg.execute(
        """
        INSERT INTO whatsapp_messages (instance_id, contact_id, message_id, remote_jid, from_me,
          message_type, text_content, status, timestamp)
        SELECT c.instance_id, c.id, c.id::text || '-' || k, c.remote_jid, k % 2 = 0, 'text',
               'mensagem', 'delivered', c.last_message_at - (5 - k) * interval '1 second'
        FROM whatsapp_contacts c CROSS JOIN generate_series(1, 5) AS k
        WHERE c.instance_id = $1
        ORDER BY c.last_message_at, k
        """,
        instance["id"],
    )
    await pg.execute(
        """
        UPDATE whatsapp_contacts c SET activity_arrival = m.arrival
        FROM (SELECT contact_id, max(arrival) AS arrival FROM whatsapp_messages
              GROUP BY contact_id) m
        WHERE m.contact_id = c.id
        """
    )
    await pg.execute(
        """
        INSERT INTO whatsapp_contact_labels (contact_id, instance_id, label, label_key)
        SELECT id, instance_id, 'VIP', 'vip' FROM whatsapp_contacts
        WHERE instance_id = $1 AND abs(hashtext(phone_number)) % 250 = 0
        UNION ALL
        SELECT id, instance_id, 'Boleto', 'boleto' FROM whatsapp_contacts
        WHERE instance_id = $1 AND abs(hashtext(phone_number)) % 10 < 3
        """,
        instance["id"],
    )
    await pg.execute("ANALYZE")
    return {"instance": str(instance["id"]), "other": str(others[0])}


CASES = {
    "status OPEN": {"status": "OPEN"},
    "mine": {"assignee": "ME"},
    "mine, open": {"assignee": "ME", "status": "OPEN"},
    "unassigned, open": {"assignee": "UNASSIGNED", "status": "OPEN"},
    "one agent's open": {"assigneeId": "other", "status": "OPEN"},
    "label VIP (rare)": {"label": "vip"},
    "label Boleto (common), open": {"label": "Boleto", "status": "OPEN"},
    "unassigned, search, type": {"assignee": "UNASSIGNED", "search": "cliente 1", "type": "LEAD"},
}


async def test_every_inbox_filter_is_served_by_an_index(
    gql: GraphQLClient,
    pg: Any,
    big_number: dict[str, str],
    agent_token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorded: list[tuple[str, dict[str, Any], bool]] = []
    for name, warm in (("fetch_all", True), ("fetch_all_planned_with_values", False)):
        original = getattr(db.contacts, name)

        def recorder(db_: Any, sql: str, _o: Any = original, _w: bool = warm, **params: Any) -> Any:
            recorded.append((sql, params, _w))
            return _o(db_, sql, **params)

        monkeypatch.setattr(db.contacts, name, recorder)

    report: list[str] = []
    failures: list[str] = []
    for label, case in CASES.items():
        variables = {**case, "instanceId": big_number["instance"]}
        if variables.get("assigneeId") == "other":
            variables["assigneeId"] = big_number["other"]
        for page in (1, 2):  # the first page, then the next one from its cursor
            recorded.clear()
            data = await gql(LIST, variables, token=agent_token)
            assert len(data["contacts"]["edges"]) > 0, label
            [(sql, params, warm)] = [r for r in recorded if "whatsapp_contacts" in r[0]]
            text, names = db.sql._compile(sql)
            nodes = await _plan(pg, text, tuple(params[n] for n in names), warm)
            report.append(f"{label}, page {page}:")
            report += [
                "  " + "  " * depth + node["Node Type"]
                + (f" using {node['Index Name']}" if node.get("Index Name") else "")
                + (f" on {node['Relation Name']}" if node.get("Relation Name") else "")
                for depth, node in nodes
            ]  # fmt: skip
            scans = {
                str(node.get("Relation Name"))
                for _, node in nodes
                if node["Node Type"] == "Seq Scan"
            }
            if scans & {"whatsapp_contacts", "whatsapp_messages", "whatsapp_contact_labels"}:
                failures.append(f"{label}, page {page}: sequential scan of {sorted(scans)}")
            variables["after"] = data["contacts"]["pageInfo"]["endCursor"]
    print("\n".join(report))
    assert not failures, "\n".join(failures + report)
