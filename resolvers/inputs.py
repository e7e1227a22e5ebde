"""Turning GraphQL arguments into what services take."""

from __future__ import annotations

import uuid

import strawberry

from services.errors import BadInput


def parse_id(value: strawberry.ID, field: str = "id") -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise BadInput(f"{field} is not a valid id", field=field) from None


def given_fields(input_object: object) -> dict[str, object]:
    """The fields a client actually sent (UNSET ones are left out), snake_case."""
    return {k: v for k, v in vars(input_object).items() if v is not strawberry.UNSET}


# Sequence numbers and event ids are PostgreSQL bigints.
BIGINT_MAX = 2**63 - 1


def parse_bigint(value: str, field: str, message: str) -> int:
    """A non-negative bigint written in ASCII digits: `str.isdigit` alone lets "²" and other
    Unicode digits through, which int() then refuses, and 5,000 digits are no number we hold."""
    if not (value.isascii() and value.isdigit() and len(value) <= 19) or int(value) > BIGINT_MAX:
        raise BadInput(message, field=field)
    return int(value)


def parse_seq(value: str | None) -> int | None:
    if value is None:
        return None
    return parse_bigint(value, "afterSeq", "afterSeq must be a seq value received from this API")
