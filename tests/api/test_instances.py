"""The number's life cycle against the Evolution API stand-in over real HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.instances.evolution import EvolutionClient
from tests.helpers import GraphQLClient, Subscription, wait_for

CREATE = """mutation($name: String!) { createInstance(input: {displayName: $name}) {
  id instanceName displayName status webhookUrl } }"""
CONNECT = """mutation($id: ID!, $phone: String) { connectInstance(id: $id, phoneNumber: $phone) {
  status qrCode qrCodeText pairingCode } }"""
EVENTS = """subscription($id: ID) { instanceEvents(instanceId: $id) {
  kind instanceId instance { status qrCode phoneNumber profileName } } }"""
SETTINGS = """mutation($id: ID!, $input: InstanceSettingsInput!) {
  updateInstanceSettings(instanceId: $id, input: $input) {
    id instanceId rejectCalls rejectCallMessage ignoreGroups alwaysOnline readMessages
    autoReplyEnabled autoReplyMessage availabilitySchedule timezone } }"""


async def create(gql: GraphQLClient, name: str = "Atendimento Avaliatec") -> dict[str, Any]:
    created: dict[str, Any] = (await gql(CREATE, {"name": name}))["createInstance"]
    return created


async def test_create_connect_scan_settings_logout_delete(
    server, gql, pg, evolution, admin_token, admin_id
):
    instance = await create(gql)
    name = instance["instanceName"]
    assert name.startswith("atendimento-avaliatec-") and instance["status"] == "DISCONNECTED"
    # Its own URL: a delivery is authenticated from the path and headers before its body.
    assert instance["webhookUrl"] == server.url + "/api/webhooks/evolution/i/" + name

    [request] = evolution.requests_to("/instance/create")
    assert request.headers["apikey"] == evolution.api_key  # the global key, only here
    body = request.json
    assert body["integration"] == "WHATSAPP-BAILEYS" and body["instanceName"] == name
    assert body["webhook"]["url"] == instance["webhookUrl"]
    assert "MESSAGES_UPSERT" in body["webhook"]["events"]
    assert body["webhook"]["headers"]["x-atendimento-secret"]
    assert body["groupsIgnore"] is True and body["alwaysOnline"] is False
    token = body["token"]
    stored = await pg.fetchrow("SELECT instance_token FROM whatsapp_instances")
    assert stored["instance_token"].startswith("fernet:") and token not in stored["instance_token"]
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_instance_settings") == 1
    assert await pg.fetchval("SELECT profile_id FROM whatsapp_instance_members") == admin_id

    connected = (await gql(CONNECT, {"id": instance["id"]}))["connectInstance"]
    assert connected["status"] == "QR_CODE"
    assert connected["qrCode"].startswith("data:image/png;base64,") and connected["qrCodeText"]
    assert evolution.requests_to("/instance/connect/")[0].headers["apikey"] == token

    async with Subscription.connect(server.ws_url, admin_token) as ws:
        await ws.subscribe(EVENTS, {"id": instance["id"]})
        await wait_for(lambda: server.runtime.bus.subscriber_count > 0)
        assert await evolution.emit_qrcode(name) == 200
        event = (await ws.next_data())["instanceEvents"]
        assert event["kind"] == "QR_CODE" and event["instance"]["status"] == "QR_CODE"
        assert await evolution.open_connection(name) == 200
        event = (await ws.next_data())["instanceEvents"]
    assert event["kind"] == "STATUS"
    assert event["instance"] == {
        "status": "CONNECTED",
        "qrCode": None,
        "phoneNumber": "5511999990001",
        "profileName": "Acme Atendimento",
    }

    settings = (
        await gql(
            SETTINGS,
            {
                "id": instance["id"],
                "input": {
                    "rejectCalls": True,
                    "rejectCallMessage": "Não atendemos ligações, mande mensagem.",
                    "autoReplyEnabled": True,
                    "autoReplyMessage": "Voltamos às 8h.",
                    "availabilitySchedule": {
                        "monday": {"enabled": True, "start": "08:00", "end": "18:00"}
                    },
                },
            },
        )
    )["updateInstanceSettings"]
    assert settings["rejectCalls"] and settings["autoReplyEnabled"]
    assert settings["id"] == settings["instanceId"] == instance["id"]  # cache key: the number's
    assert settings["availabilitySchedule"] == {
        "monday": {"enabled": True, "start": "08:00", "end": "18:00"}
    }
    assert settings["timezone"] == "America/Sao_Paulo"
    [pushed] = evolution.requests_to("/settings/set/")
    assert pushed.headers["apikey"] == token
    assert pushed.json["rejectCall"] is True
    assert pushed.json["msgCall"] == "Não atendemos ligações, mande mensagem."

    disconnected = (
        await gql(
            "mutation($id: ID!) { disconnectInstance(id: $id) { status } }", {"id": instance["id"]}
        )
    )["disconnectInstance"]
    assert disconnected["status"] == "DISCONNECTED"
    assert evolution.requests_to("/instance/logout/")

    assert (await gql("mutation($id: ID!) { deleteInstance(id: $id) }", {"id": instance["id"]}))[
        "deleteInstance"
    ] == instance["id"]
    assert evolution.requests_to("/instance/delete/")
    await wait_for(lambda: name not in evolution.instances)
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_instances") == 0


async def test_pairing_code_with_a_phone_number(gql, evolution):
    instance = await create(gql)
    data = await gql(CONNECT, {"id": instance["id"], "phone": "+55 (11) 99999-0001"})
    assert data["connectInstance"]["pairingCode"]
    assert evolution.requests_to("/instance/connect/")[0].query["number"] == "5511999990001"


async def test_not_configured_names_the_variables_and_stores_nothing(server, gql, pg):
    server.runtime.settings = server.runtime.settings.with_overrides(evolution_api_key=None)
    error = await gql.error(CREATE, {"name": "X"})
    assert error.codes == ["EVOLUTION_NOT_CONFIGURED"]
    assert "EVOLUTION_API_KEY" in error.errors[0]["message"]
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_instances") == 0


async def test_evolution_down_is_unavailable_and_leaves_nothing_half_made(
    server, gql, pg, evolution
):
    server.runtime.evolution = EvolutionClient(
        evolution.down_url, evolution.api_key, timeout=2.0, retry_seconds=0.5
    )
    error = await gql.error(CREATE, {"name": "X"})
    assert error.codes == ["EVOLUTION_UNAVAILABLE"]
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_instances") == 0


@pytest.mark.parametrize("status", [401, 403, 500])
async def test_evolution_errors_are_passed_on_and_nothing_is_kept(gql, pg, evolution, status):
    body = {"status": status, "error": "x", "response": {"message": [f"boom {status}"]}}
    evolution.fail_next("/instance/create", status, body, times=10)
    error = await gql.error(CREATE, {"name": "X"})
    assert error.codes == ["EVOLUTION_ERROR"]
    assert f"boom {status}" in error.errors[0]["message"]
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_instances") == 0


async def test_slow_evolution_times_out_as_unavailable(gql, pg, evolution):
    evolution.delay_next("/instance/create", 5.0, times=5)
    error = await gql.error(CREATE, {"name": "X"})
    assert error.codes == ["EVOLUTION_UNAVAILABLE"]
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_instances") == 0


async def test_failed_settings_push_changes_nothing(gql, pg, evolution):
    instance = await create(gql)
    evolution.fail_next(
        "/settings/set/",
        400,
        {"status": 400, "error": "Bad Request", "response": {"message": [["bad settings"]]}},
    )
    error = await gql.error(SETTINGS, {"id": instance["id"], "input": {"alwaysOnline": True}})
    assert error.codes == ["EVOLUTION_ERROR"] and "bad settings" in error.errors[0]["message"]
    assert await pg.fetchval("SELECT always_online FROM whatsapp_instance_settings") is False


@pytest.mark.parametrize(
    ("settings_input", "field"),
    [
        (
            {
                "availabilitySchedule": {
                    "funday": {"enabled": True, "start": "08:00", "end": "18:00"}
                }
            },
            "availabilitySchedule.funday",
        ),
        (
            {"availabilitySchedule": {"monday": {"enabled": True, "start": "8h", "end": "18:00"}}},
            "availabilitySchedule.monday.start",
        ),
        ({"timezone": "Mars/Base"}, "timezone"),
        ({"autoReplyEnabled": True}, "autoReplyMessage"),
        ({"autoReplyCooldownMinutes": 0}, "autoReplyCooldownMinutes"),
        ({"rejectCalls": None}, "rejectCalls"),
    ],
)
async def test_invalid_settings_are_refused_naming_the_field(
    gql, pg, evolution, settings_input, field
):
    instance = await create(gql)
    error = await gql.error(SETTINGS, {"id": instance["id"], "input": settings_input})
    assert error.codes == ["BAD_USER_INPUT"]
    assert error.errors[0]["extensions"]["field"] == field
    assert not evolution.requests_to("/settings/set/")


async def test_delete_when_evolution_already_forgot_it(gql, pg, evolution):
    instance = await create(gql)
    evolution.instances.clear()  # deleted on Evolution's side meanwhile → 404 there
    await gql("mutation($id: ID!) { deleteInstance(id: $id) }", {"id": instance["id"]})
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_instances") == 0


async def test_agents_cannot_manage_numbers(gql, agent_token, pg):
    error = await gql.error(CREATE, {"name": "X"}, token=agent_token)
    assert error.codes == ["FORBIDDEN"]
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_instances") == 0


async def test_agents_see_only_their_numbers(gql, pg, agent_token, agent_id):
    mine = await create(gql, "Mine")
    await create(gql, "Other")
    await gql("{ viewer { id } }", token=agent_token)  # creates the agent's profile
    await pg.execute(
        "INSERT INTO whatsapp_instance_members (instance_id, profile_id) VALUES ($1, $2)",
        uuid.UUID(mine["id"]),
        agent_id,
    )
    listed = (await gql("{ instances { id } }", token=agent_token))["instances"]
    assert [i["id"] for i in listed] == [mine["id"]]
