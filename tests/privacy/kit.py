"""The conversation the privacy tests start from."""

from __future__ import annotations

from typing import Any

from tests.api.media_kit import MESSAGES, deliver, voice_note_payload
from tests.helpers import create_instance_row, load_payload
from tests.media_samples import voice_note_ogg

TOKEN = "7A1F3C2E-9B4D-4E8F-A1C2-3D4E5F6A7B8C"
REASON = "Pedido da titular por e-mail em 2026-11-30 (LGPD art. 18, VI)"


async def conversation(gql: Any, pg: Any, vault: Any, evolution: Any) -> dict[str, Any]:
    """A person who wrote a text and sent a voice note (stored, and converted to M4A), and the
    agent's answer: what an erasure must remove."""
    evolution.add_instance("acme-support", token=TOKEN, state="open")
    instance = await create_instance_row(pg, vault, token=TOKEN)
    secret = vault.webhook_secret("acme-support")
    await deliver(gql, pg, secret, load_payload("messages_upsert_text"))
    await deliver(gql, pg, secret, voice_note_payload(voice_note_ogg()))
    contact_id = await pg.fetchval("SELECT id FROM whatsapp_contacts")
    [*_, audio] = (await gql(MESSAGES, {"c": str(contact_id)}))["messages"]["edges"][::-1]
    assert (await gql.http.get(audio["node"]["m4a"])).status_code == 200
    return {"instance": instance, "contact_id": contact_id, "secret": secret}
