"""Every protection refuses with its documented code and changes no stored data."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import httpx
import pytest
import websockets
from websockets.typing import Origin, Subprotocol

from server import create_app
from services.identity import access
from services.platform.rate_limit import RateLimiter
from tests.helpers import (
    JWT_SECRET,
    GraphQLClient,
    Subscription,
    create_instance_row,
    load_payload,
    post_webhook,
    serve_app,
    wait_for,
)

MESSAGES = """subscription($i: ID!) { messageEvents(instanceId: $i) { message { textContent } } }"""


@pytest.fixture
async def setup(pg, vault, agent_id, evolution):
    """Two numbers; the agent is a member of the first only; one contact on each."""
    mine = await create_instance_row(pg, vault, name="mine", token="T-MINE", members=[agent_id])
    other = await create_instance_row(pg, vault, name="other", token="T-OTHER")
    evolution.add_instance("mine", token="T-MINE", state="open")
    contacts = []
    for instance in (mine, other):
        contacts.append(
            await pg.fetchval(
                "INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number) "
                "VALUES ($1, '5511999990002@s.whatsapp.net', '5511999990002') RETURNING id",
                instance["id"],
            )
        )
    return mine, other, contacts


async def test_an_agent_sees_exactly_their_numbers(gql, setup, agent_token):
    mine, other, (my_contact, other_contact) = setup
    agent = gql.as_user(agent_token)
    assert [i["id"] for i in (await agent("{ instances { id } }"))["instances"]] == [
        str(mine["id"])
    ]
    assert (await agent("query($i: ID!) { instance(id: $i) { id } }", {"i": str(other["id"])}))[
        "instance"
    ] is None
    assert (await agent("query($i: ID!) { contact(id: $i) { id } }", {"i": str(other_contact)}))[
        "contact"
    ] is None
    for query, variables in (
        (
            "query($i: ID!) { contacts(instanceId: $i) { edges { cursor } } }",
            {"i": str(other["id"])},
        ),
        (
            "query($i: ID!) { messages(contactId: $i) { edges { cursor } } }",
            {"i": str(other_contact)},
        ),
        (
            "query($i: ID!) { instanceSettings(instanceId: $i) { ignoreGroups } }",
            {"i": str(other["id"])},
        ),
        (
            "mutation($i: ID!, $c: ID!) { sendMessage(input: {instanceId: $i, contactId: $c, "
            'textContent: "x"}) { id } }',
            {"i": str(other["id"]), "c": str(other_contact)},
        ),
        ("mutation($c: ID!) { markContactRead(contactId: $c) { id } }", {"c": str(other_contact)}),
    ):
        assert (await agent.error(query, variables)).codes == ["NOT_FOUND"], query
    # On their own number an agent answers, but does not administer.
    error = await agent.error(
        "mutation($i: ID!) { updateInstanceSettings(instanceId: $i, "
        "input: {alwaysOnline: true}) { alwaysOnline } }",
        {"i": str(mine["id"])},
    )
    assert error.codes == ["FORBIDDEN"]
    assert await agent(
        "query($i: ID!) { contacts(instanceId: $i) { edges { cursor } } }", {"i": str(mine["id"])}
    )


async def test_removing_a_member_stops_their_subscription(
    server, gql, pg, setup, agent_token, agent_id, vault, monkeypatch
):
    monkeypatch.setattr(access, "ACCESS_RECHECK_SECONDS", 0.0)  # check on every event
    mine, _, _ = setup
    secret = vault.webhook_secret("mine")
    async with Subscription.connect(server.ws_url, agent_token) as ws:
        await ws.subscribe(
            MESSAGES.replace(
                "messageEvents(instanceId: $i)", 'messageEvents(instanceId: $i, afterSeq: "0")'
            ),
            {"i": str(mine["id"])},
        )
        first = load_payload("messages_upsert_text", instance_name="mine", token="T-MINE")
        assert (await post_webhook(gql.http, first, secret)).status_code == 200
        assert (await ws.next_data())["messageEvents"]["message"]["textContent"]
        await gql(
            "mutation($i: ID!, $p: ID!) { removeInstanceMember(instanceId: $i, "
            "profileId: $p) { id } }",
            {"i": str(mine["id"]), "p": str(agent_id)},
        )
        second = load_payload("messages_upsert_text", instance_name="mine", token="T-MINE")
        second["data"]["key"]["id"] = "AFTER-REMOVAL"
        assert (await post_webhook(gql.http, second, secret)).status_code == 200
        message = await ws.receive()
        assert message["type"] == "complete"  # the stream ended instead of delivering


async def test_members_are_managed_by_admins(gql, pg, setup, agent_token, agent_id):
    mine, other, _ = setup
    add = (
        "mutation($i: ID!, $p: ID!) { addInstanceMember(instanceId: $i, profileId: $p) "
        "{ members { id } } }"
    )
    error = await gql.error(add, {"i": str(mine["id"]), "p": str(agent_id)}, token=agent_token)
    assert error.codes == ["FORBIDDEN"]
    data = await gql(add, {"i": str(other["id"]), "p": str(agent_id)})
    assert str(agent_id) in [m["id"] for m in data["addInstanceMember"]["members"]]
    error = await gql.error(add, {"i": str(other["id"]), "p": str(uuid.uuid4())})
    assert error.codes == ["BAD_USER_INPUT"]


async def test_webhook_limits(gql, pg, server, setup, vault):
    mine, _, _ = setup
    secret = vault.webhook_secret("mine")
    deep: object = {}
    for _ in range(100):
        deep = {"a": deep}
    too_deep = json.dumps({"event": "messages.upsert", "instance": "mine", "data": deep}).encode()
    response = await post_webhook(gql.http, too_deep, secret)
    assert response.status_code == 400 and "deeper" in response.json()["error"]

    server.runtime.webhook_limiter = RateLimiter(1.0, 2.0)
    payload = load_payload("messages_upsert_text", instance_name="mine", token="T-MINE")
    answers = []
    for n in range(4):
        payload["data"]["key"]["id"] = f"FLOOD-{n}"
        answers.append((await post_webhook(gql.http, payload, secret)).status_code)
    assert answers == [200, 200, 429, 429]
    other = load_payload("messages_upsert_text", instance_name="other", token="T-OTHER")
    response = await post_webhook(gql.http, other, vault.webhook_secret("other"))
    assert response.status_code == 200  # another number is not affected

    async def processed() -> bool:
        return (
            int(await pg.fetchval("SELECT count(*) FROM webhook_events WHERE status = 'pending'"))
            == 0
        )

    await wait_for(processed)
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_messages") == 3


async def test_oversized_webhook_is_refused(pg, settings, vault, setup):
    app = create_app(settings.with_overrides(webhook_max_bytes=1024), JWT_SECRET, vault)
    async with serve_app(app) as handle, httpx.AsyncClient(base_url=handle.url) as http:
        payload = load_payload(
            "messages_upsert_image_caption", instance_name="mine", token="T-MINE"
        )
        response = await post_webhook(http, payload, vault.webhook_secret("mine"))
    # 422, not 413: Evolution retries 413 ten times, and this body will never fit.
    assert response.status_code == 422
    assert await pg.fetchval("SELECT count(*) FROM webhook_events") == 0


async def test_query_limits(gql, setup):
    mine, _, _ = setup
    error = await gql.error(
        "query($i: ID!) { contacts(instanceId: $i, first: 201) { edges { cursor } } }",
        {"i": str(mine["id"])},
    )
    assert error.codes == ["BAD_USER_INPUT"] and error.errors[0]["extensions"]["field"] == "first"
    aliases = "query { " + " ".join(f"a{n}: viewer {{ id }}" for n in range(40)) + " }"
    assert set((await gql.error(aliases)).codes) == {"BAD_USER_INPUT"}
    # The schema has no cycles, so depth is bounded by construction; size is limited too.
    huge = "query { " + " ".join("viewer { id role email fullName }" for _ in range(700)) + " }"
    error = await gql.error(huge)
    assert error.codes == ["BAD_USER_INPUT"] and "4000 tokens" in error.errors[0]["message"]
    # Cached documents keep their limits: the same texts are refused a second time.
    assert (await gql.error(huge)).codes == ["BAD_USER_INPUT"]
    assert (await gql.error(aliases)).codes[0] == "BAD_USER_INPUT"


async def test_send_rate_limit_per_user(server, gql, pg, setup, agent_token):
    mine, _, (contact, _) = setup
    server.runtime.send_limiter = RateLimiter(0.001, 2.0)
    send = (
        "mutation($i: ID!, $c: ID!) { sendMessage(input: {instanceId: $i, contactId: $c, "
        'textContent: "oi"}) { id } }'
    )
    variables = {"i": str(mine["id"]), "c": str(contact)}
    await gql(send, variables, token=agent_token)
    await gql(send, variables, token=agent_token)
    error = await gql.error(send, variables, token=agent_token)
    assert error.codes == ["RATE_LIMITED"] and error.errors[0]["extensions"]["retryAfter"] > 0
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_messages") == 2
    await gql(send, variables)  # another user is not affected


async def test_production_mode_hides_graphiql_and_introspection(pg, settings, vault, admin_token):
    app = create_app(settings.with_overrides(graphiql=False), JWT_SECRET, vault)
    async with serve_app(app) as handle, GraphQLClient(handle.url, admin_token) as client:
        page = await client.http.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code in (404, 400) and "graphiql" not in page.text.lower()
        error = await client.error("{ __schema { types { name } } }")
        assert set(error.codes) == {"BAD_USER_INPUT"}
        assert "introspection" in error.errors[0]["message"].lower()
        assert (await client("{ viewer { role } }"))["viewer"]["role"] == "ADMIN"


async def test_cors_and_websocket_origins(pg, settings, vault, admin_token):
    app = create_app(
        settings.with_overrides(cors_origins=("https://app.example.com",)), JWT_SECRET, vault
    )
    async with serve_app(app) as handle, httpx.AsyncClient(base_url=handle.url) as http:
        preflight = {
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization,content-type",
        }
        allowed = await http.options(
            "/graphql", headers={"origin": "https://app.example.com", **preflight}
        )
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
        refused = await http.options(
            "/graphql", headers={"origin": "https://evil.example", **preflight}
        )
        assert "access-control-allow-origin" not in refused.headers
        ws_url = handle.ws_url
        with pytest.raises(websockets.InvalidStatus) as closed:
            async with websockets.connect(
                ws_url,
                subprotocols=[Subprotocol("graphql-transport-ws")],
                origin=Origin("https://evil.example"),
            ):
                pass
        assert closed.value.response.status_code == 403
        async with websockets.connect(
            ws_url,
            subprotocols=[Subprotocol("graphql-transport-ws")],
            origin=Origin("https://app.example.com"),
        ) as ws:
            await ws.send(
                json.dumps(
                    {
                        "type": "connection_init",
                        "payload": {"Authorization": f"Bearer {admin_token}"},
                    }
                )
            )
            assert json.loads(await ws.recv())["type"] == "connection_ack"


async def test_plaintext_tokens_are_encrypted_at_start(pg, settings, vault):
    await pg.execute(
        "INSERT INTO whatsapp_instances (instance_name, instance_token, "
        "display_name) VALUES ('legacy', 'PLAIN-TOKEN-123', 'Legacy')"
    )
    async with serve_app(create_app(settings, JWT_SECRET, vault)):
        stored = await pg.fetchval("SELECT instance_token FROM whatsapp_instances")
    assert stored.startswith("fernet:") and vault.decrypt(stored) == "PLAIN-TOKEN-123"


async def test_no_secret_reaches_logs_or_responses(
    server, gql, pg, evolution, vault, caplog, agent_token
):
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    async def run(
        query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = await gql.raw(query, variables, token)
        seen.append(json.dumps(body))
        return body

    created = (
        await run(
            'mutation { createInstance(input: {displayName: "Segredo"}) { id instanceName } }'
        )
    )["data"]["createInstance"]
    name = created["instanceName"]
    token = evolution.requests_to("/instance/create")[0].json["token"]
    await run("mutation($i: ID!) { connectInstance(id: $i) { status } }", {"i": created["id"]})
    evolution.fail_next(
        "/settings/set/",
        401,
        {"status": 401, "error": "Unauthorized", "response": {"message": "Unauthorized"}},
    )
    await run(
        "mutation($i: ID!) { updateInstanceSettings(instanceId: $i, input: "
        "{alwaysOnline: true}) { alwaysOnline } }",
        {"i": created["id"]},
    )
    await run("{ instances { id instanceName webhookUrl } }")
    await run("{ viewer { id } }", token="forged." + JWT_SECRET)
    payload = load_payload("messages_upsert_text", instance_name=name, token=token)
    for secret in (vault.webhook_secret(name), "wrong"):
        response = await post_webhook(gql.http, payload, secret)
        seen.append(response.text)
    await run("mutation($i: ID!) { deleteInstance(id: $i) }", {"i": created["id"]})

    secrets = [
        evolution.api_key,
        token,
        JWT_SECRET,
        vault.webhook_secret(name),
        server.runtime.settings.webhook_secret,
    ]
    logs = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    for secret in secrets:
        assert secret not in logs, "a secret reached the logs"
        assert not any(secret in text for text in seen), "a secret reached a response"
