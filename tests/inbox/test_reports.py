"""Reports over the stored history and the conversation log: first response (auto-replies and
notes do not count), resolution, per agent, in any time zone; and the CSV per conversation."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from tests.helpers import wait_for
from tests.inbox.conftest import Desk

REPORT = """query($instanceId: ID, $from: DateTime!, $to: DateTime!) {
  report(instanceId: $instanceId, from: $from, to: $to) {
    conversations resolved messagesReceived messagesSent
    firstResponseSeconds { p50 p90 } resolutionSeconds { p50 p90 }
    byAgent { profile { id } conversations resolved messagesSent
              firstResponseSeconds { p50 p90 } resolutionSeconds { p50 } }
  } }"""


def pct(values: list[float], q: float) -> float:
    """PostgreSQL's percentile_cont: linear between the closest ranks."""
    values = sorted(values)
    position = q * (len(values) - 1)
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


async def ts(desk: Desk, sql: str, *args: Any) -> datetime:
    value: datetime = await desk.pg.fetchval(sql, *args)
    return value


@pytest.fixture
async def history(desk: Desk) -> dict[str, Any]:
    """Two conversations of one contact: the first answered by agent 1 after an auto-reply
    and a note, then resolved; the second (the customer came back) answered by the admin."""
    await desk.pg.execute(
        "UPDATE whatsapp_instance_settings SET auto_reply_enabled = true, "
        "auto_reply_message = 'Fora do horário', availability_schedule = $1::jsonb",
        json.dumps({"sunday": {"enabled": False, "start": "00:00", "end": "24:00"}}),
    )  # closed every day: every fresh incoming message gets the auto-reply
    first_in = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=90)
    await desk.customer_writes("Oi", at=first_in)
    await wait_for(
        lambda: desk.pg.fetchval(
            "SELECT count(*) FROM whatsapp_messages WHERE metadata->>'kind' = 'auto_reply'"
        )
    )
    await desk.gql(
        'mutation($c: ID!) { addNote(contactId: $c, text: "ver ERP") { id } }',
        {"c": desk.contact_id},
        token=desk.agent1,
    )
    reply1 = await desk.reply(desk.agent1)
    await desk.gql(
        "mutation($c: ID!) { setContactStatus(contactId: $c, status: RESOLVED) { id } }",
        {"c": desk.contact_id},
        token=desk.agent1,
    )
    second_in = datetime.now(UTC).replace(microsecond=0)
    await desk.customer_writes("Voltei", at=second_in)
    reply2 = await desk.reply(desk.admin)
    message_at = "SELECT timestamp FROM whatsapp_messages WHERE id = $1::uuid"
    resolved_at = await ts(
        desk, "SELECT at FROM whatsapp_conversation_log WHERE status = 'resolved'"
    )
    opened_at = await ts(desk, "SELECT min(at) FROM whatsapp_conversation_log")
    return {
        "first_response": [
            ((await ts(desk, message_at, reply1["id"])) - first_in).total_seconds(),
            ((await ts(desk, message_at, reply2["id"])) - second_in).total_seconds(),
        ],
        "resolution": (resolved_at - opened_at).total_seconds(),
        "start": first_in - timedelta(minutes=5),
        "end": datetime.now(UTC) + timedelta(minutes=5),
    }


async def report(desk: Desk, token: str, start: datetime, end: datetime, **extra: Any) -> Any:
    variables = {"from": start.isoformat(), "to": end.isoformat(), **extra}
    return (await desk.gql(REPORT, variables, token=token))["report"]


async def test_the_report_counts_conversations_replies_and_resolutions(desk, history):
    h = history
    got = await report(desk, desk.agent2, h["start"], h["end"], instanceId=desk.instance_id)
    frt = h["first_response"]
    assert got["conversations"] == 2 and got["resolved"] == 1
    assert got["messagesReceived"] == 2
    assert got["messagesSent"] == 3  # the auto-reply and two replies; the note is no message
    assert got["firstResponseSeconds"]["p50"] == pytest.approx(pct(frt, 0.5), abs=0.002)
    assert got["firstResponseSeconds"]["p90"] == pytest.approx(pct(frt, 0.9), abs=0.002)
    assert got["resolutionSeconds"]["p50"] == pytest.approx(h["resolution"], abs=0.002)
    agents = {a["profile"]["id"]: a for a in got["byAgent"]}
    agent1 = agents[str(desk.agent1_id)]
    assert (agent1["conversations"], agent1["resolved"], agent1["messagesSent"]) == (1, 1, 1)
    # The auto-reply came first and the note after it: neither is the first response.
    assert agent1["firstResponseSeconds"]["p50"] == pytest.approx(frt[0], abs=0.002)
    assert frt[0] >= 1
    admin = next(a for key, a in agents.items() if key != str(desk.agent1_id))
    assert (admin["conversations"], admin["resolved"], admin["messagesSent"]) == (1, 0, 1)
    assert str(desk.agent2_id) not in agents


