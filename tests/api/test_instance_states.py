"""The instance state is Evolution's, against a stand-in that behaves as the real v2.3.6 server
did with WhatsApp out of its reach (recorded): `connect` answers `{"count": 0}`, Evolution
posts `connection.update` `connecting` every few seconds for ever and never a QR code, while
its `connectionState` answers `close`; logout of a number that never opened answers 400."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from services.instances.reconciler import Reconciler
from tests.helpers import GraphQLClient, Subscription, wait_for

CREATE = """mutation($name: String!) { createInstance(input: {displayName: $name}) {
  id instanceName status } }"""
CONNECT = """mutation($id: ID!) { connectInstance(id: $id) { status qrCode statusDetail } }"""
DISCONNECT = """mutation($id: ID!) { disconnectInstance(id: $id) { status statusDetail } }"""
DELETE = """mutation($id: ID!) { deleteInstance(id: $id) }"""
STATUS = """query($id: ID!) { instance(id: $id) { status statusDetail } }"""
EVENTS = """subscription($id: ID) { instanceEvents(instanceId: $id) {
  kind instanceId
  instance { status statusDetail qrCode phoneNumber connectedAt disconnectedAt } } }"""


async def _create(gql: GraphQLClient) -> dict[str, Any]:
    created: dict[str, Any] = (await gql(CREATE, {"name": "Recepção"}))["createInstance"]
    return created


async def _connecting_webhooks(pg: asyncpg.Connection, instance_id: uuid.UUID) -> int:
    return int(
        await pg.fetchval(
            "SELECT count(*) FROM webhook_events WHERE instance_id = $1 "
            "AND event = 'connection.update' AND payload -> 'data' ->> 'state' = 'connecting'",
            instance_id,
        )
    )


async def _all_processed(pg: asyncpg.Connection) -> bool:
    return int(await pg.fetchval("SELECT count(*) FROM webhook_events WHERE status <> 'done'")) == 0


async def test_a_number_stuck_connecting_without_a_qr_code_says_why(server, gql, pg, evolution):
    evolution.whatsapp_reachable = False
    evolution.reconnect_seconds = 0.05
    instance = await _create(gql)
    connected = (await gql(CONNECT, {"id": instance["id"]}))["connectInstance"]
    assert connected == {"status": "CONNECTING", "qrCode": None, "statusDetail": None}
    # Evolution's loop keeps posting `connecting`; they are applied as they come.
    await wait_for(lambda: _connecting_webhooks(pg, instance["id"]))
    await wait_for(lambda: _all_processed(pg))
    reconciler = Reconciler(server.runtime)
    # Within its first minute, Evolution's `close` is the loop between two attempts.
    await pg.execute("UPDATE whatsapp_instances SET reconcile_at = NOW()")
    assert await reconciler.reconcile_due() == 0
    assert (await gql(STATUS, {"id": instance["id"]}))["instance"]["status"] == "CONNECTING"

    # A minute later still no QR code, and Evolution says `close`: Evolution's state wins.
    await pg.execute(
        "UPDATE whatsapp_instances SET reconcile_at = NOW(), "
        "connecting_since = NOW() - $1::interval",
        timedelta(seconds=61),
    )
    assert await reconciler.reconcile_due() == 1
    state = (await gql(STATUS, {"id": instance["id"]}))["instance"]
    assert state["status"] == "DISCONNECTED" and "No QR code" in state["statusDetail"]
    # The loop's later `connecting` webhooks do not flip it back.
    seen = await _connecting_webhooks(pg, instance["id"])
    await wait_for(lambda: _more_than(pg, instance["id"], seen))
    await wait_for(lambda: _all_processed(pg))
    assert (await gql(STATUS, {"id": instance["id"]}))["instance"]["status"] == "DISCONNECTED"

    # connectInstance can be asked again.
    again = (await gql(CONNECT, {"id": instance["id"]}))["connectInstance"]
    assert again["status"] == "CONNECTING" and again["statusDetail"] is None


async def _more_than(pg: asyncpg.Connection, instance_id: uuid.UUID, seen: int) -> bool:
    return await _connecting_webhooks(pg, instance_id) > seen


async def test_the_reconciler_checks_every_number_not_connected_even_while_webhooks_come(
    server, gql, pg, evolution
):
    instance = await _create(gql)
    await gql(CONNECT, {"id": instance["id"]})  # a QR code: QR_CODE
    evolution.instances[instance["instanceName"]].state = "open"  # scanned, webhook lost
    # Webhooks keep arriving (updated_at is fresh): it is checked all the same.
    await pg.execute("UPDATE whatsapp_instances SET updated_at = NOW()")
    assert await Reconciler(server.runtime).reconcile_due() == 1
    assert (await gql(STATUS, {"id": instance["id"]}))["instance"]["status"] == "CONNECTED"


async def test_disconnecting_a_number_that_never_opened_stops_evolutions_loop(
    server, gql, pg, evolution
):
    evolution.whatsapp_reachable = False
    evolution.reconnect_seconds = 0.05
    instance = await _create(gql)
    name = instance["instanceName"]
    await gql(CONNECT, {"id": instance["id"]})
    await wait_for(lambda: _connecting_webhooks(pg, instance["id"]))
    token_before = evolution.instances[name].token
    hook_before = evolution.instances[name].webhook

    disconnected = (await gql(DISCONNECT, {"id": instance["id"]}))["disconnectInstance"]
    assert disconnected["status"] == "DISCONNECTED"
    # Logout refused (400 "is not connected"): the instance was made again on Evolution, with
    # the same name, token and webhook, and it is not connecting.
    calls = [
        f"{r.method} {r.path.split('/')[2]}"
        for r in evolution.requests
        if r.path.startswith("/instance/")
    ]
    after = calls[calls.index("DELETE logout") :]
    assert after[:2] == ["DELETE logout", "DELETE delete"] and after[-1] == "POST create"
    recreated = evolution.instances[name]
    assert recreated.token == token_before and recreated.webhook == hook_before
    assert recreated.state == "close"
    # Whatever Evolution still posts (the old socket's `connecting`, remove.instance) leaves it
    # DISCONNECTED: seconds later, and after the reconciler asked Evolution.
    seen = await _connecting_webhooks(pg, instance["id"])
    await wait_for(lambda: _more_than(pg, instance["id"], seen))
    await wait_for(lambda: _all_processed(pg))
    await pg.execute("UPDATE whatsapp_instances SET reconcile_at = NOW()")
    await Reconciler(server.runtime).reconcile_due()
    state = (await gql(STATUS, {"id": instance["id"]}))["instance"]
    assert state == {"status": "DISCONNECTED", "statusDetail": "Logged out"}


async def test_delete_is_clean_whatever_evolution_answers_and_posts_after(
    server, gql, pg, evolution
):
    instance = await _create(gql)
    name = instance["instanceName"]
    assert await gql(DELETE, {"id": instance["id"]}) == {"deleteInstance": instance["id"]}
    # Evolution posts remove.instance once our row is gone: answered 200, not a failure.
    await wait_for(lambda: ("remove.instance", 200) in evolution.webhook_answers)
    assert all(status == 200 for _event, status in evolution.webhook_answers)
    # A webhook for a name that was never ours is still refused.
    other = await _create(gql)
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_instances") == 1
    assert other["instanceName"] != name


async def test_delete_after_evolution_deleted_it_already(server, gql, pg, evolution):
    first, second = await _create(gql), await _create(gql)
    # Evolution answers a repeated delete 200 for a while (the first), then 404 (the second).
    evolution.fail_next(
        f"/instance/delete/{first['instanceName']}",
        200,
        {"status": "SUCCESS", "error": False, "response": {"message": "Instance deleted"}},
    )
    evolution.fail_next(
        f"/instance/delete/{second['instanceName']}",
        404,
        {
            "status": 404,
            "error": "Not Found",
            "response": {"message": [f'The "{second["instanceName"]}" instance does not exist']},
        },
    )
    for instance in (first, second):
        assert (await gql(DELETE, {"id": instance["id"]}))["deleteInstance"] == instance["id"]
    assert await pg.fetchval("SELECT count(*) FROM whatsapp_instances") == 0


@pytest.mark.parametrize(
    ("payload", "detail"),
    [("logout_instance", "Logged out"), ("remove_instance", "Removed from Evolution API")],
)
async def test_logout_or_remove_of_a_connected_number_disconnects_it(
    server, gql, pg, evolution, admin_token, payload, detail
):
    """The phone unlinked the device (`logout.instance`) or someone deleted the instance on
    Evolution's side (`remove.instance`) while it was live: it is no longer connected, and the
    connection modal hears it at once."""
    instance = await _create(gql)
    name = instance["instanceName"]
    await gql(CONNECT, {"id": instance["id"]})
    assert await evolution.open_connection(name) == 200
    await wait_for(lambda: _all_processed(pg))
    assert (await gql(STATUS, {"id": instance["id"]}))["instance"]["status"] == "CONNECTED"

    async with Subscription.connect(server.ws_url, admin_token) as ws:
        await ws.subscribe(EVENTS, {"id": instance["id"]})
        await wait_for(lambda: server.runtime.bus.subscriber_count > 0)
        assert await evolution.emit_payload_file(name, f"{payload}.json") == 200
        event = (await ws.next_data())["instanceEvents"]
    assert (event["kind"], event["instanceId"]) == ("STATUS", instance["id"])
    live = event["instance"]
    assert (live["status"], live["statusDetail"], live["qrCode"]) == ("DISCONNECTED", detail, None)
    assert live["disconnectedAt"] is not None and live["connectedAt"] is not None
    # What the number was is kept, for the screen that offers to connect it again.
    assert live["phoneNumber"] == "5511999990001"
    await wait_for(lambda: _all_processed(pg))
    assert await pg.fetchval("SELECT count(*) FROM webhook_events WHERE status = 'failed'") == 0
    state = (await gql(STATUS, {"id": instance["id"]}))["instance"]
    assert state == {"status": "DISCONNECTED", "statusDetail": detail}
