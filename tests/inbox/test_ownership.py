"""Ownership and status of a conversation through the GraphQL API: automatic moves (an
incoming message reopens, an agent's reply assigns), who may assign whom, and two agents
taking one conversation at once."""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers import GraphQLError, Subscription
from tests.inbox.conftest import Desk

ASSIGN = """mutation($contactId: ID!, $profileId: ID) {
  assignContact(contactId: $contactId, profileId: $profileId) { id assignee { id } } }"""
STATUS = """mutation($contactId: ID!, $status: ConversationStatus!) {
  setContactStatus(contactId: $contactId, status: $status) { id status resolvedAt } }"""
CONTACT_EVENTS = """subscription($instanceId: ID!, $afterSeq: String) {
  contactEvents(instanceId: $instanceId, afterSeq: $afterSeq) {
    seq kind contact { id status assignee { id } labels } } }"""


async def assign(desk: Desk, token: str, profile_id: object | None) -> dict[str, object]:
    variables = {"contactId": desk.contact_id, "profileId": profile_id and str(profile_id)}
    return (await desk.gql(ASSIGN, variables, token=token))["assignContact"]  # type: ignore[no-any-return]


async def assign_error(desk: Desk, token: str, profile_id: object | None) -> list[str]:
    variables = {"contactId": desk.contact_id, "profileId": profile_id and str(profile_id)}
    return (await desk.gql.error(ASSIGN, variables, token=token)).codes


async def set_status(desk: Desk, token: str, status: str) -> dict[str, object]:
    variables = {"contactId": desk.contact_id, "status": status}
    return (await desk.gql(STATUS, variables, token=token))["setContactStatus"]  # type: ignore[no-any-return]


async def test_a_new_conversation_is_open_and_an_incoming_message_reopens_a_resolved_one(desk):
    await desk.customer_writes("Oi")
    first = await desk.contact_state()
    assert first["status"] == "OPEN" and first["openedAt"] is not None
    assert first["resolvedAt"] is None and first["assignee"] is None

    resolved = await set_status(desk, desk.admin, "RESOLVED")
    assert resolved["status"] == "RESOLVED" and resolved["resolvedAt"] is not None

    await desk.customer_writes("Voltei, mais uma dúvida")
    reopened = await desk.contact_state()
    assert reopened["status"] == "OPEN"
    assert reopened["resolvedAt"] is None and reopened["firstResponseAt"] is None
    assert reopened["openedAt"] >= first["openedAt"]
    log = await desk.pg.fetch(
        "SELECT kind, status FROM whatsapp_conversation_log WHERE contact_id = $1 ORDER BY id",
        desk.contact["id"],
    )
    assert [(r["kind"], r["status"]) for r in log] == [
        ("opened", "open"),
        ("status", "resolved"),
        ("opened", "open"),
    ]


async def test_pending_stays_pending_when_the_customer_writes(desk):
    await desk.customer_writes("Oi")
    await set_status(desk, desk.admin, "PENDING")
    await desk.customer_writes("Alguma novidade?")
    assert (await desk.contact_state())["status"] == "PENDING"


async def test_an_agents_reply_assigns_an_unassigned_conversation_and_is_its_first_response(desk):
    await desk.customer_writes("Oi")
    sent = await desk.reply(desk.agent1)
    assert sent["sentBy"] == {"id": str(desk.agent1_id)}
    state = await desk.contact_state()
    assert state["assignee"] == {"id": str(desk.agent1_id)}
    assert state["firstResponseAt"] is not None and state["firstResponseAt"] >= state["openedAt"]

    # A colleague's later reply neither takes the conversation nor moves the first response.
    await desk.reply(desk.agent2, "Complementando")
    later = await desk.contact_state()
    assert later["assignee"] == {"id": str(desk.agent1_id)}
    assert later["firstResponseAt"] == state["firstResponseAt"]


async def test_a_reply_by_someone_who_is_not_a_member_leaves_it_unassigned(desk):
    await desk.customer_writes("Oi")
    await desk.reply(desk.admin)  # admins see every number, but only members are assigned
    state = await desk.contact_state()
    assert state["assignee"] is None
    assert state["firstResponseAt"] is not None  # still the customer's first answer


