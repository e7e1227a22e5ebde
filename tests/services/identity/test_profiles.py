"""The registry of stored profiles: a known principal costs no write, and memory stays bounded."""

from __future__ import annotations

import uuid

from db.sql import close_database, create_database
from services.identity.auth import Principal
from services.identity.profiles import ProfileRegistry


async def test_the_registry_of_stored_profiles_stays_bounded(pg, database_url):
    registry = ProfileRegistry(max_keys=50)
    profile_id = uuid.uuid4()
    db = create_database(database_url, min_size=1, max_size=2)
    await db.connect()
    try:
        # One user renaming themselves over and over, then many users.
        for n in range(200):
            await registry.ensure(db, Principal(profile_id, "agent", name=f"Bruna {n}"))
        for _ in range(200):
            await registry.ensure(db, Principal(uuid.uuid4(), "agent"))
        assert len(registry) == 50
        assert await pg.fetchval("SELECT count(*) FROM profiles") == 201
        assert await pg.fetchval("SELECT full_name FROM profiles WHERE id = $1", profile_id) == (
            "Bruna 199"
        )

        # A principal still remembered is not written again; one forgotten is (an upsert).
        recent = Principal(uuid.uuid4(), "agent", name="Carla")
        await registry.ensure(db, recent)
        await pg.execute("DELETE FROM profiles WHERE id = $1", recent.profile_id)
        await registry.ensure(db, recent)
        assert (
            await pg.fetchval("SELECT count(*) FROM profiles WHERE id = $1", recent.profile_id) == 0
        )
        forgotten = Principal(profile_id, "agent", name="Bruna 0")
        await registry.ensure(db, forgotten)
        assert await pg.fetchval("SELECT full_name FROM profiles WHERE id = $1", profile_id) == (
            "Bruna 0"
        )
    finally:
        await close_database(db)
