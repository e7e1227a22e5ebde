"""Events that can never be applied as sent: their text is cleaned on the way in, absurd
timestamps are replaced, and whatever still fails for its data is set aside at once, so the
instance's later events do not wait behind it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from services.platform.crypto import Vault
from services.platform.waiting import in_own_task
from services.webhooks.message_content import message_timestamp
from services.webhooks.processor import WebhookProcessor
from tests.helpers import ServerHandle, load_payload, post_webhook

SECOND = 1763731503


def message(message_id: str, text: object = "ok", timestamp: object = SECOND) -> dict[str, Any]:
    payload = load_payload("messages_upsert_text")
    payload["data"]["key"]["id"] = message_id
    payload["data"]["message"] = {"conversation": text}
    payload["data"]["messageTimestamp"] = timestamp
    return payload


async def post_all(
    server: ServerHandle, vault: Vault, payloads: Sequence[dict[str, Any] | bytes]
) -> list[httpx.Response]:
    secret = vault.webhook_secret("acme-support")
    async with httpx.AsyncClient(base_url=server.url) as http:
        return [await post_webhook(http, p, secret) for p in payloads]


async def drain(server: ServerHandle) -> int:
    return await in_own_task(WebhookProcessor(server.runtime).drain())


async def event_states(pg: asyncpg.Connection) -> dict[str, tuple[str, int, str | None]]:
    rows = await pg.fetch(
        "SELECT payload->'data'->'key'->>'id' AS message_id, status, attempts, "
        "last_error FROM webhook_events"
    )
    return {r["message_id"]: (r["status"], r["attempts"], r["last_error"]) for r in rows}


async def test_an_event_whose_data_fails_is_set_aside_at_once_and_the_rest_go_on(
    server, pg, vault, instance
):
    # A text that is a number: PostgreSQL's text column refuses it on every try.
    responses = await post_all(
        server, vault, [message("M1"), message("BAD", text=12345), message("M2"), message("M3")]
    )
    assert [r.status_code for r in responses] == [200] * 4
    assert await drain(server) == 4  # in one go: nothing waits for a retry

    states = await event_states(pg)
    status, attempts, error = states["BAD"]
    assert (status, attempts) == ("failed", 1)
    assert error is not None and "DataError" in error  # kept, to be read and replayed
    assert [states[m][0] for m in ("M1", "M2", "M3")] == ["done"] * 3
    stored = await pg.fetch("SELECT message_id FROM whatsapp_messages ORDER BY arrival")
    assert [r["message_id"] for r in stored] == ["M1", "M2", "M3"]


@pytest.mark.parametrize(
    "timestamp", [10**20, 1.5e308, -5, "NaN", "1e400", {"low": -1, "high": 2**30}]
)
async def test_an_absurd_timestamp_becomes_the_time_of_storing(
    server, pg, vault, instance, timestamp
):
    before = datetime.now(UTC).replace(microsecond=0)  # stored to the whole second
    responses = await post_all(
        server, vault, [message("ODD", timestamp=timestamp), message("NEXT")]
    )
    assert [r.status_code for r in responses] == [200, 200]
    assert await drain(server) == 2
    states = await event_states(pg)
    assert states["ODD"][0] == states["NEXT"][0] == "done"
    stored = await pg.fetchval("SELECT timestamp FROM whatsapp_messages WHERE message_id = 'ODD'")
    assert before <= stored <= datetime.now(UTC)


def test_plausible_timestamps_are_kept():
    assert message_timestamp({"messageTimestamp": SECOND}) == datetime.fromtimestamp(SECOND, UTC)
    assert message_timestamp({"messageTimestamp": SECOND * 1000}) == datetime.fromtimestamp(
        SECOND, UTC
    )  # milliseconds
    # A phone whose clock runs an hour fast is believed.
    ahead = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    assert message_timestamp({"messageTimestamp": int(ahead.timestamp())}) == ahead


async def test_text_postgresql_cannot_hold_is_cleaned_and_stored(server, pg, vault, instance):
    payload = message("NUL", text="a\u0000b \ud800 c")
    payload["data"]["pushName"] = "Ma\u0000ria \udc00"
    document = message("DOC")
    document["data"]["pushName"] = payload["data"]["pushName"]
    document["data"]["messageType"] = "documentMessage"
    document["data"]["message"] = {
        "documentMessage": {
            "caption": "see\u0000 it",
            "fileName": "re\ud83dport.pdf",
            "mimetype": "application/pdf",
        }
    }
    # Written as Evolution writes it: \u escapes in plain UTF-8.
    bodies = [json.dumps(p).encode() for p in (payload, document)]
    assert b"\\u0000" in bodies[0] and b"\\ud800" in bodies[0]
    responses = await post_all(server, vault, bodies)
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    assert [r.json()["status"] for r in responses] == ["accepted", "accepted"]
    assert await drain(server) == 2

    rows = {
        r["message_id"]: r
        for r in await pg.fetch(
            "SELECT message_id, text_content, media_filename FROM whatsapp_messages"
        )
    }
    assert rows["NUL"]["text_content"] == "ab \ufffd c"
    assert rows["DOC"]["text_content"] == "see it"
    assert rows["DOC"]["media_filename"] == "re\ufffdport.pdf"
    assert await pg.fetchval("SELECT name FROM whatsapp_contacts") == "Maria \ufffd"
    # A redelivery of the same body is recognised as one.
    again = await post_all(server, vault, bodies[:1])
    assert again[0].json()["status"] == "duplicate"


async def test_a_body_jsonb_can_never_hold_gets_a_code_evolution_does_not_retry(
    server, pg, vault, instance
):
    nan = json.dumps(message("NAN")).replace('"ok"', "NaN").encode()
    huge = json.dumps(message("HUGE")).replace('"ok"', "1e1000000").encode()
    responses = await post_all(server, vault, [nan, huge])
    # Evolution's no-retry list is 400, 401, 403, 404 and 422: never 503 for these.
    assert [r.status_code for r in responses] == [400, 422]
    assert await pg.fetchval("SELECT count(*) FROM webhook_events") == 0
