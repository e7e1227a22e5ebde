from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from schema.common import Node
from services.common.rows import Row


@strawberry.enum(description="What a profile may do: admins manage, agents answer.")
class ProfileRole(Enum):
    ADMIN = "admin"
    AGENT = "agent"


@strawberry.type(description="A person who signs in: an administrator or an agent.")
class Profile(Node):
    id: strawberry.ID
    full_name: str | None
    email: str | None
    role: ProfileRole
    created_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> Profile:
        return cls(
            id=strawberry.ID(str(row["id"])),
            full_name=row["full_name"],
            email=row["email"],
            role=ProfileRole(row["role"]),
            created_at=row["created_at"],
        )
