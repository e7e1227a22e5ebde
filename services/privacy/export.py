"""`exportContactData`: a copy of everything kept about a person (LGPD art. 18, II and V).

The mutation checks who asks (membership rules: an agent exports only contacts of their
numbers), records the request in the privacy log and hands out a signed, short-lived link,
`/exports/<contact id>?exp=…&sig=…`, signed like media links (services/media/links.py) with
"export" in place of a media format. The link's GET streams one zip: `dados.json` (the
contact, its client link, its messages with status and timestamps, and the rows of every
table that references the contact: notes, labels, read marks…) and the media files beside it
under `midia/`. The zip is written by a worker thread while the response streams, chunk by
chunk with backpressure, so a big export neither stalls the server nor sits in memory whole.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any, Protocol, cast

from db import privacy as privacy_db
from db.sql import Row
from services.identity.auth import Principal
from services.media import links
from services.media.types import extension_for
from services.messaging.conversations import visible_contact
from services.platform.capabilities import WithDatabase, WithMedia, WithVault
from services.platform.metrics import PRIVACY_REQUESTS


class Uses(WithDatabase, WithVault, WithMedia, Protocol): ...


log = logging.getLogger("atendimento.privacy")

EXPORT_PATH = "/exports"
EXPORT_FORMAT = "export"  # in the signature where media links have their format
EXPORT_URL_TTL_SECONDS = 900
# Tables whose rows are already in the export in their own shape.
SHAPED = {"whatsapp_messages"}


@dataclass(frozen=True)
class DataExport:
    path: str
    expires_at: datetime


def signed_path(key: bytes, contact_id: uuid.UUID, expires: int) -> str:
    sig = links.signature(key, contact_id, EXPORT_FORMAT, expires)
    return f"{EXPORT_PATH}/{contact_id}?exp={expires}&sig={sig}"


def verify(key: bytes, contact_id: str, expires: str | None, sig: str | None) -> bool:
    return links.verify(key, contact_id, EXPORT_FORMAT, expires, sig)


async def request_export(runtime: Uses, principal: Principal, contact_id: uuid.UUID) -> DataExport:
    contact = await visible_contact(runtime, principal, contact_id)
    expires = links.expiry(EXPORT_URL_TTL_SECONDS)
    await privacy_db.log_action(
        runtime.db,
        "export",
        actor_id=principal.profile_id,
        instance_id=contact["instance_id"],
        subject_id=contact_id,
        reason=None,
        counts={},
    )
    PRIVACY_REQUESTS.labels("export").inc()
    log.info("data export of contact %s requested by %s", contact_id, principal.profile_id)
    return DataExport(
        signed_path(runtime.vault.media_url_key(), contact_id, expires),
        datetime.fromtimestamp(expires, UTC),
    )


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _record(row: Row | dict[str, Any], skip: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
    return {k: _plain(v) for k, v in dict(row).items() if k not in skip}


# What of a message row is the person's data, not our machinery (queue state, leases).
MESSAGE_FIELDS = (
    "id",
    "message_id",
    "from_me",
    "message_type",
    "text_content",
    "quoted_message_id",
    "status",
    "timestamp",
    "created_at",
    "updated_at",
    "deleted_at",
    "error",
    "sender_name",
    "metadata",
    "media_state",
    "media_mime_type",
    "media_size",
    "media_filename",
    "media_seconds",
)


@dataclass(frozen=True)
class _Collected:
    document: bytes
    media: list[tuple[str, str, int]]  # (name in the zip, store key, size)


async def _collect(runtime: Uses, contact_id: uuid.UUID) -> _Collected | None:
    db = runtime.db
    contact = await privacy_db.contact_with_client(db, contact_id)
    if contact is None:
        return None
    messages = await privacy_db.contact_messages(db, contact_id)
    media: list[tuple[str, str, int]] = []
    exported = []
    for row in messages:
        item = {k: _plain(row[k]) for k in MESSAGE_FIELDS}
        if row["media_state"] == "ready" and row["media_key"]:
            size = row["media_size"] or await runtime.media.size(row["media_key"])
            if size is not None:
                name = f"midia/{row['id']}.{extension_for(row['media_mime_type'] or '')}"
                media.append((name, row["media_key"], int(size)))
                item["file"] = name
        exported.append(item)
    related: dict[str, list[dict[str, Any]]] = {}
    for schema, table, column in await privacy_db.tables_referencing_contacts(db):
        if table in SHAPED:
            continue
        rows = await privacy_db.rows_referencing(db, schema, table, column, contact_id)
        if rows:
            related.setdefault(table, []).extend(_record(r) for r in rows)
    client = contact["client"]
    document = {
        "exported_at": _plain(datetime.now(UTC)),
        "contact": _record(contact, {"client", "activity_at", "activity_arrival"}),
        "client": client,
        "messages": exported,
        "related": related,
    }
    text = json.dumps(document, ensure_ascii=False, indent=2, default=str)
    return _Collected(text.encode(), media)


class _Pipe:
    """The file the zip writer thread writes to: each write waits for room in a bounded
    queue the response reads from, so the thread never runs ahead of the client."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[bytes | None]):
        self.loop, self.queue = loop, queue
        self.closed = threading.Event()
        self.position = 0

    def write(self, data: bytes) -> int:
        if self.closed.is_set():
            raise OSError("the client went away")
        asyncio.run_coroutine_threadsafe(self.queue.put(bytes(data)), self.loop).result()
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        return None


async def stream(runtime: Uses, contact_id: uuid.UUID) -> AsyncIterator[bytes] | None:
    """The export's zip, in chunks; None when the contact no longer exists."""
    collected = await _collect(runtime, contact_id)
    if collected is None:
        return None
    return _chunks(runtime, collected)


async def _next_chunk(chunks: AsyncIterator[bytes]) -> bytes | None:
    return await anext(chunks, None)


async def _chunks(runtime: WithMedia, collected: _Collected) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=8)
    pipe = _Pipe(loop, queue)

    def read_object(key: str, size: int) -> AsyncIterator[bytes]:
        return runtime.media.stream(key, 0, size)

    def write_zip() -> None:
        try:
            with zipfile.ZipFile(cast(IO[bytes], pipe), "w", zipfile.ZIP_DEFLATED) as archive:
                archive.writestr("dados.json", collected.document)
                for name, key, size in collected.media:
                    info = zipfile.ZipInfo(name)
                    info.compress_type = zipfile.ZIP_STORED  # media is compressed already
                    with archive.open(info, "w", force_zip64=size > 2**31) as target:
                        chunks = read_object(key, size)
                        while True:
                            chunk = asyncio.run_coroutine_threadsafe(
                                _next_chunk(chunks), loop
                            ).result()
                            if chunk is None:
                                break
                            target.write(chunk)
        finally:
            if not pipe.closed.is_set():
                asyncio.run_coroutine_threadsafe(queue.put(None), loop).result()

    writer = loop.run_in_executor(None, write_zip)
    try:
        while (chunk := await queue.get()) is not None:
            yield chunk
        await writer
    finally:
        pipe.closed.set()
        while not writer.done():  # let a writer blocked on a full queue see the close
            while not queue.empty():
                queue.get_nowait()
            await asyncio.sleep(0.01)
        if not writer.cancelled() and writer.exception() is not None:
            log.info("a data export stopped: %s", type(writer.exception()).__name__)
