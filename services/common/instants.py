"""The time a message is stored with when WhatsApp gives none (ours, notes, absurd values)."""

from __future__ import annotations

from datetime import UTC, datetime


def whole_second_now() -> datetime:
    """Now, to the whole second. WhatsApp's message times have whole seconds and messages of
    one second are ordered by arrival; a time of ours with a fraction would sort after a
    customer's message of the same second that reached us later."""
    return datetime.now(UTC).replace(microsecond=0)
