"""Malformed and hostile input gets a clear error naming the field, and changes nothing
(issue 15, items 4 to 14 except the webhook and token ones)."""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid

import asyncpg
import pytest

from server import create_app
from services.media import links as media_links
from services.platform.logs import TextFormatter
from services.webhooks.message_content import MAX_TEXT, parse_content
from tests.helpers import JWT_SECRET, GraphQLClient, Subscription, create_instance_row, serve_app

MESSAGES = "query($c: ID!, $a: String) { messages(contactId: $c, after: $a) { edges { cursor } } }"
CONTACTS = "query($i: ID!, $a: String) { contacts(instanceId: $i, after: $a) { edges { cursor } } }"
QUICK = "query($s: String) { quickMessages(search: $s) { shortcut } }"
CREATE_QUICK = (
    "mutation($input: QuickMessageInput!) { createQuickMessage(input: $input) { shortcut } }"
)
CREATE_CLIENT = (
    "mutation($c: ID!, $input: CreateClientInput!) { createClientFromContact("
    "contactId: $c, input: $input) { id } }"
)


@pytest.fixture
async def conversation(pg, vault):
    instance = await create_instance_row(pg, vault, name="mine", token="T-MINE")
    contact = await pg.fetchval(
        "INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number, name) "
        "VALUES ($1, '5511999990002@s.whatsapp.net', '5511999990002', 'Maria') RETURNING id",
        instance["id"],
    )
    return instance["id"], contact


def cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


async def stored_rows(pg: asyncpg.Connection) -> dict[str, int]:
    tables = ("whatsapp_quick_messages", "clients", "whatsapp_messages")
    return {t: await pg.fetchval(f"SELECT count(*) FROM {t}") for t in tables}


# -- item 4: malformed input is never INTERNAL --------------------------------------------------


@pytest.mark.parametrize("bad", ["a\x00b", "\ud800"])
async def test_unstorable_text_in_any_argument_is_refused_naming_it(gql, pg, conversation, bad):
    instance, contact = conversation
    before = await stored_rows(pg)
    cases = [
        (QUICK, {"s": bad}, "s"),
        (
            CREATE_QUICK,
            {"input": {"shortcut": "oi", "messageText": "Olá", "description": bad}},
            "input.description",
        ),
        (
            CREATE_CLIENT,
            {"c": str(contact), "input": {"name": "Maria", "notes": bad}},
            "input.notes",
        ),
        (
            "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }",
            {
                "input": {
                    "instanceId": str(instance),
                    "contactId": str(contact),
                    "textContent": "oi",
                    "idempotencyKey": bad,
                }
            },
            "input.idempotencyKey",
        ),
        (CONTACTS, {"i": str(instance), "a": bad}, "a"),
    ]
    for query, variables, field in cases:
        # Sent as JSON escapes, as a browser would: a lone surrogate is not valid UTF-8.
        response = await gql.http.post(
            "/graphql",
            content=json.dumps({"query": query, "variables": variables}),
            headers={"content-type": "application/json", "authorization": f"Bearer {gql.token}"},
        )
        [error] = response.json()["errors"]
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, query
    literal = await gql.error('{ quickMessages(search: "a\\u0000b") { shortcut } }')
    assert literal.errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "search"}
    assert await stored_rows(pg) == before


async def test_malformed_cursors_are_bad_user_input(gql, conversation):
    instance, contact = conversation
    nil = "00000000-0000-0000-0000-000000000000"
    for after in (
        # Shaped as message cursors (instant|arrival) and as contact cursors
        # (instant|arrival|id): a year PostgreSQL cannot shift, no offset, arrivals that are
        # not a bigint.
        *(cursor(f"0001-01-01T00:00:00+05:00|{tail}") for tail in ("5", f"5|{nil}")),
        *(cursor(f"0001-01-01T00:00:00|{tail}") for tail in ("5", f"5|{nil}")),
        *(cursor(f"9999-12-31T23:00:00-05:00|{tail}") for tail in ("5", f"5|{nil}")),
        *(cursor(f"2026-01-01T00:00:00+00:00|{arrival}") for arrival in ("²", "9" * 5000)),
        cursor(f"2026-01-01T00:00:00+00:00|{2**63}|{nil}"),
        "²",
        "%%%",
        cursor("x|y"),
    ):
        for query, variables in (
            (MESSAGES, {"c": str(contact), "a": after}),
            (CONTACTS, {"i": str(instance), "a": after}),
        ):
            error = await gql.error(query, variables)
            assert error.errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}
    error = await gql.error(
        "query($a: String) { clients(after: $a) { edges { cursor } } }",
        {"a": cursor(f"{nil}|a\x00b")},
    )
    assert error.errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}


