"""Relay pages both ways through the GraphQL API: `first`/`after` goes back in time, `last`/
`before` comes forward, edges are newest first either way; the page flags, the refusals naming
their argument, and the plans (an index walked either way, never a sort of the conversation)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import asyncpg
import pytest

import db.contacts
import db.messages
from db.sql import _compile
from tests.helpers import GraphQLClient, create_instance_row

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

PAGE = """
query($c: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  messages(contactId: $c, first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { id textContent } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


async def add_message(
    pg: asyncpg.Connection, instance: uuid.UUID, contact: uuid.UUID, text: str, at: datetime
) -> None:
    await pg.execute(
        "INSERT INTO whatsapp_messages (instance_id, contact_id, message_id, remote_jid, "
        "from_me, message_type, text_content, status, timestamp) "
        "VALUES ($1, $2, $3, 'x@s.whatsapp.net', false, 'text', $3, 'delivered', $4)",
        instance,
        contact,
        text,
        at,
    )


@pytest.fixture
async def chat(pg, vault, agent_id):
    """Maria's chat of 7 messages, m1 oldest … m7 newest; m3, m4 and m5 share one second (a
    burst: arrival order decides). The agent is a member of the number."""
    instance = await create_instance_row(pg, vault, members=[agent_id])
    contact = await pg.fetchval(
        "INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number, name) "
        "VALUES ($1, '5511999990002@s.whatsapp.net', '5511999990002', 'Maria') RETURNING id",
        instance["id"],
    )
    seconds = [0, 60, 120, 120, 120, 180, 240]
    for n, second in enumerate(seconds, start=1):
        await add_message(pg, instance["id"], contact, f"m{n}", T0 + timedelta(seconds=second))
    return {"instance": instance["id"], "contact": contact}


async def page(gql: GraphQLClient, contact: uuid.UUID, **args: Any) -> dict[str, Any]:
    data = await gql(PAGE, {"c": str(contact), **args})
    return data["messages"]  # type: ignore[no-any-return]


def texts(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["textContent"] for edge in connection["edges"]]


def flags(connection: dict[str, Any]) -> tuple[bool, bool]:
    info = connection["pageInfo"]
    return info["hasPreviousPage"], info["hasNextPage"]


async def test_last_pages_come_forward_from_the_oldest_newest_first(gql, chat):
    # `last` alone: the end of the list (the oldest messages), still newest first.
    oldest = await page(gql, chat["contact"], last=3)
    assert texts(oldest) == ["m3", "m2", "m1"]
    assert flags(oldest) == (True, False)  # more before (newer); nothing after it was asked
    info = oldest["pageInfo"]
    assert info["startCursor"] == oldest["edges"][0]["cursor"]
    assert info["endCursor"] == oldest["edges"][-1]["cursor"]
    # before = startCursor: the next newer ones, up to the newest.
    middle = await page(gql, chat["contact"], last=3, before=info["startCursor"])
    assert texts(middle) == ["m6", "m5", "m4"] and flags(middle) == (True, True)
    newest = await page(gql, chat["contact"], last=3, before=middle["pageInfo"]["startCursor"])
    assert texts(newest) == ["m7"] and flags(newest) == (False, True)


async def test_both_directions_walk_the_same_list(gql, chat):
    forward: list[str] = []
    after = None
    while True:
        connection = await page(gql, chat["contact"], first=2, after=after)
        forward += texts(connection)
        assert flags(connection)[0] is (after is not None)
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    backward: list[str] = []
    before = None
    while True:
        connection = await page(gql, chat["contact"], last=2, before=before)
        backward = texts(connection) + backward
        assert flags(connection)[1] is (before is not None)
        if not connection["pageInfo"]["hasPreviousPage"]:
            break
        before = connection["pageInfo"]["startCursor"]
    assert forward == backward == ["m7", "m6", "m5", "m4", "m3", "m2", "m1"]


async def test_a_chat_opened_at_one_message_pages_both_ways(gql, chat):
    """A jump to a quoted message (m4, in the burst): older with first/after, newer with
    last/before, from the same cursor, and the cursors of either side agree."""
    everything = await page(gql, chat["contact"], first=7)
    cursor = {e["node"]["textContent"]: e["cursor"] for e in everything["edges"]}
    older = await page(gql, chat["contact"], first=2, after=cursor["m4"])
    newer = await page(gql, chat["contact"], last=2, before=cursor["m4"])
    assert texts(newer) == ["m6", "m5"] and texts(older) == ["m3", "m2"]
    assert flags(newer) == (True, True) and flags(older) == (True, True)
    assert [e["cursor"] for e in newer["edges"]] == [cursor["m6"], cursor["m5"]]
    # Both bounds: what lies between them, from either end.
    between = {"after": cursor["m7"], "before": cursor["m2"]}
    assert texts(await page(gql, chat["contact"], first=2, **between)) == ["m6", "m5"]
    assert texts(await page(gql, chat["contact"], last=2, **between)) == ["m4", "m3"]
    assert texts(await page(gql, chat["contact"], last=9, **between)) == ["m6", "m5", "m4", "m3"]


async def test_cursors_stay_valid_while_messages_arrive(gql, pg, chat):
    first_page = await page(gql, chat["contact"], last=3)
    assert texts(first_page) == ["m3", "m2", "m1"]
    # Two arrive: one in the burst's second (after m5 by arrival), one newest.
    await add_message(pg, chat["instance"], chat["contact"], "m5b", T0 + timedelta(seconds=120))
    await add_message(pg, chat["instance"], chat["contact"], "m8", T0 + timedelta(seconds=300))
    seen = texts(first_page)
    before = first_page["pageInfo"]["startCursor"]
    while before:
        connection = await page(gql, chat["contact"], last=3, before=before)
        seen = texts(connection) + seen
        before = connection["pageInfo"]["hasPreviousPage"] and connection["pageInfo"]["startCursor"]
    assert seen == ["m8", "m7", "m6", "m5b", "m5", "m4", "m3", "m2", "m1"]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"first": 2, "last": 2}, "last"),
        ({"last": -1}, "last"),
        ({"last": 0}, "last"),
        ({"last": 201}, "last"),
        ({"first": -5}, "first"),
        ({"first": 201}, "first"),
        ({"last": 2, "before": "not a cursor"}, "before"),
        ({"last": 2, "before": "bm90fGF8Y3Vyc29y"}, "before"),  # base64 of "not|a|cursor"
        ({"first": 2, "after": "%%%"}, "after"),
    ],
)
async def test_invalid_arguments_are_refused_naming_them(gql, chat, args, field):
    error = await gql.error(PAGE, {"c": str(chat["contact"]), **args})
    assert error.codes == ["BAD_USER_INPUT"], error.errors
    assert error.errors[0]["extensions"]["field"] == field


