"""Logs and metrics never carry message text or phone numbers, also while exporting and
erasing a person's data."""

from __future__ import annotations

import io
import logging
import zipfile

from tests.privacy.kit import REASON, conversation

NEEDLES = ("5511999990002", "184467440737095", "Meu pedido 4821", "Maria Souza")


async def test_no_text_or_phone_number_in_logs_or_metrics(
    server, gql, pg, vault, evolution, caplog
):
    caplog.set_level(logging.INFO)
    world = await conversation(gql, pg, vault, evolution)
    contact = str(world["contact_id"])
    caplog.clear()  # from here on: the export and the erasure
    data = await gql(
        "mutation($c: ID!) { exportContactData(contactId: $c) { url } }", {"c": contact}
    )
    download = await gql.http.get(data["exportContactData"]["url"])
    assert download.status_code == 200
    assert b"5511999990002" in zipfile.ZipFile(io.BytesIO(download.content)).read("dados.json")
    await gql(
        "mutation($c: ID!, $r: String!) { eraseContact(contactId: $c, reason: $r) }",
        {"c": contact, "r": REASON},
    )
    metrics = (await gql.http.get("/metrics")).text
    lines = "\n".join(
        f"{r.getMessage()} {r.exc_text or ''} {getattr(r, 'args', '')}" for r in caplog.records
    )
    assert "erased by" in lines and "data export of contact" in lines  # logs were captured
    for needle in NEEDLES:
        assert needle not in lines, needle
        assert needle not in metrics, needle