async def test_seq_values_and_event_ids_must_be_ascii_numbers(
    server, gql, conversation, admin_token
):
    instance, _ = conversation
    for bad in ("²", "9" * 5000, "9" * 20):
        error = await gql.error("mutation($id: ID) { replayWebhookEvents(id: $id) }", {"id": bad})
        assert error.errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "id"}
    async with Subscription.connect(server.ws_url, admin_token) as ws:
        for bad in ("²", "9" * 5000):
            await ws.subscribe(
                "subscription($i: ID!, $s: String) { contactEvents(instanceId: $i, "
                "afterSeq: $s) { seq } }",
                {"i": str(instance), "s": bad},
            )
            message = await ws.receive()
            while message["type"] == "complete":  # the end of the previous one
                message = await ws.receive()
            payload = message["payload"]
            errors = payload if message["type"] == "error" else payload["errors"]
            assert errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "afterSeq"}


async def test_a_media_link_with_a_non_digit_expiry_is_refused(server):
    async with GraphQLClient(server.url) as client:
        for exp in ("²", "١٢٣", "12a", "9" * 40):
            response = await client.http.get(
                f"/media/{uuid.uuid4()}", params={"exp": exp, "sig": "x"}
            )
            assert response.status_code == 403, (exp, response.text)


# -- item 5: bounded text and bounded work ------------------------------------------------------


def test_incoming_text_is_capped_at_whatsapps_limit():
    huge = "a" * (10 * 1024 * 1024)
    content = parse_content({"message": {"conversation": huge}})
    assert content.text is not None and len(content.text) == MAX_TEXT == 65_536
    caption = parse_content({"message": {"imageMessage": {"caption": huge}}})
    assert caption.text is not None and len(caption.text) == MAX_TEXT


def test_contact_cards_with_values_of_the_wrong_type_keep_what_is_text() -> None:
    cards = [{"displayName": 7, "vcard": "waid=5511987654321"}, {"displayName": "Ana", "vcard": 5}]
    content = parse_content({"message": {"contactsArrayMessage": {"contacts": cards}}})
    assert content.text == "Ana"
    assert content.metadata == {
        "contacts": [{"name": None, "phones": ["5511987654321"]}, {"name": "Ana", "phones": []}]
    }


async def test_a_query_asking_for_too_much_is_refused_before_it_runs(gql, conversation):
    _, contact = conversation
    aliases = (
        "query($c: ID!) { "
        + " ".join(
            f"m{n}: messages(contactId: $c, first: 200) {{ edges {{ cursor }} }}" for n in range(30)
        )
        + " }"
    )
    error = await gql.error(aliases, {"c": str(contact)})
    assert error.codes == ["BAD_USER_INPUT"] and "6030 items" in error.errors[0]["message"]
    # A page size from a variable counts the same.
    by_variable = aliases.replace("query($c: ID!)", "query($c: ID!, $n: Int)").replace(
        "first: 200", "first: $n"
    )
    assert (await gql.error(by_variable, {"c": str(contact), "n": 200})).codes == ["BAD_USER_INPUT"]
    assert await gql(by_variable, {"c": str(contact), "n": 10})
    assert await gql(MESSAGES, {"c": str(contact)})


async def test_the_cost_limit_is_a_setting(pg, settings, vault, admin_token, conversation):
    _, contact = conversation
    app = create_app(settings.with_overrides(graphql_max_cost=100), JWT_SECRET, vault)
    async with serve_app(app) as handle, GraphQLClient(handle.url, admin_token) as client:
        page = "query($c: ID!, $n: Int) { messages(contactId: $c, first: $n) { edges { cursor } } }"
        assert await client(page, {"c": str(contact), "n": 99})
        assert (await client.error(page, {"c": str(contact), "n": 100})).codes == ["BAD_USER_INPUT"]


