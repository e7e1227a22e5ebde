"""Internal notes: NOTE messages in the conversation for the team, live, never sent, never
unread, never a reply."""

from __future__ import annotations

from tests.helpers import Subscription, settled
from tests.inbox.conftest import Desk

NOTE = """mutation($contactId: ID!, $text: String!) {
  addNote(contactId: $contactId, text: $text) {
    id messageType fromMe status textContent sentBy { id fullName } } }"""
HISTORY = """query($id: ID!) { messages(contactId: $id, first: 10) {
  edges { node { id messageType textContent sentBy { id } } } } }"""
MESSAGE_EVENTS = """subscription($instanceId: ID!, $afterSeq: String) {
  messageEvents(instanceId: $instanceId, afterSeq: $afterSeq) {
    seq kind message { id messageType fromMe textContent sentBy { id } } } }"""


async def add_note(desk: Desk, token: str, text: str) -> dict[str, object]:
    data = await desk.gql(NOTE, {"contactId": desk.contact_id, "text": text}, token=token)
    return data["addNote"]  # type: ignore[no-any-return]


async def test_a_note_is_in_the_history_and_live_with_its_author(desk, server):
    await desk.customer_writes("Oi")
    seq = await desk.pg.fetchval(
        "SELECT event_seq FROM whatsapp_instances WHERE id = $1", desk.instance["id"]
    )
    async with Subscription.connect(server.ws_url, desk.agent2) as ws:
        await ws.subscribe(MESSAGE_EVENTS, {"instanceId": desk.instance_id, "afterSeq": str(seq)})
        note = await add_note(desk, desk.agent1, "  Cliente VIP: oferecer frete grátis  ")
        event = (await ws.next_data())["messageEvents"]
    assert note["messageType"] == "NOTE" and note["fromMe"] is True
    assert note["textContent"] == "Cliente VIP: oferecer frete grátis"
    assert note["sentBy"] == {"id": str(desk.agent1_id), "fullName": "Bia Agente"}
    assert event["kind"] == "CREATED"
    assert event["message"] == {
        "id": note["id"],
        "messageType": "NOTE",
        "fromMe": True,
        "textContent": "Cliente VIP: oferecer frete grátis",
        "sentBy": {"id": str(desk.agent1_id)},
    }
    history = (await desk.gql(HISTORY, {"id": desk.contact_id}))["messages"]["edges"]
    assert history[0]["node"]["id"] == note["id"]


async def test_a_note_is_never_sent_unread_a_reply_or_an_assignment(desk, evolution):
    await desk.customer_writes("Oi")
    before = await desk.contact_state(desk.agent2)
    note = await add_note(desk, desk.agent1, "Verificar pedido no ERP")
    assert (await desk.contact_state())["firstResponseAt"] is None
    # The outbox runs (woken by the reply) and sends the reply only.
    sent = await desk.reply(desk.agent2, "Olá!")
    assert await settled(desk.pg, sent["id"]) == ["sent"]
    requests = evolution.requests_to("/message/send")
    assert all("ERP" not in (r.json or {}).get("text", "") for r in requests)
    assert len(requests) == 1  # the reply only
    row = await desk.pg.fetchrow(
        "SELECT status, message_type FROM whatsapp_messages WHERE id = $1::uuid", note["id"]
    )
    assert dict(row) == {"status": "sent", "message_type": "note"}
    after = await desk.contact_state(desk.agent2)
    assert after["unreadCount"] == before["unreadCount"] == 1  # the customer's message only
    # The reply, not the earlier note, is the first response and what assigned it.
    assert after["assignee"] == {"id": str(desk.agent2_id)}
    reply_at = await desk.pg.fetchval(
        "SELECT timestamp FROM whatsapp_messages WHERE id = $1::uuid", sent["id"]
    )
    cycle = await desk.pg.fetchrow(
        "SELECT opened_at, first_response_at FROM whatsapp_contacts WHERE id = $1",
        desk.contact["id"],
    )
    # Our times have whole seconds: a reply of the opening's own second counts from the opening.
    assert cycle["first_response_at"] == max(reply_at, cycle["opened_at"])
    # The list shows the WhatsApp conversation: the note is not its last message.
    assert after["lastMessage"]["id"] == sent["id"]


async def test_a_note_alone_leaves_the_conversation_unanswered_and_unassigned(desk):
    await desk.customer_writes("Oi")
    await add_note(desk, desk.agent1, "Vou ver isso amanhã")
    state = await desk.contact_state()
    assert state["firstResponseAt"] is None and state["assignee"] is None
    assert state["lastMessage"]["messageType"] == "TEXT"


async def test_bad_notes_are_refused(desk):
    for text in ("   ", "x" * 4097, "nul\x00byte"):
        error = await desk.gql.error(
            NOTE, {"contactId": desk.contact_id, "text": text}, token=desk.agent1
        )
        assert error.codes == ["BAD_USER_INPUT"], text
    error = await desk.gql.error(
        NOTE, {"contactId": desk.contact_id, "text": "oi"}, token=desk.outsider
    )
    assert error.codes == ["NOT_FOUND"]
    assert await desk.pg.fetchval("SELECT count(*) FROM whatsapp_messages") == 0
