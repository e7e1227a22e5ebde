"""exportContactData: a signed link to one zip with everything kept about the person."""

from __future__ import annotations

import io
import json
import zipfile

from tests.media_samples import voice_note_ogg
from tests.privacy.kit import CLIENT_DOCUMENT, LABELS, NOTE, REASON, conversation

EXPORT = "mutation($c: ID!) { exportContactData(contactId: $c) { url expiresAt } }"
TEXT = "Oi, bom dia! Meu pedido 4821 ainda não chegou."


async def test_the_export_holds_the_contact_its_messages_and_media(
    server, gql, pg, vault, evolution, admin_id
):
    world = await conversation(gql, pg, vault, evolution)
    contact = str(world["contact_id"])
    await gql("mutation($c: ID!) { markContactRead(contactId: $c) { id } }", {"c": contact})
    data = (await gql(EXPORT, {"c": contact}))["exportContactData"]
    assert data["url"].startswith(f"{server.url}/exports/{contact}?exp=")
    response = await gql.http.get(data["url"])  # no Authorization: the link is the permission
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    document = json.loads(archive.read("dados.json"))
    assert document["contact"]["phone_number"] == "5511999990002"
    texts = [m["text_content"] for m in document["messages"]]
    assert TEXT in texts
    assert all(m["status"] and m["timestamp"].endswith("Z") for m in document["messages"])
    [audio] = [m for m in document["messages"] if m["message_type"] == "audio"]
    assert archive.read(audio["file"]) == voice_note_ogg()
    related = document["related"]
    assert [r["profile_id"] for r in related["whatsapp_contact_reads"]] == [str(admin_id)]
    # What the team keeps about the person: the note (a message), the labels,
    # the link to the client register and the conversation's log.
    [note] = [m for m in document["messages"] if m["message_type"] == "note"]
    assert (note["id"], note["text_content"]) == (world["note_id"], NOTE)
    assert sorted(r["label"] for r in related["whatsapp_contact_labels"]) == LABELS
    assert document["contact"]["client_id"] == world["client_id"]
    assert document["contact"]["contact_type"] == "cliente"
    client = document["client"]
    assert (client["id"], client["name"], client["document"]) == (
        world["client_id"],
        "Maria Souza",
        CLIENT_DOCUMENT,
    )
    assert [r["kind"] for r in related["whatsapp_conversation_log"]][0] == "opened"
    log = await pg.fetchrow("SELECT * FROM privacy_log WHERE action = 'export'")
    assert log["actor_id"] == admin_id and log["subject_id"] == world["contact_id"]

    tampered = data["url"].replace("sig=", "sig=x")
    assert (await gql.http.get(tampered)).status_code == 403
    other = data["url"].replace(contact, "00000000-0000-4000-8000-000000000000")
    assert (await gql.http.get(other)).status_code == 403
    await gql(
        "mutation($c: ID!, $r: String!) { eraseContact(contactId: $c, reason: $r) }",
        {"c": contact, "r": REASON},
    )
    assert (await gql.http.get(data["url"])).status_code == 404


async def test_agents_export_only_contacts_of_their_numbers(
    server, gql, pg, vault, evolution, agent_token, agent_id
):
    world = await conversation(gql, pg, vault, evolution)
    contact = str(world["contact_id"])
    assert (await gql.error(EXPORT, {"c": contact}, token=agent_token)).codes == ["NOT_FOUND"]
    await pg.execute(
        "INSERT INTO profiles (id, role) VALUES ($1, 'agent') ON CONFLICT DO NOTHING", agent_id
    )
    await pg.execute(
        "INSERT INTO whatsapp_instance_members (instance_id, profile_id) VALUES ($1, $2)",
        world["instance"]["id"],
        agent_id,
    )
    data = (await gql(EXPORT, {"c": contact}, token=agent_token))["exportContactData"]
    assert (await gql.http.get(data["url"])).status_code == 200