# -- items 6, 7, 12, 14: what GraphQL itself answers --------------------------------------------


async def test_without_graphiql_errors_suggest_no_names(
    pg, settings, vault, admin_token, conversation
):
    instance, _ = conversation
    app = create_app(settings.with_overrides(graphiql=False), JWT_SECRET, vault)
    async with serve_app(app) as handle, GraphQLClient(handle.url, admin_token) as client:
        typo = await client.error("{ viewr { id } }")
        enum = await client.error(
            "query($i: ID!, $t: ContactType) { contacts(instanceId: $i, "
            "type: $t) { edges { cursor } } }",
            {"i": str(instance), "t": "CLIENT"},
        )
    for error in (typo, enum):
        assert error.codes == ["BAD_USER_INPUT"]
        assert "did you mean" not in json.dumps(error.errors).lower()


async def test_the_anonymous_introspection_gate_reads_fields_not_names(server):
    async with GraphQLClient(server.url) as client:
        disguised = await client.error(
            "query { ...__schema } fragment __schema on Query { viewer { id } }"
        )
        assert disguised.codes == ["UNAUTHENTICATED"]
        inline = await client.error("query { ... on Query { viewer { id } } }")
        assert inline.codes == ["UNAUTHENTICATED"]
        # Real introspection through a fragment still works for GraphiQL.
        data = await client(
            "query { ...F } fragment F on Query { __schema { queryType { name } } }"
        )
        assert data["__schema"]["queryType"]["name"] == "Query"


async def test_several_operations_need_an_operation_name(gql):
    document = 'query A { viewer { id } } mutation B { deleteQuickMessage(id: "x") }'
    error = await gql.error(document)
    assert error.errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "operationName"}
    response = await gql.http.post(
        "/graphql",
        json={"query": document, "operationName": "A"},
        headers={"authorization": f"Bearer {gql.token}"},
    )
    assert response.json()["data"]["viewer"]["id"]


