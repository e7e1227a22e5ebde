"""The conversation the privacy tests start from."""

from __future__ import annotations

from typing import Any

from tests.api.media_kit import MESSAGES, deliver, voice_note_payload
from tests.helpers import create_instance_row, load_payload
from tests.media_samples import voice_note_ogg

TOKEN = "7A1F3C2E-9B4D-4E8F-A1C2-3D4E5F6A7B8C"
REASON = "Pedido da titular por e-mail em 2026-11-30 (LGPD art. 18, VI)"
NOTE = "Prefere retorno depois das 14h; cliente desde 2019"
LABELS = ["Entrega atrasada", "VIP"]
CLIENT_DOCUMENT = "390.533.447-05"
TEAM_WORK = """mutation($c: ID!, $note: String!, $labels: [String!]!, $document: String!) {
  addNote(contactId: $c, text: $note) { id }
  setContactLabels(contactId: $c, labels: $labels) { id }
  createClientFromContact(contactId: $c, input: {name: "Maria Souza", document: $document}) {
    client { id } } }"""


async def conversation(gql: Any, pg: Any, vault: Any, evolution: Any) -> dict[str, Any]:
    """A person who wrote a text and sent a voice note (stored, and converted to M4A), and what
    the team keeps about them: an internal note, labels and the link to the company's client
    register. What an export must hold and an erasure must remove."""
    evolution.add_instance("acme-support", token=TOKEN, state="open")
    instance = await create_instance_row(pg, vault, token=TOKEN)
    secret = vault.webhook_secret("acme-support")
    await deliver(gql, pg, secret, load_payload("messages_upsert_text"))
    await deliver(gql, pg, secret, voice_note_payload(voice_note_ogg()))
    contact_id = await pg.fetchval("SELECT id FROM whatsapp_contacts")
    [*_, audio] = (await gql(MESSAGES, {"c": str(contact_id)}))["messages"]["edges"][::-1]
    assert (await gql.http.get(audio["node"]["m4a"])).status_code == 200
    team = await gql(
        TEAM_WORK,
        {"c": str(contact_id), "note": NOTE, "labels": LABELS, "document": CLIENT_DOCUMENT},
    )
    return {
        "instance": instance,
        "contact_id": contact_id,
        "secret": secret,
        "note_id": team["addNote"]["id"],
        "client_id": team["createClientFromContact"]["client"]["id"],
    }