async def test_a_cursor_of_another_list_is_refused(gql, pg, chat):
    contacts = await gql(
        "query($i: ID!) { contacts(instanceId: $i) { edges { cursor } } }",
        {"i": str(chat["instance"])},
    )
    contact_cursor = contacts["contacts"]["edges"][0]["cursor"]
    for field in ("before", "after"):
        error = await gql.error(PAGE, {"c": str(chat["contact"]), field: contact_cursor})
        assert error.codes == ["BAD_USER_INPUT"]
        assert error.errors[0]["extensions"]["field"] == field


async def test_backward_pages_keep_the_access_rules(gql, chat, agent_token, pg, vault):
    assert texts(await page(gql.as_user(agent_token), chat["contact"], last=1)) == ["m1"]
    other = await create_instance_row(pg, vault, name="other-number")
    stranger = await pg.fetchval(
        "INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number) "
        "VALUES ($1, '5511888880000@s.whatsapp.net', '5511888880000') RETURNING id",
        other["id"],
    )
    error = await gql.error(PAGE, {"c": str(stranger), "last": 2}, token=agent_token)
    assert error.codes == ["NOT_FOUND"]


async def test_last_counts_toward_the_cost_limit(gql, chat):
    aliases = " ".join(
        f"m{n}: messages(contactId: $c, last: 200) {{ edges {{ cursor }} }}" for n in range(30)
    )
    error = await gql.error(f"query($c: ID!) {{ {aliases} }}", {"c": str(chat["contact"])})
    assert error.codes == ["BAD_USER_INPUT"] and "6030 items" in error.errors[0]["message"]


# -- plans --------------------------------------------------------------------------------------


def record_statements(
    monkeypatch: pytest.MonkeyPatch, module: ModuleType, *names: str
) -> list[tuple[str, dict[str, Any]]]:
    """The statements `module` sends through its query functions `names`, with parameters."""
    statements: list[tuple[str, dict[str, Any]]] = []
    for name in names:
        original = getattr(module, name)

        async def recording(database: Any, sql: str, _run: Any = original, **params: Any) -> Any:
            statements.append((sql, params))
            return await _run(database, sql, **params)

        monkeypatch.setattr(module, name, recording)
    return statements


