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


def parse_seq(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit():
        raise BadInput("afterSeq must be a seq value received from this API", field="afterSeq")
    return int(value)
