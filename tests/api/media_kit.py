"""Incoming media over webhooks, shared by the media tests (local store and S3)."""

from __future__ import annotations

import base64

from tests.helpers import load_payload, post_webhook, wait_for

NODE = """id messageId messageType textContent mediaState mediaError mediaMimeType mediaSize
          mediaFilename mediaSeconds mediaUrl m4a: mediaUrl(audioFormat: M4A)
          mp3: mediaUrl(audioFormat: MP3)"""
MESSAGES = "query($c: ID!) { messages(contactId: $c, first: 50) { edges { node { " + NODE + \
    " } } } }"


async def deliver(gql, pg, secret, payload) -> None:
    response = await post_webhook(gql.http, payload, secret)
    assert response.status_code == 200, response.text

    async def processed() -> bool:
        return await pg.fetchval("SELECT count(*) FROM webhook_events "
                                 "WHERE status = 'pending'") == 0
    await wait_for(processed)
    assert await pg.fetchval("SELECT count(*) FROM webhook_events WHERE last_error IS NOT NULL") \
        == 0


def voice_note_payload(data: bytes) -> dict:
    payload = load_payload("messages_upsert_audio_ptt_base64")
    payload["data"]["message"]["base64"] = base64.b64encode(data).decode()
    return payload
