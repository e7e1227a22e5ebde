"""The README's front-end set-ups, run for real: Apollo Client (HTTP link, upload link, websocket
link with the token in connectionParams, multipart subscriptions over its HttpLink) and urql
(fetch exchange, subscriptions over graphql-ws), from npm, against a running server."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import asyncpg

from services.platform.crypto import Vault
from tests.helpers import (
    GraphQLClient,
    ServerHandle,
    create_instance_row,
    load_payload,
    post_webhook,
    wait_for,
)
from tests.media_samples import voice_note_ogg


async def test_apollo_and_urql_as_the_readme_sets_them_up(
    client_kit: Path,
    server: ServerHandle,
    gql: GraphQLClient,
    pg: asyncpg.Connection,
    vault: Vault,
    admin_token: str,
    tmp_path: Path,
) -> None:
    instance = await create_instance_row(pg, vault)
    secret = vault.webhook_secret("acme-support")
    assert (
        await post_webhook(gql.http, load_payload("messages_upsert_text"), secret)
    ).status_code == 200
    contact = await wait_for(lambda: pg.fetchval("SELECT id FROM whatsapp_contacts"))
    audio = tmp_path / "note.ogg"
    audio.write_bytes(voice_note_ogg())
    process = await asyncio.create_subprocess_exec(
        "node",
        "checks/client-setups.mjs",
        f"{server.url}/graphql",
        admin_token,
        str(instance["id"]),
        str(contact),
        str(audio),
        cwd=client_kit,
        env=os.environ.copy(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        ready = await asyncio.wait_for(process.stdout.readline(), 60)
        if ready.strip() != b"READY":
            raise AssertionError((ready + await process.stderr.read()).decode()[:4000])
        # Two websocket subscribers and one multipart stream are listening.
        await wait_for(lambda: server.runtime.bus.subscriber_count >= 3, timeout=20)
        payload = load_payload("messages_upsert_text")
        payload["data"]["key"]["id"] = "FROM-THE-PHONE"
        payload["data"]["message"] = {"conversation": "Chegou pelo WhatsApp"}
        assert (await post_webhook(gql.http, payload, secret)).status_code == 200
        out, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
    assert process.returncode == 0, err.decode()[-3000:]
    seen = json.loads(out.decode().strip().splitlines()[-1])
    assert seen == {
        "apolloQuery": "ADMIN",
        "apolloMessages": 1,
        "urqlQuery": "ADMIN",
        "apolloUpload": "AUDIO PENDING",
        "apolloWebsocket": "Chegou pelo WhatsApp",
        "apolloMultipart": "Chegou pelo WhatsApp",
        "urqlWebsocket": "Chegou pelo WhatsApp",
    }
