"""WhatsApp numbers (instances): their life cycle on Evolution API and here, kept in step.

Every Evolution call happens outside a database transaction; a failure leaves both sides as they
were (create removes what it made, delete keeps our row until Evolution agreed).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import unicodedata
import uuid
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from databases import Database

from db import instances as instances_db, privacy as privacy_db
from db.sql import Row
from services.automation.availability import MAX_RANGES_PER_DAY, parse_schedule, schedule_to_json
from services.common.phones import parse_jid
from services.common.rows import in_key_order
from services.common.text_rules import clean_line
from services.errors import AppError, BadInput, EvolutionNotConfigured, EvolutionUnavailable
from services.identity import access
from services.identity.auth import Principal
from services.instances.evolution import EvolutionApiError
from services.media import cleanup
from services.platform.capabilities import (
    WithBus,
    WithDatabase,
    WithEvolution,
    WithMedia,
    WithSettings,
    WithVault,
)
from services.platform.events import INSTANCES_CHANNEL, Publication
from services.platform.metrics import DISCONNECTIONS


class Uses(WithDatabase, WithBus, WithEvolution, WithSettings, WithVault, WithMedia, Protocol): ...


log = logging.getLogger("atendimento.instances")

# The shared URL of older configurations; numbers are moved to their own URL at start.
WEBHOOK_PATH = "/api/webhooks/evolution"
# Each number's own URL, `…/i/<instanceName>`: its delivery is authenticated from the request
# line and headers before its body is read.
INSTANCE_WEBHOOK_PATH = WEBHOOK_PATH + "/i"
WEBHOOK_SECRET_HEADER = "x-atendimento-secret"
# What this product consumes. Evolution breaks on an empty or missing list (CONTRACT §2.1).
WEBHOOK_EVENTS = [
    "MESSAGES_UPSERT",
    "MESSAGES_UPDATE",
    "MESSAGES_DELETE",
    "SEND_MESSAGE",
    "CONNECTION_UPDATE",
    "QRCODE_UPDATED",
    "CONTACTS_UPSERT",
    "CONTACTS_UPDATE",
    "LOGOUT_INSTANCE",
    "REMOVE_INSTANCE",
    "PRESENCE_UPDATE",
]
STATUS_OF_STATE = {"open": "connected", "connecting": "connecting", "close": "disconnected"}


class NotConfigured(AppError):
    code = "EVOLUTION_NOT_CONFIGURED"


def instance_event(instance_id: uuid.UUID, kind: str) -> Publication:
    return Publication(INSTANCES_CHANNEL, {"instance_id": str(instance_id), "kind": kind})


def derive_instance_name(display_name: str) -> str:
    """A unique, URL-safe Evolution instance name: a slug of the display name plus a suffix."""
    ascii_name = unicodedata.normalize("NFKD", display_name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40] or "whatsapp"
    return f"{slug}-{secrets.token_hex(3)}"


def clean_display_name(value: str) -> str:
    name = clean_line(" ".join(value.split()), "displayName", 80)
    if not name:
        raise BadInput("displayName must not be empty", field="displayName")
    return name


def webhook_url(runtime: WithSettings, instance_name: str) -> str:
    """The URL Evolution posts this number's webhooks to."""
    if not runtime.settings.app_url:
        raise NotConfigured(
            "Set NEXT_PUBLIC_APP_URL to this server's public URL so Evolution API can deliver "
            "webhooks to it",
            variables=["NEXT_PUBLIC_APP_URL"],
        )
    return f"{runtime.settings.app_url}{INSTANCE_WEBHOOK_PATH}/{quote(instance_name, safe='')}"


def evolution_settings(row: Row | dict[str, Any]) -> dict[str, Any]:
    return {
        "rejectCall": row["reject_calls"],
        "msgCall": row["reject_call_message"] or "",
        "groupsIgnore": row["ignore_groups"],
        "alwaysOnline": row["always_online"],
        "readMessages": row["read_messages"],
        "readStatus": row["read_status"],
        "syncFullHistory": False,
    }


def token_of(runtime: WithVault, row: Row) -> str:
    return runtime.vault.decrypt(row["instance_token"])


