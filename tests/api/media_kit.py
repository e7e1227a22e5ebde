"""Incoming media over webhooks, shared by the media tests (local store and S3)."""

from __future__ import annotations

import base64
from typing import Any

import asyncpg

from tests.helpers import GraphQLClient, load_payload, post_webhook, wait_for

NODE = """id messageId messageType textContent mediaState mediaError mediaMimeType mediaSize
          mediaFilename mediaSeconds mediaUrl m4a: mediaUrl(audioFormat: M4A)
          mp3: mediaUrl(audioFormat: MP3)"""
MESSAGES = (
    "query($c: ID!) { messages(contactId: $c, first: 50) { edges { node { " + NODE + " } } } }"
)


async def deliver(
    gql: GraphQLClient, pg: asyncpg.Connection, secret: str, payload: dict[str, Any]
) -> None:
    response = await post_webhook(gql.http, payload, secret)
    assert response.status_code == 200, response.text

    async def processed() -> bool:
        return (
            int(await pg.fetchval("SELECT count(*) FROM webhook_events WHERE status = 'pending'"))
            == 0
        )

    await wait_for(processed)
    assert (
        await pg.fetchval("SELECT count(*) FROM webhook_events WHERE last_error IS NOT NULL") == 0
    )


def voice_note_payload(data: bytes) -> dict[str, Any]:
    payload = load_payload("messages_upsert_audio_ptt_base64")
    payload["data"]["message"]["base64"] = base64.b64encode(data).decode()
    return payload
