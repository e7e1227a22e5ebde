"""The background tasks of one process: started with the app, stopped before it exits."""

from __future__ import annotations

import asyncio
import logging

from services.instances.reconciler import Reconciler
from services.media.cleanup import MediaCleaner
from services.media.fetcher import MediaFetcher
from services.messaging.outbox import OutboxWorker
from services.platform.runtime import Runtime
from services.privacy.retention import RetentionJob
from services.webhooks.processor import WebhookProcessor
from services.webhooks.urls import keep_webhooks_in_sync

log = logging.getLogger("atendimento.workers")


class Workers:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.stop_event = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self.tasks.append(
            asyncio.create_task(
                WebhookProcessor(self.runtime).run(self.stop_event), name="webhook-processor"
            )
        )
        self.tasks.append(
            asyncio.create_task(OutboxWorker(self.runtime).run(self.stop_event), name="outbox")
        )
        self.tasks.append(
            asyncio.create_task(
                MediaFetcher(self.runtime).run(self.stop_event), name="media-fetcher"
            )
        )
        self.tasks.append(
            asyncio.create_task(
                MediaCleaner(self.runtime).run(self.stop_event), name="media-cleaner"
            )
        )
        self.tasks.append(
            asyncio.create_task(RetentionJob(self.runtime).run(self.stop_event), name="retention")
        )
        self.tasks.append(
            asyncio.create_task(Reconciler(self.runtime).run(self.stop_event), name="reconciler")
        )
        if self.runtime.liveness.leads:  # the leading process keeps them for all
            self.tasks.append(
                asyncio.create_task(
                    keep_webhooks_in_sync(self.runtime, self.stop_event), name="webhook-urls"
                )
            )

    async def stop(self) -> None:
        self.stop_event.set()
        if self.tasks:
            done, pending = await asyncio.wait(self.tasks, timeout=30)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            for task in done:
                if task.exception():
                    log.error(
                        "worker %s ended with an error", task.get_name(), exc_info=task.exception()
                    )
