"""What front-end clients count on: CORS for their headers, one timestamp format, Relay page
information, and one rule for lookups of something unknown."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import httpx

from server import CORS_ALLOWED_HEADERS, create_app
from tests.helpers import JWT_SECRET, create_instance_row, serve_app

ORIGIN = "https://app.example.com"
MS_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def test_preflight_admits_what_browser_clients_send(pg, settings, vault):
    app = create_app(settings.with_overrides(cors_origins=(ORIGIN,)), JWT_SECRET, vault)
    asked = (
        "authorization,content-type,apollo-require-preflight,x-apollo-operation-name,"
        "apollographql-client-name,apollographql-client-version,x-request-id,"
        "sentry-trace,baggage"
    )
    async with serve_app(app) as handle, httpx.AsyncClient(base_url=handle.url) as http:
        preflight = await http.options(
            "/graphql",
            headers={
                "origin": ORIGIN,
                "access-control-request-method": "POST",
                "access-control-request-headers": asked,
            },
        )
        assert preflight.status_code == 200
        allowed = {
            h.strip() for h in preflight.headers["access-control-allow-headers"].lower().split(",")
        }
        assert set(asked.split(",")) <= allowed
        assert int(preflight.headers["access-control-max-age"]) >= 3600

        answer = await http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"origin": ORIGIN}
        )
        assert answer.headers["access-control-allow-origin"] == ORIGIN
        assert "x-request-id" in answer.headers["access-control-expose-headers"].lower()
        assert answer.headers["x-request-id"]


def test_the_allowed_headers_are_lower_case_names():
    assert all(h == h.lower() and " " not in h for h in CORS_ALLOWED_HEADERS)


async def test_every_timestamp_is_utc_with_milliseconds(pg, vault, gql):
    instance = await create_instance_row(pg, vault)
    contact_id = await pg.fetchval(
        "INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number, name, "
        "last_message_at) VALUES ($1, '5511999990000@s.whatsapp.net', '5511999990000', 'Ana', "
        "$2) RETURNING id",
        instance["id"],
        datetime(2026, 3, 2, 12, 0, 5, tzinfo=UTC),
    )
    # One incoming time with whole seconds, one of ours with microseconds.
    for key, at in (
        ("IN", datetime(2026, 3, 2, 12, 0, 5, tzinfo=UTC)),
        ("OUT", datetime(2026, 3, 2, 12, 0, 6, 123456, tzinfo=UTC)),
    ):
        await pg.execute(
            "INSERT INTO whatsapp_messages (instance_id, contact_id, message_id, remote_jid, "
            "from_me, message_type, text_content, status, timestamp) VALUES ($1, $2, $3, "
            "'x@s.whatsapp.net', $4, 'text', 'oi', 'delivered', $5)",
            instance["id"],
            contact_id,
            key,
            key == "OUT",
            at,
        )
    data = await gql(
        """query($c: ID!, $i: ID!) {
        messages(contactId: $c) { edges { node { messageId timestamp createdAt } } }
        contact(id: $c) { lastMessageAt createdAt updatedAt }
        instance(id: $i) { createdAt updatedAt } }""",
        {"c": str(contact_id), "i": str(instance["id"])},
    )
    stamps = {e["node"]["messageId"]: e["node"]["timestamp"] for e in data["messages"]["edges"]}
    assert stamps == {"IN": "2026-03-02T12:00:05.000Z", "OUT": "2026-03-02T12:00:06.123Z"}
    others = [e["node"]["createdAt"] for e in data["messages"]["edges"]]
    others += [*data["contact"].values(), *data["instance"].values()]
    assert others and all(MS_UTC.match(value) for value in others), others


async def test_page_info_tells_both_ends(pg, vault, gql):
    instance = await create_instance_row(pg, vault)
    contact_id = await pg.fetchval(
        "INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number) VALUES ($1, "
        "'5511999990000@s.whatsapp.net', '5511999990000') RETURNING id",
        instance["id"],
    )
    for second in range(3):
        await pg.execute(
            "INSERT INTO whatsapp_messages (instance_id, contact_id, message_id, remote_jid, "
            "from_me, message_type, text_content, status, timestamp) VALUES ($1, $2, $3, "
            "'x@s.whatsapp.net', false, 'text', 'oi', 'delivered', $4)",
            instance["id"],
            contact_id,
            f"M{second}",
            datetime(2026, 3, 2, 12, 0, second, tzinfo=UTC),
        )
    page = """query($c: ID!, $after: String) { messages(contactId: $c, first: 2, after: $after) {
        edges { cursor } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
    first = (await gql(page, {"c": str(contact_id)}))["messages"]
    cursors = [e["cursor"] for e in first["edges"]]
    assert first["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "startCursor": cursors[0],
        "endCursor": cursors[-1],
    }
    second = (await gql(page, {"c": str(contact_id), "after": cursors[-1]}))["messages"]
    assert second["pageInfo"]["hasPreviousPage"] is True
    assert second["pageInfo"]["hasNextPage"] is False
    assert second["pageInfo"]["startCursor"] == second["edges"][0]["cursor"]


async def test_unknown_ids_follow_one_rule(pg, vault, gql):
    """A field that names one object answers null; a field under a parent answers NOT_FOUND."""
    await create_instance_row(pg, vault)
    unknown = str(uuid.uuid4())
    single = await gql(
        "query($id: ID!) { contact(id: $id) { id } instance(id: $id) { id } }", {"id": unknown}
    )
    assert single == {"contact": None, "instance": None}
    under_parent = {
        "messages": "query($id: ID!) { messages(contactId: $id) { edges { cursor } } }",
        "contacts": "query($id: ID!) { contacts(instanceId: $id) { edges { cursor } } }",
        "instanceSettings": "query($id: ID!) { instanceSettings(instanceId: $id) { rejectCalls } }",
        "availability": "query($id: ID!) { availability(instanceId: $id) { isAvailableNow } }",
        "renderQuickMessage": 'query($id: ID!) { renderQuickMessage(shortcut: "/oi", '
        "contactId: $id) }",
    }
    for field, query in under_parent.items():
        error = await gql.error(query, {"id": unknown})
        assert error.codes == ["NOT_FOUND"], (field, error.errors)