async def create_instance(runtime: Uses, principal: Principal, display_name: str) -> Row:
    access.require_admin(principal, "create WhatsApp numbers")
    name = clean_display_name(display_name)
    if not runtime.settings.evolution_configured:
        raise EvolutionNotConfigured()
    instance_name = derive_instance_name(name)
    url = webhook_url(runtime, instance_name)
    token = str(uuid.uuid4()).upper()
    # Stored first, so webhooks Evolution sends during creation find their instance.
    row = await instances_db.insert_instance(
        runtime.db,
        instance_name=instance_name,
        token=runtime.vault.encrypt(token),
        display_name=name,
        webhook_url=url,
        created_by=principal.profile_id,
    )
    try:
        created = await _create_on_evolution(runtime, row, token, url)
    except BaseException as error:
        await instances_db.delete_instance(runtime.db, row["id"])
        if isinstance(error, EvolutionUnavailable):
            # The request may have reached Evolution before the connection broke.
            await _forget_on_evolution(runtime, instance_name, token)
        raise
    evolution_id = (created.get("instance") or {}).get("instanceId")
    row = (
        await instances_db.update_instance(
            runtime.db, row["id"], evolution_instance_id=evolution_id
        )
        or row
    )
    await runtime.bus.publish([instance_event(row["id"], "CREATED")])
    log.info("instance %s created", instance_name)
    return row


async def _create_on_evolution(runtime: Uses, row: Row, token: str, url: str) -> dict[str, Any]:
    settings = await instances_db.get_settings(runtime.db, row["id"])
    assert settings is not None
    name = row["instance_name"]
    return await runtime.evolution.create_instance(
        name,
        token,
        webhook_url=url,
        webhook_headers={WEBHOOK_SECRET_HEADER: runtime.vault.webhook_secret(name)},
        events=WEBHOOK_EVENTS,
        settings=evolution_settings(settings),
    )


async def _recreate_on_evolution(runtime: Uses, row: Row) -> None:
    """Delete the instance on Evolution and create it again, same name, token, webhook and
    settings: the one way Evolution's API offers to end the reconnect loop of a number that
    never opened (logout refuses it with 400, restart with "not connected"). Evolution keeps
    the name taken for a moment after a delete (create answers 403): try again briefly."""
    token = token_of(runtime, row)
    try:
        await runtime.evolution.delete_instance(row["instance_name"], token)
    except EvolutionApiError as error:
        if error.status != 404:
            raise
    url = (
        webhook_url(runtime, row["instance_name"])
        if runtime.settings.app_url
        else row["webhook_url"]
    )
    delay = 0.2
    for attempt in range(8):
        try:
            created = await _create_on_evolution(runtime, row, token, url)
            break
        except EvolutionApiError as error:
            if error.status != 403 or attempt == 7:
                raise
        await asyncio.sleep(delay)  # the name is freed once Evolution has forgotten it
        delay = min(delay * 2, 3.0)
    evolution_id = (created.get("instance") or {}).get("instanceId")
    if evolution_id:
        await instances_db.update_instance(
            runtime.db, row["id"], evolution_instance_id=evolution_id
        )
    log.info("instance %s re-created on Evolution API", row["instance_name"])


async def _forget_on_evolution(runtime: WithEvolution, instance_name: str, token: str) -> None:
    try:
        await runtime.evolution.delete_instance(instance_name, token)
    except AppError:
        log.warning("instance %s may remain on Evolution API; delete it there", instance_name)


async def update_instance(
    runtime: Uses, principal: Principal, instance_id: uuid.UUID, display_name: str | None
) -> Row:
    row = await access.managed_instance(runtime.db, principal, instance_id, "rename numbers")
    if display_name is None:
        return row
    updated = await instances_db.update_instance(
        runtime.db, instance_id, display_name=clean_display_name(display_name)
    )
    assert updated is not None
    await runtime.bus.publish([instance_event(instance_id, "UPDATED")])
    return updated


