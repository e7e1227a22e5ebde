"""Keeping each number's webhook on Evolution pointed at its own URL.

Numbers created before per-number URLs (or before `NEXT_PUBLIC_APP_URL` changed) post to an
older URL; at start each is moved with `POST /webhook/set`, and the stored `webhook_url` says
where it points. The shared URL keeps working for those not moved yet.
"""

from __future__ import annotations

import logging

from db import instances as instances_db
from services.errors import AppError
from services.instances.lifecycle import (
    WEBHOOK_EVENTS,
    WEBHOOK_SECRET_HEADER,
    token_of,
    webhook_url,
)
from services.platform.runtime import Runtime

log = logging.getLogger("atendimento.webhooks")


async def point_webhooks_at_own_urls(runtime: Runtime) -> int:
    """Moves every number whose webhook is not at its own URL; answers how many moved.

    A number Evolution refuses or cannot be reached for is left as it is (logged) and tried
    again at the next start: its deliveries still arrive on the shared URL meanwhile."""
    if not runtime.settings.app_url or not runtime.settings.evolution_configured:
        return 0
    moved = 0
    for row in await instances_db.list_instances(runtime.db, None):
        name = row["instance_name"]
        url = webhook_url(runtime, name)
        if row["webhook_url"] == url:
            continue
        try:
            await runtime.evolution.set_webhook(
                name,
                token_of(runtime, row),
                url=url,
                events=WEBHOOK_EVENTS,
                headers={WEBHOOK_SECRET_HEADER: runtime.vault.webhook_secret(name)},
            )
        except AppError as error:
            log.warning(
                "webhook of %s not moved to its own URL (%s); trying again at the next start",
                name,
                type(error).__name__,
            )
            continue
        await instances_db.update_instance(runtime.db, row["id"], webhook_url=url)
        moved += 1
    if moved:
        log.info("%d number(s) now post webhooks to their own URL", moved)
    return moved
