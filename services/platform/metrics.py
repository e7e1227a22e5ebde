"""Prometheus metrics (the seed's "Monitoring": Evolution calls, webhook processing time,
delivery rates, connection failures), served at /metrics."""

from __future__ import annotations

from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from db import observability as observability_db, privacy as privacy_db
from services.platform.capabilities import WithBus, WithDatabase


class Uses(WithDatabase, WithBus, Protocol): ...


WEBHOOKS_RECEIVED = Counter(
    "atendimento_webhook_events_received_total",
    "Webhook deliveries by event and answer",
    ["event", "status"],
)
WEBHOOKS_PROCESSED = Counter(
    "atendimento_webhook_events_processed_total",
    "Webhook events applied, by outcome",
    ["event", "outcome"],
)
WEBHOOK_PROCESSING = Histogram(
    "atendimento_webhook_processing_seconds",
    "Time to apply one webhook event",
    ["event"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
)
EVOLUTION_CALLS = Counter(
    "atendimento_evolution_calls_total",
    "Evolution API calls by route and status",
    ["method", "route", "status"],
)
EVOLUTION_LATENCY = Histogram(
    "atendimento_evolution_call_seconds", "Evolution API call latency", ["method", "route"]
)
MESSAGE_STATUS = Counter(
    "atendimento_messages_total",
    "Our messages reaching a status, per instance",
    ["instance", "status"],
)
DISCONNECTIONS = Counter(
    "atendimento_instance_disconnections_total", "Numbers that lost their connection", ["instance"]
)
GRAPHQL_LATENCY = Histogram(
    "atendimento_graphql_operation_seconds",
    "GraphQL operation latency",
    ["operation", "type"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
)
OUTBOX_DEPTH = Gauge("atendimento_outbox_pending", "Messages waiting to be sent")
OUTBOX_OLDEST = Gauge(
    "atendimento_outbox_oldest_pending_seconds", "Age of the oldest message waiting to be sent"
)
WEBHOOK_BACKLOG = Gauge("atendimento_webhook_events", "Stored webhook events by status", ["status"])
INSTANCE_CONNECTED = Gauge(
    "atendimento_instance_connected", "1 when the number is connected", ["instance", "status"]
)
SUBSCRIBERS = Gauge("atendimento_live_subscribers", "Open live subscriptions in this process")
MEDIA_OBJECTS_DELETED = Counter(
    "atendimento_media_objects_deleted_total", "Media objects (or folders) deleted from the store"
)
MEDIA_DELETION_FAILURES = Counter(
    "atendimento_media_object_deletion_failures_total",
    "Media object deletions the store refused (queued and retried)",
)
MEDIA_DELETIONS_PENDING = Gauge(
    "atendimento_media_deletions_pending", "Media objects queued for deletion"
)
PRIVACY_REQUESTS = Counter(
    "atendimento_privacy_requests_total", "Data exports and erasures of a person", ["action"]
)
RETENTION_DELETED = Counter(
    "atendimento_retention_deleted_total",
    "What the retention job deleted, by kind (messages, media, auto_replies, webhook_events)",
    ["kind"],
)
RETENTION_LAST_RUN = Gauge(
    "atendimento_retention_last_run_timestamp_seconds", "When this process last ran retention"
)


def record_evolution_call(method: str, route: str, status: int | None, seconds: float) -> None:
    EVOLUTION_CALLS.labels(method, route, str(status) if status is not None else "error").inc()
    EVOLUTION_LATENCY.labels(method, route).observe(seconds)


async def render(runtime: Uses) -> tuple[bytes, str]:
    """Refresh the gauges that come from the database, then render every metric."""
    snapshot = await observability_db.snapshot(runtime.db)
    OUTBOX_DEPTH.set(snapshot.outbox_pending)
    OUTBOX_OLDEST.set(snapshot.outbox_oldest_seconds)
    for status in ("pending", "failed"):
        WEBHOOK_BACKLOG.labels(status).set(snapshot.webhook_events.get(status, 0))
    INSTANCE_CONNECTED.clear()
    for name, status in snapshot.instances:
        INSTANCE_CONNECTED.labels(name, status).set(1 if status == "connected" else 0)
    SUBSCRIBERS.set(runtime.bus.subscriber_count)
    MEDIA_DELETIONS_PENDING.set(await privacy_db.pending_deletions(runtime.db))
    return generate_latest(), CONTENT_TYPE_LATEST