async def connect_instance(
    runtime: Uses, principal: Principal, instance_id: uuid.UUID, phone_number: str | None
) -> Row:
    row = await access.managed_instance(runtime.db, principal, instance_id, "connect numbers")
    number = None
    if phone_number is not None:
        number = "".join(ch for ch in phone_number if ch.isdigit())
        if not 10 <= len(number) <= 15:
            raise BadInput(
                "phoneNumber must be a full number with country code, e.g. 5511999990001",
                field="phoneNumber",
            )
    token = token_of(runtime, row)
    try:
        answer = await runtime.evolution.connect(row["instance_name"], token, number)
    except EvolutionApiError as error:
        if error.status != 404:
            raise
        # Removed on Evolution's side (remove.instance, or a re-creation that failed midway):
        # make it again, then connect.
        await _recreate_on_evolution(runtime, row)
        answer = await runtime.evolution.connect(row["instance_name"], token, number)
    state = (answer.get("instance") or {}).get("state")
    now = datetime.now(UTC)
    # Asked again: whatever held the number disconnected no longer does, and the reconciler
    # looks at it from now on (a connection that brings no QR code is reported as stuck).
    changes: dict[str, Any] = {"status_held": False, "reconcile_at": now, "reconcile_attempts": 0}
    if state == "open":
        changes.update(
            status="connected",
            qr_code=None,
            qr_code_text=None,
            pairing_code=None,
            connecting_since=None,
            status_detail=None,
        )
    elif answer.get("base64") or answer.get("code"):
        changes.update(
            status="qr_code",
            qr_code=answer.get("base64"),
            qr_code_text=answer.get("code"),
            pairing_code=answer.get("pairingCode"),
            qr_code_updated_at=now,
            status_detail=None,
            connecting_since=now,
        )
    else:
        # Evolution had no QR ready yet ({"count": 0}); it arrives by the qrcode.updated webhook
        # (or never, when Evolution cannot reach WhatsApp: the reconciler tells).
        changes.update(status="connecting", status_detail=None, connecting_since=now)
    updated = await instances_db.update_instance(runtime.db, instance_id, **changes)
    assert updated is not None
    await runtime.bus.publish([instance_event(instance_id, "STATUS")])
    return updated


async def disconnect_instance(runtime: Uses, principal: Principal, instance_id: uuid.UUID) -> Row:
    row = await access.managed_instance(runtime.db, principal, instance_id, "disconnect numbers")
    try:
        await runtime.evolution.logout(row["instance_name"], token_of(runtime, row))
    except EvolutionApiError as error:
        if error.status != 400:
            raise
        # 400 "is not connected": the number never opened, and Evolution may be reconnecting
        # it in a loop (posting `connecting` every few seconds) that logout cannot stop.
        await _recreate_on_evolution(runtime, row)
    # Held: what Evolution still posts about the old session (`connecting`, QR codes, the
    # removal) leaves the number DISCONNECTED until connectInstance is asked again.
    updated = await instances_db.update_instance(
        runtime.db,
        instance_id,
        status="disconnected",
        qr_code=None,
        qr_code_text=None,
        pairing_code=None,
        disconnected_at=datetime.now(UTC),
        status_detail="Logged out",
        status_held=True,
        connecting_since=None,
    )
    assert updated is not None
    await runtime.bus.publish([instance_event(instance_id, "STATUS")])
    return updated


async def delete_instance(runtime: Uses, principal: Principal, instance_id: uuid.UUID) -> None:
    row = await access.managed_instance(runtime.db, principal, instance_id, "delete numbers")
    try:
        await runtime.evolution.delete_instance(row["instance_name"], token_of(runtime, row))
    except EvolutionApiError as error:
        if error.status != 404:  # already gone on Evolution's side
            raise
    # Its media objects go too: queued with the deletion (so a failing store retries them),
    # then deleted at once. Contacts, messages and the rest go by ON DELETE CASCADE.
    folders = cleanup.instance_prefixes(instance_id)
    async with runtime.db.transaction():
        await privacy_db.queue_deletions(runtime.db, folders, is_prefix=True)
        await instances_db.delete_instance(runtime.db, instance_id)
    await runtime.bus.publish([instance_event(instance_id, "DELETED")])
    deleted, failed = await cleanup.purge(runtime, folders)
    log.info(
        "instance %s deleted; its media folders: %s deleted, %s queued for retry",
        row["instance_name"],
        deleted,
        failed,
    )