def literal(value: Any) -> str:
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return "'" + text.replace("'", "''") + "'"


async def plan(pg: asyncpg.Connection, sql: str, params: dict[str, Any], mode: str) -> Any:
    """The plan of a statement as the server's statement cache runs it: prepared, then
    executed with these values (`auto`: custom plans first) or as the generic plan."""
    text, names = _compile(sql)
    await pg.execute(f"SET plan_cache_mode = {mode}")
    await pg.execute(f"PREPARE page AS {text}")
    try:
        arguments = ", ".join(literal(params[n]) for n in names)
        found = await pg.fetchval(f"EXPLAIN (FORMAT JSON) EXECUTE page({arguments})")
    finally:
        await pg.execute("DEALLOCATE page")
        await pg.execute("RESET plan_cache_mode")
    return (json.loads(found) if isinstance(found, str) else found)[0]["Plan"]


def nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from nodes(child)


async def test_backward_pages_walk_the_index_and_sort_nothing(gql, pg, chat, monkeypatch):
    """A long conversation among five hundred others of the same months: a backward page reads
    the index from its cursor (scanned in reverse), as its forward page does, with the values
    and as the generic plan a cached statement settles on."""
    others = await pg.fetch(
        "INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number) "
        "SELECT $1, '55119' || lpad(n::text, 8, '0') || '@s.whatsapp.net', "
        "'55119' || lpad(n::text, 8, '0') FROM generate_series(1, 500) n RETURNING id",
        chat["instance"],
    )
    contacts = [chat["contact"], *(row["id"] for row in others)]
    # 100 messages each, one contact after the other every minute, all before T0; Maria
    # wrote 900 more in between.
    await pg.execute(
        "INSERT INTO whatsapp_messages (instance_id, contact_id, message_id, remote_jid, "
        "from_me, message_type, text_content, status, timestamp) "
        "SELECT $1, c.id, 'old-' || n || '-' || c.i, 'x@s.whatsapp.net', false, 'text', 'x', "
        "'delivered', $3::timestamptz - (n * 501 + c.i) * interval '1 minute' "
        "FROM generate_series(1, 100) n, unnest($2::uuid[]) WITH ORDINALITY AS c(id, i)",
        chat["instance"],
        contacts,
        T0,
    )
    await pg.execute(
        "INSERT INTO whatsapp_messages (instance_id, contact_id, message_id, remote_jid, "
        "from_me, message_type, text_content, status, timestamp) "
        "SELECT $1, $2, 'more-' || n, 'x@s.whatsapp.net', false, 'text', 'x', 'delivered', "
        "$3::timestamptz - (n * 55 + 0.5) * interval '1 minute' FROM generate_series(1, 900) n",
        chat["instance"],
        chat["contact"],
        T0,
    )
    await pg.execute("ANALYZE whatsapp_messages")
    recent = (await page(gql, chat["contact"], first=100))["pageInfo"]["endCursor"]
    quoted = (await page(gql, chat["contact"], first=200, after=recent))["pageInfo"]["endCursor"]
    statements = record_statements(monkeypatch, db.messages, "fetch_all")
    await page(gql, chat["contact"], last=20)
    await page(gql, chat["contact"], last=20, before=quoted)
    await page(gql, chat["contact"], last=20, before=quoted, after=recent)
    await page(gql, chat["contact"], first=20, after=quoted)
    await page(gql, chat["contact"], first=20, after=recent, before=quoted)
    assert len(statements) == 5
    for mode in ("auto", "force_generic_plan"):
        for sql, params in statements:
            top = await plan(pg, sql, params, mode)
            kinds = [n["Node Type"] for n in nodes(top)]
            assert "Sort" not in kinds and "Seq Scan" not in kinds, (mode, sql, kinds)
            scans = [n for n in nodes(top) if n["Node Type"] in ("Index Scan", "Index Only Scan")]
            assert [s["Index Name"] for s in scans] == ["idx_whatsapp_messages_contact_page"], (
                mode,
                sql,
                kinds,
            )
            backward = "ASC" in sql
            assert scans[0]["Scan Direction"] == ("Backward" if backward else "Forward"), sql


# -- contacts -----------------------------------------------------------------------------------

