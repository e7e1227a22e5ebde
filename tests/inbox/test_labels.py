"""Labels: free text, normalised, one spelling per number, listed with counts for an
autocomplete, live on contactEvents."""

from __future__ import annotations

from tests.helpers import Subscription
from tests.inbox.conftest import Desk

SET = """mutation($contactId: ID!, $labels: [String!]!) {
  setContactLabels(contactId: $contactId, labels: $labels) { id labels } }"""
LABELS = """query($instanceId: ID!, $prefix: String) {
  labels(instanceId: $instanceId, prefix: $prefix) { label count } }"""
EVENTS = """subscription($instanceId: ID!, $afterSeq: String) {
  contactEvents(instanceId: $instanceId, afterSeq: $afterSeq) {
    seq kind contact { id labels } } }"""


async def set_labels(desk: Desk, labels: list[str], contact: str | None = None) -> list[str]:
    data = await desk.gql(
        SET, {"contactId": contact or desk.contact_id, "labels": labels}, token=desk.agent1
    )
    return data["setContactLabels"]["labels"]  # type: ignore[no-any-return]


async def test_labels_are_trimmed_deduplicated_whatever_the_case_and_replaced(desk):
    assert await set_labels(desk, ["  VIP ", "vip", "Boleto   atrasado", "boleto ATRASADO"]) == [
        "Boleto atrasado",
        "VIP",
    ]
    assert (await desk.contact_state())["labels"] == ["Boleto atrasado", "VIP"]
    assert await set_labels(desk, ["reclamação"]) == ["reclamação"]
    assert await set_labels(desk, []) == []


async def test_a_number_keeps_the_first_spelling_and_counts_each_label(desk):
    other = await desk.pg.fetchval(
        "INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number, name) "
        "VALUES ($1, '5511988887777@s.whatsapp.net', '5511988887777', 'João') RETURNING id",
        desk.instance["id"],
    )
    await set_labels(desk, ["VIP", "Boleto"])
    # Another agent types it differently: the number's spelling is kept.
    assert await set_labels(desk, ["vip"], contact=str(other)) == ["VIP"]
    listed = (await desk.gql(LABELS, {"instanceId": desk.instance_id}))["labels"]
    assert listed == [{"label": "VIP", "count": 2}, {"label": "Boleto", "count": 1}]
    narrowed = await desk.gql(LABELS, {"instanceId": desk.instance_id, "prefix": " bO"})
    assert narrowed["labels"] == [{"label": "Boleto", "count": 1}]
    for prefix in ("%", "_"):  # matched as themselves
        none = await desk.gql(LABELS, {"instanceId": desk.instance_id, "prefix": prefix})
        assert none["labels"] == []
    error = await desk.gql.error(LABELS, {"instanceId": desk.instance_id}, token=desk.outsider)
    assert error.codes == ["NOT_FOUND"]


async def test_bad_labels_are_refused_and_change_nothing(desk):
    await set_labels(desk, ["VIP"])
    for labels in (["  "], ["x" * 41], ["duas\nlinhas"], [f"l{n}" for n in range(21)]):
        error = await desk.gql.error(
            SET, {"contactId": desk.contact_id, "labels": labels}, token=desk.agent1
        )
        assert error.codes == ["BAD_USER_INPUT"], labels
    assert (await desk.contact_state())["labels"] == ["VIP"]
    assert len(await set_labels(desk, [f"l{n}" for n in range(20)])) == 20
    error = await desk.gql.error(
        SET, {"contactId": desk.contact_id, "labels": ["x"]}, token=desk.outsider
    )
    assert error.codes == ["NOT_FOUND"]


async def test_a_label_change_reaches_contact_events(desk, server):
    seq = await desk.pg.fetchval(
        "SELECT event_seq FROM whatsapp_instances WHERE id = $1", desk.instance["id"]
    )
    async with Subscription.connect(server.ws_url, desk.agent2) as ws:
        await ws.subscribe(EVENTS, {"instanceId": desk.instance_id, "afterSeq": str(seq)})
        await set_labels(desk, ["Urgente"])
        event = (await ws.next_data())["contactEvents"]
    assert event["kind"] == "UPDATED" and int(event["seq"]) == seq + 1
    assert event["contact"] == {"id": desk.contact_id, "labels": ["Urgente"]}