async def test_an_unanswered_conversation_has_no_response_time(desk):
    """Not a response in 0 s: it is left out of the percentiles, and its CSV cells are empty."""
    start = datetime.now(UTC) - timedelta(minutes=5)
    await desk.customer_writes("Alguém aí?", at=datetime.now(UTC).replace(microsecond=0))
    end = datetime.now(UTC) + timedelta(minutes=5)
    got = await report(desk, desk.admin, start, end, instanceId=desk.instance_id)
    assert got["conversations"] == 1
    assert got["firstResponseSeconds"] == {"p50": None, "p90": None}
    assert got["resolutionSeconds"] == {"p50": None, "p90": None}
    answer = await desk.gql.http.get(
        "/reports/conversations.csv",
        params={"instanceId": desk.instance_id, "from": start.isoformat(), "to": end.isoformat()},
        headers={"Authorization": f"Bearer {desk.admin}"},
    )
    (row,) = csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig")))
    assert row["first_response_seconds"] == "" and row["resolution_seconds"] == ""


async def test_the_same_instants_in_any_time_zone_give_the_same_report(desk, history):
    h = history
    utc = await report(desk, desk.admin, h["start"], h["end"])
    for zone in (timezone(timedelta(hours=-3)), timezone(timedelta(hours=5, minutes=30))):
        shifted = await report(
            desk, desk.admin, h["start"].astimezone(zone), h["end"].astimezone(zone)
        )
        assert shifted == utc
    # Periods are [from, to): one that ends at the customer's first message holds nothing.
    first = await ts(desk, "SELECT min(timestamp) FROM whatsapp_messages")
    before = await report(desk, desk.admin, first - timedelta(days=1), first)
    assert (before["conversations"], before["messagesReceived"]) == (0, 0)
    assert before["firstResponseSeconds"] == {"p50": None, "p90": None}
    assert before["byAgent"] == []


async def test_who_reads_which_report(desk, history):
    h = history
    mine = await report(desk, desk.agent1, h["start"], h["end"])  # every number of theirs
    assert mine["conversations"] == 2
    nothing = await report(desk, desk.outsider, h["start"], h["end"])
    assert nothing["conversations"] == 0 and nothing["messagesReceived"] == 0
    variables = {
        "instanceId": desk.instance_id,
        "from": h["start"].isoformat(),
        "to": h["end"].isoformat(),
    }
    assert (await desk.gql.error(REPORT, variables, token=desk.outsider)).codes == ["NOT_FOUND"]
    backwards = {**variables, "from": variables["to"], "to": variables["from"]}
    assert (await desk.gql.error(REPORT, backwards)).codes == ["BAD_USER_INPUT"]


async def test_the_csv_has_one_safe_row_per_conversation(desk, history):
    h = history
    await desk.pg.execute(
        'UPDATE whatsapp_contacts SET name = \'=HYPERLINK("http://x","ok")\' WHERE id = $1',
        desk.contact["id"],
    )
    params = {
        "instanceId": desk.instance_id,
        "from": h["start"].isoformat(),
        "to": h["end"].isoformat(),
    }
    response = await desk.gql.http.get(
        "/reports/conversations.csv",
        params=params,
        headers={"Authorization": f"Bearer {desk.agent1}"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 2
    first, second = rows
    assert first["contact_name"] == '\'=HYPERLINK("http://x","ok")'  # shown, never run
    assert first["first_responder"] == "Bia Agente" and second["first_responder"] == "Ana Admin"
    assert float(first["first_response_seconds"]) == pytest.approx(
        h["first_response"][0], abs=0.002
    )
    assert float(first["resolution_seconds"]) == pytest.approx(h["resolution"], abs=0.002)
    assert second["resolved_at"] == "" and second["status_now"] == "OPEN"
    assert (first["messages_received"], first["messages_sent"]) == ("1", "2")
    assert first["opened_at"].endswith("Z")

    async def get(token: str | None, **query: str) -> int:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = await desk.gql.http.get(
            "/reports/conversations.csv", params=query, headers=headers
        )
        return int(answer.status_code)

    assert await get(None, **params) == 401
    assert await get(desk.outsider, **params) == 404
    assert await get(desk.agent1, **{**params, "from": "ontem"}) == 400
    assert await get(desk.agent1, instanceId=desk.instance_id, to=params["to"]) == 400
    assert await get(desk.agent1, **{**params, "instanceId": "x"}) == 400
