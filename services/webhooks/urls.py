"""Keeping each number's webhook on Evolution pointed at its own URL, with the events we use.

Numbers created before per-number URLs (or before `NEXT_PUBLIC_APP_URL` changed) post to an
older URL, and numbers created before an event was added to WEBHOOK_EVENTS (PRESENCE_UPDATE)
do not receive it. At start each is set again with `POST /webhook/set`: those whose stored
`webhook_url` is not their own URL at once, the others after `GET /webhook/find` shows their
events fall short. Setting is idempotent. The shared URL keeps working for those not moved yet.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from db import instances as instances_db
from db.sql import Row
from services.errors import AppError, EvolutionUnavailable
from services.instances.evolution import EvolutionApiError
from services.instances.lifecycle import (
    WEBHOOK_EVENTS,
    WEBHOOK_SECRET_HEADER,
    token_of,
    webhook_url,
)
from services.platform.capabilities import WithDatabase, WithEvolution, WithSettings, WithVault


class Uses(WithDatabase, WithEvolution, WithSettings, WithVault, Protocol): ...


log = logging.getLogger("atendimento.webhooks")

# While Evolution is unreachable, the check is tried again after 5 s, 10 s … up to 10 min.
RETRY_FIRST_SECONDS = 5.0
RETRY_MAX_SECONDS = 600.0


@dataclass(frozen=True)
class WebhookSync:
    updated: int
    """Numbers whose webhook was set."""
    unreachable: int
    """Numbers left as they are because Evolution could not be reached: worth another try."""


async def point_webhooks_at_own_urls(runtime: Uses) -> int:
    """`sync_webhooks`, answering how many numbers were updated."""
    return (await sync_webhooks(runtime)).updated


async def sync_webhooks(runtime: Uses) -> WebhookSync:
    """Sets the webhook of every number whose URL or events are not what they should be.

    A number Evolution refuses (it no longer has it…) is logged and left for the next start;
    one it cannot be reached for is counted in `unreachable` (see `keep_webhooks_in_sync`).
    Its deliveries still arrive on the URL it has meanwhile."""
    if not runtime.settings.app_url or not runtime.settings.evolution_configured:
        return WebhookSync(0, 0)
    updated = unreachable = 0
    for row in await instances_db.list_instances(runtime.db, None):
        try:
            if await _sync_one(runtime, row):
                updated += 1
        except EvolutionUnavailable:
            unreachable += 1
        except EvolutionApiError as error:
            if error.status >= 500 or error.status == 429:  # down behind its proxy, or busy
                unreachable += 1
            else:
                _refused(row, error)
        except AppError as error:
            _refused(row, error)
    if updated:
        log.info("webhook of %d number(s) set to their own URL and events", updated)
    return WebhookSync(updated, unreachable)


def _refused(row: Row, error: AppError) -> None:
    log.warning(
        "webhook of %s not set (%s); trying again at the next start",
        row["instance_name"],
        type(error).__name__,
    )


async def _sync_one(runtime: Uses, row: Row) -> bool:
    name = row["instance_name"]
    url = webhook_url(runtime, name)
    token = token_of(runtime, row)
    if row["webhook_url"] == url:
        current = await runtime.evolution.find_webhook(name, token)
        if current is not None and not _falls_short(current, url):
            return False
    await runtime.evolution.set_webhook(
        name,
        token,
        url=url,
        events=WEBHOOK_EVENTS,
        headers={WEBHOOK_SECRET_HEADER: runtime.vault.webhook_secret(name)},
    )
    if row["webhook_url"] != url:
        await instances_db.update_instance(runtime.db, row["id"], webhook_url=url)
    return True


def _falls_short(current: dict[str, object], url: str) -> bool:
    """Whether Evolution's webhook row misses our URL or one of our events (an empty list
    means every event)."""
    events = current.get("events")
    if current.get("url") != url or current.get("enabled") is False:
        return True
    if not isinstance(events, list):
        return True
    return bool(events) and not set(WEBHOOK_EVENTS) <= set(events)


async def keep_webhooks_in_sync(runtime: Uses, stop: asyncio.Event) -> None:
    """`sync_webhooks` in the background at start, again with backoff while Evolution cannot
    be reached (start-up never waits for it); until every number is done or the process
    stops."""
    delay = RETRY_FIRST_SECONDS
    while not stop.is_set():
        try:
            result = await sync_webhooks(runtime)
        except Exception:  # the database is down: the next start tries again
            log.exception("webhooks not checked")
            return
        if not result.unreachable:
            return
        log.warning(
            "Evolution API unreachable: webhook of %d number(s) not checked; again in %.0f s",
            result.unreachable,
            delay,
        )
        try:
            await asyncio.wait_for(stop.wait(), delay)
        except TimeoutError:
            pass
        delay = min(delay * 2, RETRY_MAX_SECONDS)