# Webhook events of the life cycle ------------------------------------------------------------


def lifecycle_changes(event: str, data: Any) -> dict[str, Any] | None:
    """Column changes a connection/QR/logout event implies, or None when it implies nothing."""
    now = datetime.now(UTC)
    if event == "connection.update" and isinstance(data, dict):
        state = data.get("state")
        reason = data.get("statusReason")
        if state == "open":
            jid = parse_jid(data["wuid"]) if isinstance(data.get("wuid"), str) else None
            return {
                "status": "connected",
                "connected_at": now,
                "status_reason": reason,
                "phone_number": jid.phone if jid else None,
                "profile_name": data.get("profileName"),
                "profile_picture_url": data.get("profilePictureUrl"),
                "qr_code": None,
                "qr_code_text": None,
                "pairing_code": None,
                "status_detail": None,
            }
        if state == "connecting":
            return {"status": "connecting", "status_reason": reason}
        if state == "close":
            return {
                "status": "disconnected",
                "disconnected_at": now,
                "status_reason": reason,
                "qr_code": None,
                "qr_code_text": None,
                "pairing_code": None,
                "status_detail": f"Connection closed ({reason})" if reason else None,
            }
        if state == "refused":
            return {
                "status": "disconnected",
                "disconnected_at": now,
                "status_reason": reason,
                "qr_code": None,
                "qr_code_text": None,
                "pairing_code": None,
                "status_detail": "QR code limit reached: connect again",
            }
        return None
    if event == "qrcode.updated" and isinstance(data, dict):
        qrcode = data.get("qrcode")
        if isinstance(qrcode, dict) and (qrcode.get("base64") or qrcode.get("code")):
            return {
                "status": "qr_code",
                "qr_code": qrcode.get("base64"),
                "qr_code_text": qrcode.get("code"),
                "pairing_code": qrcode.get("pairingCode"),
                "qr_code_updated_at": now,
                "status_detail": None,
            }
        return {
            "status": "disconnected",
            "qr_code": None,
            "qr_code_text": None,
            "pairing_code": None,
            "disconnected_at": now,
            "status_detail": "QR code limit reached: connect again",
        }
    if event == "logout.instance":
        return {
            "status": "disconnected",
            "disconnected_at": now,
            "qr_code": None,
            "qr_code_text": None,
            "pairing_code": None,
            "status_detail": "Logged out",
        }
    if event == "remove.instance":
        return {
            "status": "disconnected",
            "disconnected_at": now,
            "qr_code": None,
            "qr_code_text": None,
            "pairing_code": None,
            "status_detail": "Removed from Evolution API",
        }
    return None


async def apply_lifecycle_event(
    runtime: WithDatabase, instance: Row, event: str, data: Any
) -> list[Publication]:
    changes = lifecycle_changes(event, data)
    if changes is None:
        return []
    if instance["status_held"] and changes["status"] != "connected":
        return []  # we disconnected it: only a real connection moves it (see disconnect)
    if changes["status"] in ("connecting", "qr_code"):
        if instance["status"] not in ("connecting", "qr_code"):
            changes["connecting_since"] = datetime.now(UTC)
    else:
        changes["connecting_since"] = None
    if changes["status"] == "connected":
        changes["status_held"] = False
    if changes.get("status") == "connected" and instance["status"] == "connected":
        changes.pop("connected_at")  # a repeated "open" is not a new connection
    if changes.get("status") == "disconnected" and instance["status"] == "connected":
        DISCONNECTIONS.labels(instance["instance_name"]).inc()
    await instances_db.update_instance(runtime.db, instance["id"], **changes)
    kind = "QR_CODE" if event == "qrcode.updated" and changes["status"] == "qr_code" else "STATUS"
    return [instance_event(instance["id"], kind)]


# Settings ------------------------------------------------------------------------------------

