from __future__ import annotations

from tests.helpers import GraphQLClient


async def test_healthz_and_readyz(server):
    async with GraphQLClient(server.url) as client:
        health = await client.http.get("/healthz")
        ready = await client.http.get("/readyz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


async def test_readyz_says_unavailable_when_migrations_are_pending(server, pg):
    await pg.execute(
        "DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)"
    )
    try:
        async with GraphQLClient(server.url) as client:
            ready = await client.http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["problems"] == ["migrations pending"]
    finally:
        from db.migrate import load_migrations

        last = load_migrations()[-1]
        await pg.execute(
            "INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)",
            last.version,
            last.checksum,
        )