CONTACTS = """
query($i: ID!, $search: String, $first: Int, $after: String, $last: Int, $before: String) {
  contacts(instanceId: $i, search: $search, first: $first, after: $after, last: $last,
           before: $before) {
    edges { cursor node { name unreadCount lastMessage { textContent } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


@pytest.fixture
async def contact_list(pg, vault, agent_id):
    """Seven conversations c1 (newest) … c5 (oldest), c3 and c4 of one second (c3 wrote
    after c4: arrival decides), then c6 and c7 who never wrote (address book)."""
    instance = await create_instance_row(pg, vault, name="contacts-number", members=[agent_id])
    seconds = {"c1": 600, "c2": 500, "c3": 400, "c4": 400, "c5": 100}
    for n, name in enumerate(["c5", "c4", "c3", "c2", "c1", "c6", "c7"]):
        contact = await pg.fetchval(
            "INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number, name) "
            "VALUES ($1, $2, $3, $4) RETURNING id",
            instance["id"],
            f"55119000000{n:02d}@s.whatsapp.net",
            f"55119000000{n:02d}",
            name,
        )
        if name in seconds:
            at = T0 + timedelta(seconds=seconds[name])
            await add_message(pg, instance["id"], contact, f"hi from {name}", at)
            await pg.execute(
                "UPDATE whatsapp_contacts c SET last_message_at = m.timestamp, "
                "activity_arrival = m.arrival FROM whatsapp_messages m "
                "WHERE c.id = $1 AND m.contact_id = c.id",
                contact,
            )
    return instance["id"]


async def contacts_page(gql: GraphQLClient, instance: uuid.UUID, **args: Any) -> dict[str, Any]:
    return (await gql(CONTACTS, {"i": str(instance), **args}))["contacts"]  # type: ignore[no-any-return]


def names(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["name"] for edge in connection["edges"]]


async def test_contacts_page_both_ways_over_the_same_list(gql, contact_list):
    # Pages of two end on c6, who never wrote: its cursor (activity -infinity) works too.
    everyone = await contacts_page(gql, contact_list)
    order = names(everyone)
    assert order[:5] == ["c1", "c2", "c3", "c4", "c5"] and set(order[5:]) == {"c6", "c7"}
    forward: list[str] = []
    after = None
    while True:
        connection = await contacts_page(gql, contact_list, first=2, after=after)
        forward += names(connection)
        assert flags(connection)[0] is (after is not None)
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    backward: list[str] = []
    before = None
    while True:
        connection = await contacts_page(gql, contact_list, last=2, before=before)
        backward = names(connection) + backward
        assert flags(connection)[1] is (before is not None)
        if not connection["pageInfo"]["hasPreviousPage"]:
            break
        before = connection["pageInfo"]["startCursor"]
    assert forward == backward == order


async def test_a_backward_contacts_page_carries_what_the_list_shows(gql, contact_list, agent_token):
    cursor = {
        e["node"]["name"]: e["cursor"] for e in (await contacts_page(gql, contact_list))["edges"]
    }
    newer = await contacts_page(gql.as_user(agent_token), contact_list, last=2, before=cursor["c4"])
    assert [
        (e["node"]["name"], e["node"]["unreadCount"], e["node"]["lastMessage"])
        for e in newer["edges"]
    ] == [
        ("c2", 1, {"textContent": "hi from c2"}),
        ("c3", 1, {"textContent": "hi from c3"}),
    ]
    assert flags(newer) == (True, True)
    assert [e["cursor"] for e in newer["edges"]] == [cursor["c2"], cursor["c3"]]
    # With a search, and bounded on both sides.
    found = await contacts_page(
        gql, contact_list, search="c", last=2, after=cursor["c1"], before=cursor["c5"]
    )
    assert names(found) == ["c3", "c4"] and flags(found) == (True, True)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"first": 1, "last": 1}, "last"),
        ({"last": -2}, "last"),
        ({"last": 500}, "last"),
        ({"last": 1, "before": "garbage"}, "before"),
    ],
)
async def test_invalid_contacts_arguments_are_refused_naming_them(gql, contact_list, args, field):
    error = await gql.error(CONTACTS, {"i": str(contact_list), **args})
    assert error.codes == ["BAD_USER_INPUT"], error.errors
    assert error.errors[0]["extensions"]["field"] == field


async def test_a_messages_cursor_is_no_contacts_cursor(gql, chat, contact_list):
    cursor = (await page(gql, chat["contact"], first=1))["edges"][0]["cursor"]
    error = await gql.error(CONTACTS, {"i": str(contact_list), "last": 1, "before": cursor})
    assert error.codes == ["BAD_USER_INPUT"] and error.errors[0]["extensions"]["field"] == "before"


async def test_backward_contacts_pages_keep_the_access_rules(
    gql, contact_list, pg, vault, agent_token
):
    other = await create_instance_row(pg, vault, name="other-number")
    error = await gql.error(CONTACTS, {"i": str(other["id"]), "last": 2}, token=agent_token)
    assert error.codes == ["NOT_FOUND"]


async def test_backward_contacts_pages_walk_the_activity_index(gql, pg, contact_list, monkeypatch):
    """Among three thousand conversations: the page is cut by the activity index read from
    its other end; the only sort puts the page's own rows back in list order."""
    await pg.execute(
        "INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number, last_message_at, "
        "activity_arrival) SELECT $1, '5521' || lpad(n::text, 9, '0') || '@s.whatsapp.net', "
        "'5521' || lpad(n::text, 9, '0'), $2::timestamptz - n * interval '1 minute', n "
        "FROM generate_series(1, 3000) n",
        contact_list,
        T0,
    )
    await pg.execute("ANALYZE whatsapp_contacts")
    middle = None
    for _ in range(5):  # a thousand conversations down
        connection = await contacts_page(gql, contact_list, first=200, after=middle)
        middle = connection["pageInfo"]["endCursor"]
    statements = record_statements(monkeypatch, db.contacts, "fetch_all")
    await contacts_page(gql, contact_list, last=20)
    await contacts_page(gql, contact_list, last=20, before=middle)
    await contacts_page(gql, contact_list, first=20, after=middle)
    assert len(statements) == 3
    for mode in ("auto", "force_generic_plan"):
        for sql, params in statements:
            top = await plan(pg, sql, params, mode)
            everything = list(nodes(top))
            kinds = [n["Node Type"] for n in everything]
            assert "Seq Scan" not in kinds, (mode, kinds)
            scans = [n for n in everything if n.get("Relation Name") == "whatsapp_contacts"]
            assert [s["Index Name"] for s in scans] == ["idx_whatsapp_contacts_activity"]
            backward = "ASC" in sql
            assert scans[0]["Scan Direction"] == ("Backward" if backward else "Forward"), sql
            for sort in (n for n in everything if n["Node Type"] == "Sort"):
                # Above the LIMIT: the page's rows only.
                assert "Limit" in [n["Node Type"] for n in nodes(sort)], (mode, kinds)


