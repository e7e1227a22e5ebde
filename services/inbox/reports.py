"""What a team lead reads: conversations, resolutions, messages, first response and resolution
times of a period, overall and per agent; and the same per conversation as CSV.

- `conversations`: conversations opened in the period (a customer's first message, or a
  reopening); their first response time is from the first incoming message to the first reply
  of a person (auto-replies and notes do not count), measured even when the reply came after
  the period. Per agent: the conversations they answered first.
- `resolved`: resolutions in the period, with the time from the conversation's opening. Per
  agent: the assignee at that moment, else whoever resolved it.
- `messagesReceived` / `messagesSent`: messages of the period (notes are not messages); per
  agent, those they sent through this server.

Admins read every number (or one); agents the numbers they are members of.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from db import inbox as inbox_db, reports as reports_db
from db.sql import Row
from services.errors import BadInput
from services.identity import access
from services.identity.auth import Principal
from services.platform.capabilities import WithDatabase


class Uses(WithDatabase, Protocol): ...


@dataclass
class Percentiles:
    p50: float | None = None
    p90: float | None = None


@dataclass
class Figures:
    conversations: int = 0
    resolved: int = 0
    messages_received: int = 0
    messages_sent: int = 0
    first_response: Percentiles = field(default_factory=Percentiles)
    resolution: Percentiles = field(default_factory=Percentiles)


@dataclass
class ConversationReport:
    overall: Figures
    by_agent: dict[uuid.UUID, Figures]


async def _instances(
    runtime: WithDatabase, principal: Principal, instance_id: uuid.UUID | None
) -> list[uuid.UUID]:
    db = runtime.db
    if instance_id is not None:
        await access.visible_instance(db, principal, instance_id)
        return [instance_id]
    if principal.is_admin:
        return await reports_db.all_instance_ids(db)
    return await inbox_db.member_instance_ids(db, principal.profile_id)


def _period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    if start.tzinfo is None or end.tzinfo is None:
        raise BadInput("from and to need a time zone (an offset or Z)", field="from")
    if end <= start:
        raise BadInput("to must be after from", field="to")
    return start, end


def _seconds(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


async def conversation_report(
    runtime: Uses,
    principal: Principal,
    instance_id: uuid.UUID | None,
    start: datetime,
    end: datetime,
) -> ConversationReport:
    start, end = _period(start, end)
    ids = await _instances(runtime, principal, instance_id)
    overall = Figures()
    agents: dict[uuid.UUID, Figures] = {}

    def figures_of(row: Row) -> Figures | None:
        if row["overall"]:
            return overall
        if row["agent"] is None:
            return None  # answered from the phone, auto-assigned to nobody, incoming…
        return agents.setdefault(row["agent"], Figures())

    db = runtime.db
    for row in await reports_db.conversation_figures(db, ids, start, end):
        if (target := figures_of(row)) is not None:
            target.conversations = int(row["conversations"])
            target.first_response = Percentiles(_seconds(row["p50"]), _seconds(row["p90"]))
    for row in await reports_db.resolution_figures(db, ids, start, end):
        if (target := figures_of(row)) is not None:
            target.resolved = int(row["resolved"])
            target.resolution = Percentiles(_seconds(row["p50"]), _seconds(row["p90"]))
    for row in await reports_db.message_figures(db, ids, start, end):
        if (target := figures_of(row)) is not None:
            target.messages_received = int(row["received"])
            target.messages_sent = int(row["sent"])
    return ConversationReport(overall, agents)


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
CSV_COLUMNS = (
    "number",
    "contact_id",
    "contact_name",
    "phone_number",
    "opened_at",
    "first_incoming_at",
    "first_response_at",
    "first_response_seconds",
    "first_responder",
    "resolved_at",
    "resolution_seconds",
    "status_now",
    "assignee_now",
    "messages_received",
    "messages_sent",
)


def safe_cell(value: Any) -> str:
    """A cell as text: times in UTC ISO 8601, text that a spreadsheet would run as a formula
    prefixed with an apostrophe (OWASP's advice), so it shows as written."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_lines(rows: Iterable[Row]) -> Iterable[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: Iterable[Any]) -> str:
        writer.writerow([safe_cell(c) for c in cells])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield line(CSV_COLUMNS)
    for r in rows:
        yield line(
            (
                r["instance_name"],
                r["contact_id"],
                r["contact_name"],
                r["phone_number"],
                r["opened_at"],
                r["first_in_at"],
                r["first_reply_at"],
                r["first_response_seconds"],
                r["responder_name"] or r["responder"],
                r["resolved_at"],
                r["resolution_seconds"],
                r["status_now"].upper(),
                r["assignee_name"],
                r["received"],
                r["sent"],
            )
        )


async def conversations_csv(
    runtime: Uses,
    principal: Principal,
    instance_id: uuid.UUID | None,
    start: datetime,
    end: datetime,
) -> str:
    start, end = _period(start, end)
    ids = await _instances(runtime, principal, instance_id)
    rows = await reports_db.conversation_rows(runtime.db, ids, start, end)
    return "".join(_csv_lines(rows))