async def test_agents_take_and_release_only_their_own_and_admins_assign_anyone(desk):
    agent1, agent2 = desk.agent1_id, desk.agent2_id
    assert (await assign(desk, desk.agent1, agent1))["assignee"] == {"id": str(agent1)}
    # A colleague can neither take it over, nor release it, nor hand it to someone.
    assert await assign_error(desk, desk.agent2, agent2) == ["FORBIDDEN"]
    assert await assign_error(desk, desk.agent2, None) == ["FORBIDDEN"]
    assert await assign_error(desk, desk.agent1, agent2) == ["FORBIDDEN"]
    forbidden = await desk.gql.error(
        STATUS, {"contactId": desk.contact_id, "status": "RESOLVED"}, token=desk.agent2
    )
    assert forbidden.codes == ["FORBIDDEN"]
    # Not a member of the number: the number does not exist for them.
    assert await assign_error(desk, desk.outsider, None) == ["NOT_FOUND"]

    # The admin moves it to the colleague; only members can be assigned.
    assert (await assign(desk, desk.admin, agent2))["assignee"] == {"id": str(agent2)}
    assert await assign_error(desk, desk.admin, "not-an-id") == ["BAD_USER_INPUT"]
    stranger = await desk.pg.fetchval(
        "INSERT INTO profiles (id, role) VALUES (gen_random_uuid(), 'agent') RETURNING id"
    )
    assert await assign_error(desk, desk.admin, stranger) == ["BAD_USER_INPUT"]

    # The owner resolves and releases their own conversation.
    assert (await set_status(desk, desk.agent2, "RESOLVED"))["status"] == "RESOLVED"
    assert (await assign(desk, desk.agent2, None))["assignee"] is None
    # Unassigned again: any member may take it, or move its status.
    assert (await set_status(desk, desk.agent1, "OPEN"))["status"] == "OPEN"
    assert (await assign(desk, desk.agent1, agent1))["assignee"] == {"id": str(agent1)}
    assignments = await desk.pg.fetch(
        "SELECT assignee_id, actor_id FROM whatsapp_conversation_log "
        "WHERE contact_id = $1 AND kind = 'assigned' ORDER BY id",
        desk.contact["id"],
    )
    assert [r["assignee_id"] for r in assignments] == [agent1, agent2, None, agent1]
    assert assignments[1]["actor_id"] is not None  # the admin, recorded as who did it


async def test_profiles_lists_who_can_be_assigned(desk):
    query = "query($id: ID) { profiles(instanceId: $id) { id fullName role } }"
    members = (await desk.gql(query, {"id": desk.instance_id}, token=desk.agent1))["profiles"]
    assert {p["id"] for p in members} == {str(desk.agent1_id), str(desk.agent2_id)}
    mine = (await desk.gql(query, {}, token=desk.agent2))["profiles"]
    assert {p["id"] for p in mine} == {str(desk.agent1_id), str(desk.agent2_id)}
    error = await desk.gql.error(query, {"id": desk.instance_id}, token=desk.outsider)
    assert error.codes == ["NOT_FOUND"]


async def test_two_agents_taking_one_conversation_at_once_leave_one_owner_seen_by_both(
    desk, server
):
    await desk.customer_writes("Oi")
    contact = desk.contact_id
    async with (
        Subscription.connect(server.ws_url, desk.agent1) as ws1,
        Subscription.connect(server.ws_url, desk.agent2) as ws2,
    ):
        seq = await desk.pg.fetchval(
            "SELECT event_seq FROM whatsapp_instances WHERE id = $1", desk.instance["id"]
        )
        for ws in (ws1, ws2):
            await ws.subscribe(
                CONTACT_EVENTS, {"instanceId": desk.instance_id, "afterSeq": str(seq)}
            )
        owners = []
        for _ in range(5):
            results = await asyncio.gather(
                assign(desk, desk.agent1, desk.agent1_id),
                assign(desk, desk.agent2, desk.agent2_id),
                return_exceptions=True,
            )
            won = [r for r in results if isinstance(r, dict)]
            lost = [r for r in results if isinstance(r, GraphQLError)]
            assert len(won) == 1 and len(lost) == 1, results
            assert lost[0].codes == ["FORBIDDEN"]
            owner = won[0]["assignee"]
            stored = await desk.pg.fetchval(
                "SELECT assignee_id FROM whatsapp_contacts WHERE id = $1", desk.contact["id"]
            )
            assert owner == {"id": str(stored)}
            owners.append(owner)
            await assign(desk, desk.admin, None)
        final = await assign(desk, desk.agent2, desk.agent2_id)

        async def last_seen(ws: Subscription) -> dict[str, object]:
            while True:
                event = (await ws.next_data())["contactEvents"]
                assert event["kind"] == "UPDATED" and event["contact"]["id"] == contact
                if event["contact"]["assignee"] == final["assignee"]:
                    return event  # type: ignore[no-any-return]

        seen1, seen2 = await asyncio.gather(last_seen(ws1), last_seen(ws2))
    assert seen1 == seen2  # the same event (seq) with the same final state
    assert int(str(seen1["seq"])) > int(seq)


async def test_every_change_reaches_contact_events_and_resumes_with_after_seq(desk, server):
    await desk.customer_writes("Oi")
    seq = await desk.pg.fetchval(
        "SELECT event_seq FROM whatsapp_instances WHERE id = $1", desk.instance["id"]
    )
    # While nobody listens: a status change, an assignment, a reopening by the customer.
    await set_status(desk, desk.agent1, "RESOLVED")
    await assign(desk, desk.agent1, desk.agent1_id)
    await desk.customer_writes("Voltei")
    async with Subscription.connect(server.ws_url, desk.agent2) as ws:
        await ws.subscribe(CONTACT_EVENTS, {"instanceId": desk.instance_id, "afterSeq": str(seq)})
        # Resolved, assigned, then the message moved the conversation up and reopened it.
        events = [(await ws.next_data())["contactEvents"] for _ in range(4)]
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive(timeout=0.5)
    assert all(e["kind"] == "UPDATED" for e in events)
    seqs = [int(e["seq"]) for e in events]
    assert seqs == sorted(seqs) and seqs[0] > seq
    # Each event carries the contact as it is now: the end state, resolved then reopened.
    assert events[-1]["contact"]["status"] == "OPEN"
    assert events[-1]["contact"]["assignee"] == {"id": str(desk.agent1_id)}