async def test_a_subscription_over_http_is_a_clear_400(gql, caplog):
    caplog.set_level(logging.ERROR)
    query = "subscription { instanceEvents { kind } }"
    auth = {"authorization": f"Bearer {gql.token}"}
    for response in (
        await gql.http.post("/graphql", json={"query": query}, headers=auth),
        await gql.http.get("/graphql", params={"query": query}, headers=auth),
    ):
        assert response.status_code == 400
        [error] = response.json()["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        # It says what works: the websocket, or a streamed answer over HTTP.
        for way in ("websocket", 'multipart/mixed;subscriptionSpec="1.0"', "text/event-stream"):
            assert way in error["message"]
    assert not [r for r in caplog.records if r.exc_info]


# -- item 8: one log record, one line -----------------------------------------------------------


def test_logged_text_cannot_start_a_forged_line():
    formatter = TextFormatter("%(levelname)s %(name)s: %(message)s")
    record = logging.LogRecord(
        "atendimento.http",
        logging.INFO,
        __file__,
        1,
        "%s %s %s",
        ("GET", "/x\r\n2026-01-01 ERROR forged\x1b[2J\u2028", 404),
        None,
    )
    line = formatter.format(record)
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert "\u2028" not in line
    assert line == "INFO atendimento.http: GET /x\\r\\n2026-01-01 ERROR forged\\x1b[2J\\u2028 404"


# -- item 9: a file's name and type are safe in headers -----------------------------------------


def test_file_names_and_types_are_made_header_safe_when_stored():
    content = parse_content(
        {
            "message": {
                "documentMessage": {
                    "fileName": "nota\r\nSet-Cookie: x=1.pdf",
                    "mimetype": "application/pdf\r\nX-Evil: 1",
                }
            }
        }
    )
    assert content.media_filename == "nota__Set-Cookie: x=1.pdf"
    assert content.media_mime_type is None


async def test_a_document_stored_with_crlf_in_its_name_downloads(server, gql, pg, conversation):
    instance, contact = conversation
    key = f"test/{uuid.uuid4()}"
    await server.runtime.media.put(key, b"%PDF-1.4 test", "application/pdf")
    message = await pg.fetchval(
        "INSERT INTO whatsapp_messages (instance_id, contact_id, message_id, remote_jid, "
        "message_type, status, timestamp, media_state, media_key, media_filename, "
        "media_mime_type) VALUES ($1, $2, 'WA-DOC', '5511999990002@s.whatsapp.net', 'document', "
        "'delivered', NOW(), 'ready', $3, $4, $5) RETURNING id",
        instance,
        contact,
        key,
        "a\r\nb.pdf",
        "application/pdf\r\nX-Evil: 1",
    )
    path = media_links.signed_path(
        server.runtime.vault.media_url_key(), message, "original", int(time.time()) + 600
    )
    response = await gql.http.get(path)
    assert response.status_code == 200 and response.content == b"%PDF-1.4 test"
    assert response.headers["content-type"] == "application/octet-stream"
    assert "x-evil" not in response.headers
    assert (
        response.headers["content-disposition"]
        == "attachment; filename=\"a__b.pdf\"; filename*=UTF-8''a__b.pdf"
    )


# -- item 10: LIKE wildcards are literal --------------------------------------------------------


async def test_quick_message_search_treats_wildcards_as_text(gql):
    for shortcut, text in (
        ("desconto", "10% de desconto"),
        ("ola", "Olá, tudo bem?"),
        ("sub", "com_sublinhado"),
    ):
        await gql(CREATE_QUICK, {"input": {"shortcut": shortcut, "messageText": text}})
    found = {q["shortcut"] for q in (await gql(QUICK, {"s": "%"}))["quickMessages"]}
    assert found == {"desconto"}
    found = {q["shortcut"] for q in (await gql(QUICK, {"s": "_"}))["quickMessages"]}
    assert found == {"sub"}


# -- item 13: size and shape of every stored input ----------------------------------------------


async def test_stored_inputs_have_size_and_shape_limits(gql, pg, conversation):
    instance, contact = conversation
    before = await stored_rows(pg)
    refusals = [
        (
            CREATE_CLIENT,
            {"c": str(contact), "input": {"name": "Maria", "notes": "n" * 5001}},
            "notes",
        ),
        (
            CREATE_CLIENT,
            {"c": str(contact), "input": {"name": "Maria", "document": "1" * 41}},
            "document",
        ),
        (CREATE_CLIENT, {"c": str(contact), "input": {"name": "Ma\x1bria"}}, "name"),
        (
            CREATE_CLIENT,
            {"c": str(contact), "input": {"name": "Maria", "email": "a" * 250 + "@x.com"}},
            "email",
        ),
        (
            CREATE_QUICK,
            {"input": {"shortcut": "oi", "messageText": "Olá", "description": "d" * 201}},
            "description",
        ),
        (
            "mutation($i: ID!, $n: String!) { updateInstance(id: $i, input: {displayName: $n}) "
            "{ id } }",
            {"i": str(instance), "n": "Loja\x1bCentro"},
            "displayName",
        ),
        (
            "mutation($c: ID!, $n: String) { updateContact(id: $c, input: {name: $n}) { id } }",
            {"c": str(contact), "n": "Maria\r\nSilva"},
            "name",
        ),
        (
            "mutation($i: ID!, $s: JSON) { updateInstanceSettings(instanceId: $i, input: "
            "{availabilitySchedule: $s}) { ignoreGroups } }",
            {
                "i": str(instance),
                "s": {"monday": [{"enabled": True, "start": "08:00", "end": "09:00"}] * 9},
            },
            "availabilitySchedule.monday",
        ),
    ]
    for query, variables, field in refusals:
        error = await gql.error(query, variables)
        assert error.errors[0]["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, field
    assert await stored_rows(pg) == before
    # Notes keep their lines; the limits leave ordinary input alone.
    assert await gql(
        CREATE_CLIENT,
        {
            "c": str(contact),
            "input": {
                "name": "Maria",
                "document": "123.456.789-09",
                "notes": "Cliente antiga.\nPrefere tarde.",
            },
        },
    )
    assert await pg.fetchval("SELECT notes FROM clients") == "Cliente antiga.\nPrefere tarde."
