"""Message status moves forward only: PENDING → SENT → DELIVERED → READ; FAILED only from
PENDING or SENT. Receipts arrive twice, late, or out of order; the final status is still right."""

from __future__ import annotations

RANK = {"pending": 0, "sent": 1, "delivered": 2, "read": 3}

# Evolution's names (Baileys' WebMessageInfo.Status) to ours.
FROM_EVOLUTION = {
    "PENDING": "pending",
    "SERVER_ACK": "sent",
    "DELIVERY_ACK": "delivered",
    "READ": "read",
    "PLAYED": "read",
    "ERROR": "failed",
}


def next_status(current: str, incoming: str) -> str:
    if incoming == current:
        return current
    if incoming == "failed":
        return "failed" if current in ("pending", "sent") else current
    if current == "failed":
        # Proof of delivery beats our own failure verdict (e.g. a timeout after WhatsApp took it).
        return incoming if incoming in ("delivered", "read") else current
    return incoming if RANK.get(incoming, -1) > RANK.get(current, -1) else current


def from_evolution(value: object) -> str | None:
    return FROM_EVOLUTION.get(value) if isinstance(value, str) else None