PUSHED_SETTINGS = (
    "reject_calls",
    "reject_call_message",
    "ignore_groups",
    "always_online",
    "read_messages",
    "read_status",
)


async def get_settings(runtime: WithDatabase, principal: Principal, instance_id: uuid.UUID) -> Row:
    await access.visible_instance(runtime.db, principal, instance_id)
    row = await instances_db.get_settings(runtime.db, instance_id)
    assert row is not None, "every instance has a settings row"
    return row


async def update_settings(
    runtime: Uses, principal: Principal, instance_id: uuid.UUID, changes: dict[str, Any]
) -> Row:
    """Validate, push what Evolution enforces, then store. If the push fails nothing changes."""
    instance = await access.managed_instance(
        runtime.db, principal, instance_id, "change number settings"
    )
    current = await instances_db.get_settings(runtime.db, instance_id)
    assert current is not None
    merged = {**dict(current), **changes}
    if merged["auto_reply_enabled"] and not (merged["auto_reply_message"] or "").strip():
        raise BadInput(
            "autoReplyMessage must be set to enable the auto-reply", field="autoReplyMessage"
        )
    if any(merged[k] != current[k] for k in PUSHED_SETTINGS):
        await runtime.evolution.set_settings(
            instance["instance_name"], token_of(runtime, instance), evolution_settings(merged)
        )
    if not changes:
        return current
    row = await instances_db.update_settings(runtime.db, instance_id, **changes)
    assert row is not None
    await runtime.bus.publish([instance_event(instance_id, "SETTINGS")])
    return row


BOOLEAN_SETTINGS = (
    "reject_calls",
    "ignore_groups",
    "always_online",
    "read_messages",
    "read_status",
    "auto_reply_enabled",
)
TEXT_LIMITS = {"reject_call_message": 1000, "auto_reply_message": 4096}


def clean_settings_input(raw: dict[str, Any]) -> dict[str, Any]:
    """Validate `updateInstanceSettings` input (snake_case keys, only the fields given)."""
    changes: dict[str, Any] = {}
    for name, value in raw.items():
        field = _camel(name)
        if name in BOOLEAN_SETTINGS:
            if value is None:
                raise BadInput(f"{field} cannot be null", field=field)
            changes[name] = value
        elif name in TEXT_LIMITS:
            text = value.strip() if isinstance(value, str) else None
            if text and len(text) > TEXT_LIMITS[name]:
                raise BadInput(
                    f"{field} must be at most {TEXT_LIMITS[name]} characters", field=field
                )
            changes[name] = text or None
        elif name == "auto_reply_cooldown_minutes":
            if value is None or not 1 <= value <= 43200:
                raise BadInput(f"{field} must be between 1 and 43200 (30 days)", field=field)
            changes[name] = value
        elif name == "availability_schedule":
            schedule = parse_schedule({} if value is None else value, max_ranges=MAX_RANGES_PER_DAY)
            changes[name] = schedule_to_json(schedule)
        elif name == "timezone":
            if value is not None:
                try:
                    ZoneInfo(value)
                except (ZoneInfoNotFoundError, ValueError):
                    raise BadInput(
                        f"{value!r} is not an IANA time zone such as America/Sao_Paulo", field=field
                    ) from None
            changes[name] = value
        else:
            raise BadInput(f"unknown setting {field}", field=field)
    return changes


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


async def encrypt_stored_tokens(runtime: Uses) -> int:
    """Encrypt instance tokens stored in clear text (rows written before encryption at rest,
    or imported by hand); return how many were."""
    rows = await instances_db.plaintext_tokens(runtime.db)
    for row in rows:
        await instances_db.set_token(
            runtime.db, row["id"], runtime.vault.encrypt(row["instance_token"])
        )
    if rows:
        log.info("encrypted %s instance token(s) stored in clear text", len(rows))
    return len(rows)


async def instances_by_id(db: Database, ids: list[uuid.UUID]) -> list[Row | None]:
    """A batch read for DataLoaders: the instances in the order of `ids`, None for a miss."""
    return in_key_order(await instances_db.get_instances(db, ids), ids)
