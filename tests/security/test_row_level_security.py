"""The RLS policies, seen as a Supabase client sees them: a non-superuser role with JWT claims."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import pytest

from tests.helpers import create_instance_row

ROLE = "atendimento_rls_client"


@pytest.fixture
async def client_role(pg):
    exists = await pg.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", ROLE)
    if not exists:
        try:
            await pg.execute(f"CREATE ROLE {ROLE} NOLOGIN")
        except asyncpg.DuplicateObjectError:
            pass  # created by a concurrent run
    await pg.execute(f"GRANT USAGE ON SCHEMA public TO {ROLE}")
    await pg.execute(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {ROLE}"
    )
    return ROLE


async def as_client(
    pg: asyncpg.Connection, claims: dict[str, Any] | None, query: str, *args: Any
) -> list[asyncpg.Record]:
    async with pg.transaction():
        await pg.execute(f"SET LOCAL ROLE {ROLE}")
        if claims is not None:
            await pg.execute(
                "SELECT set_config('request.jwt.claims', $1, true)", json.dumps(claims)
            )
        return await pg.fetch(query, *args)


async def test_members_see_their_numbers_only(pg, vault, client_role):
    agent = uuid.uuid4()
    mine = await create_instance_row(pg, vault, name="mine", members=[agent])
    other = await create_instance_row(pg, vault, name="other")
    for instance in (mine, other):
        contact = await pg.fetchval(
            "INSERT INTO whatsapp_contacts (instance_id, remote_jid, phone_number) "
            "VALUES ($1, '5511999990002@s.whatsapp.net', '5511999990002') RETURNING id",
            instance["id"],
        )
        await pg.execute(
            "INSERT INTO whatsapp_messages (instance_id, contact_id, message_id, remote_jid, "
            "message_type, status, timestamp) VALUES ($1, $2, 'M', 'x', 'text', 'sent', NOW())",
            instance["id"],
            contact,
        )

    claims = {"sub": str(agent), "role": "authenticated", "app_metadata": {"role": "agent"}}
    rows = await as_client(pg, claims, "SELECT instance_name FROM whatsapp_instances")
    assert [r["instance_name"] for r in rows] == ["mine"]
    rows = await as_client(pg, claims, "SELECT instance_id FROM whatsapp_messages")
    assert [r["instance_id"] for r in rows] == [mine["id"]]
    assert await as_client(pg, claims, "SELECT * FROM webhook_events") == []

    admin = {"sub": str(uuid.uuid4()), "app_metadata": {"role": "admin"}}
    assert len(await as_client(pg, admin, "SELECT * FROM whatsapp_instances")) == 2
    assert await as_client(pg, None, "SELECT * FROM whatsapp_contacts") == []  # anonymous

    # An agent cannot write into a number that is not theirs.
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_client(
            pg,
            claims,
            "INSERT INTO whatsapp_contacts (instance_id, remote_jid, "
            "phone_number) VALUES ($1, 'y@s.whatsapp.net', '1')",
            other["id"],
        )
