"""A webhook that arrives while the database is down is answered 503 (Evolution delivers it
again) and, redelivered once the database is back, is stored exactly once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import httpx

from db.embedded import ensure_database, start_embedded, stop_embedded
from db.migrate import apply_migrations
from server import create_app
from services.platform.crypto import Vault
from services.platform.settings import Settings
from tests.helpers import (
    JWT_SECRET,
    create_instance_row,
    load_payload,
    post_webhook,
    serve_app,
    wait_for,
)


async def test_webhook_during_an_outage_is_refused_then_stored_once(
    settings: Settings, vault: Vault, tmp_path: Path
) -> None:
    data_dir = tmp_path / "outage"
    base = await asyncio.to_thread(start_embedded, data_dir)
    try:
        url = await ensure_database(base, "outage")
        await apply_migrations(url)
        conn = await asyncpg.connect(url)
        await create_instance_row(conn, vault)
        await conn.close()
        app = create_app(settings.with_overrides(database_url=url), JWT_SECRET, vault)
        secret = vault.webhook_secret("acme-support")
        payload = load_payload("messages_upsert_text")
        async with serve_app(app) as handle, httpx.AsyncClient(base_url=handle.url) as http:
            # Warm: the instance is looked up (and cached) while the database is up.
            warm = load_payload("messages_upsert_text")
            warm["data"]["key"]["id"] = "BEFORE-OUTAGE"
            assert (await post_webhook(http, warm, secret)).status_code == 200

            await asyncio.to_thread(stop_embedded, data_dir)
            refused = await post_webhook(http, payload, secret)
            assert refused.status_code == 503

            await asyncio.to_thread(start_embedded, data_dir)

            async def redelivered() -> bool:  # what Evolution's retries do
                return (await post_webhook(http, payload, secret)).status_code == 200

            await wait_for(redelivered, timeout=30, interval=0.2)
            # A further redelivery of the same body changes nothing.
            assert (await post_webhook(http, payload, secret)).json()["status"] == "duplicate"

            conn = await asyncpg.connect(url)
            try:

                async def stored() -> bool:
                    return (
                        int(
                            await conn.fetchval(
                                "SELECT count(*) FROM webhook_events WHERE status = 'done'"
                            )
                        )
                        == 2
                    )

                await wait_for(stored, timeout=30)
                ids = [
                    r["message_id"]
                    for r in await conn.fetch(
                        "SELECT message_id FROM whatsapp_messages ORDER BY message_id"
                    )
                ]
            finally:
                await conn.close()
        assert ids == ["A5561E44C2A63682E4295B52F484C14E", "BEFORE-OUTAGE"]
    finally:
        await asyncio.to_thread(stop_embedded, data_dir)
