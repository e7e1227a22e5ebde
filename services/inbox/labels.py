"""Labels: free text an agent puts on a conversation ("vip", "boleto", "reclamação").

Trimmed, inner spaces folded to one; equal whatever the case ("VIP" is "vip"), and a number
keeps one spelling of each, the first used, so the autocomplete lists each once. At most
MAX_LABELS per contact, each 1 to MAX_LABEL characters on one line.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from databases import Database

from db import labels as labels_db
from db.sql import Row
from services.common.text_rules import clean_line, escape_like
from services.errors import BadInput
from services.identity import access
from services.identity.auth import Principal
from services.messaging.conversations import visible_contact
from services.platform import events
from services.platform.capabilities import WithBus, WithDatabase


class Uses(WithDatabase, WithBus, Protocol): ...


MAX_LABEL = 40
MAX_LABELS = 20
MAX_LISTED = 200


def label_key(label: str) -> str:
    return label.casefold()


def normalize(labels: list[str]) -> dict[str, str]:
    """key → spelling, in the order given, duplicates (by key) dropped; BadInput when a
    label is empty, too long or on several lines, or when there are too many."""
    normalized: dict[str, str] = {}
    for index, given in enumerate(labels):
        field = f"labels.{index}"
        label = clean_line(given, field, MAX_LABEL)
        if not label:
            raise BadInput("a label must not be empty", field=field)
        normalized.setdefault(label_key(" ".join(label.split())), " ".join(label.split()))
    if len(normalized) > MAX_LABELS:
        raise BadInput(f"a contact can have at most {MAX_LABELS} labels", field="labels")
    return normalized


async def set_contact_labels(
    runtime: Uses, principal: Principal, contact_id: uuid.UUID, labels: list[str]
) -> Row:
    """Replace the contact's labels (an empty list removes them all)."""
    contact = await visible_contact(runtime, principal, contact_id)
    wanted = normalize(labels)
    db = runtime.db
    instance_id = contact["instance_id"]
    async with db.transaction():
        known = await labels_db.spellings(db, instance_id, list(wanted))
        await labels_db.replace_labels(
            db, instance_id, contact_id, {k: known.get(k, v) for k, v in wanted.items()}
        )
        published = [
            await events.record(db, instance_id, "contact", "updated", contact_id, contact_id)
        ]
    await runtime.bus.publish(published)
    return contact


async def list_labels(
    runtime: WithDatabase, principal: Principal, instance_id: uuid.UUID, prefix: str | None
) -> list[Row]:
    """The number's labels with their counts, most used first; `prefix` narrows them (the
    autocomplete as the agent types)."""
    await access.visible_instance(runtime.db, principal, instance_id)
    term = label_key((prefix or "").strip())
    pattern = f"{escape_like(term)}%" if term else None
    return await labels_db.label_counts(runtime.db, instance_id, pattern, MAX_LISTED)


async def labels_by_contact(db: Database, ids: list[uuid.UUID]) -> list[list[str]]:
    """A batch read for DataLoaders: each contact's labels, in the order of `ids`."""
    found: dict[uuid.UUID, list[str]] = {}
    for row in await labels_db.labels_of(db, ids):
        found.setdefault(row["contact_id"], []).append(row["label"])
    return [found.get(i, []) for i in ids]