QUOTED = """
query($c: ID!) {
  messages(contactId: $c, first: 1) {
    edges { cursor node { id cursor quotedMessage { textContent cursor } } }
  }
}"""


async def test_a_chat_opens_at_the_quoted_message_and_pages_both_ways(gql, pg, chat):
    # m8 replies to m4 (WhatsApp ids are the texts here).
    await add_message(pg, chat["instance"], chat["contact"], "m8", T0 + timedelta(seconds=300))
    await pg.execute(
        "UPDATE whatsapp_messages SET quoted_message_id = 'm4' WHERE message_id = 'm8'"
    )
    edge = (await gql(QUOTED, {"c": str(chat["contact"])}))["messages"]["edges"][0]
    assert edge["node"]["cursor"] == edge["cursor"]  # the same cursor as the connection's
    quoted = edge["node"]["quotedMessage"]
    assert quoted["textContent"] == "m4"
    newer = await page(gql, chat["contact"], last=2, before=quoted["cursor"])
    older = await page(gql, chat["contact"], first=2, after=quoted["cursor"])
    assert texts(newer) == ["m6", "m5"] and texts(older) == ["m3", "m2"]


@pytest.mark.parametrize("quoted", ["NEVER-SEEN", "in-another-chat"])
async def test_a_quoted_message_not_in_this_chat_is_null(gql, pg, chat, quoted):
    other = await pg.fetchval(
        "INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number, name) "
        "VALUES ($1, '5511999990003@s.whatsapp.net', '5511999990003', 'Ana') RETURNING id",
        chat["instance"],
    )
    await add_message(pg, chat["instance"], other, "in-another-chat", T0)
    await add_message(pg, chat["instance"], chat["contact"], "m8", T0 + timedelta(seconds=300))
    await pg.execute(
        "UPDATE whatsapp_messages SET quoted_message_id = $1 WHERE message_id = 'm8'", quoted
    )
    edge = (await gql(QUOTED, {"c": str(chat["contact"])}))["messages"]["edges"][0]
    assert edge["node"]["quotedMessage"] is None
