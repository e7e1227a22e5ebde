"""Test fixtures: a real PostgreSQL (the machine's, or the embedded one), a real server on a
loopback port, real HTTP and websocket clients.

Each test starts from empty tables; the database itself is created once per session and
dropped at the end.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from db.migrate import apply_migrations
from server import create_app
from services.identity.auth import mint_token
from services.platform.crypto import Vault, new_key
from services.platform.settings import Settings
from tests.helpers import (
    JWT_SECRET,
    GraphQLClient,
    ServerHandle,
    create_instance_row,
    serve_app,
)
from tests.standin.evolution import EvolutionStandIn

pytest_plugins = ["tests.standin.fixtures"]

ROOT = Path(__file__).resolve().parent.parent
KEEP_TABLES = {"schema_migrations"}


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A URL of a PostgreSQL server we may create databases on."""
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        yield url.replace("postgres://", "postgresql://", 1)
        return
    from db.embedded import start_embedded

    yield start_embedded(ROOT / ".data" / "test").format(database="postgres")


@pytest.fixture(scope="session")
def database_url(pg_server_url: str) -> Iterator[str]:
    name = f"atendimento_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def create() -> str:
        admin = await asyncpg.connect(pg_server_url)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        url = _with_database(pg_server_url, name)
        await apply_migrations(url)
        return url

    async def drop() -> None:
        admin = await asyncpg.connect(pg_server_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    url = asyncio.run(create())
    yield url
    asyncio.run(drop())


@pytest.fixture
async def pg(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection for arranging and asserting; tables are emptied before each test."""
    conn = await asyncpg.connect(database_url)
    tables = [
        r["tablename"]
        for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        if r["tablename"] not in KEEP_TABLES
    ]
    await conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, evolution: EvolutionStandIn) -> Settings:
    """Settings of a server wired to the Evolution stand-in, with short timeouts and intervals
    so failure paths and rate limits stay quick."""
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        supabase_jwt_secret=JWT_SECRET,
        webhook_secret="test-webhook-secret-0123456789",
        evolution_api_base_url=evolution.url,
        evolution_api_key=evolution.api_key,
        evolution_timeout_seconds=2.0,
        evolution_retry_seconds=0.5,
        send_interval_seconds=0.05,
        send_rate_per_minute=100_000,
        # .ci/run runs the GraphQL-facing tests a second time with GRAPHQL_EXECUTOR=stock.
        graphql_executor=os.environ.get("GRAPHQL_EXECUTOR", "short"),
        # .ci/run's second pass sets LIVE_FANOUT=stock too: both live paths pass the same tests.
        live_fanout=os.environ.get("LIVE_FANOUT", "direct"),
    )


@pytest.fixture
def vault(settings: Settings) -> Vault:
    assert settings.webhook_secret
    return Vault(new_key(), settings.webhook_secret)


@pytest.fixture
async def instance(pg: asyncpg.Connection, vault: Vault) -> dict[str, Any]:
    """The default instance ("acme-support") as a stored row, unknown to the Evolution stand-in."""
    return await create_instance_row(pg, vault)


@pytest.fixture
def secret(vault: Vault) -> str:
    """The webhook secret of the default instance."""
    return vault.webhook_secret("acme-support")


@pytest.fixture
async def server(
    pg: asyncpg.Connection, settings: Settings, vault: Vault
) -> AsyncIterator[ServerHandle]:
    app = create_app(settings, JWT_SECRET, vault)
    async with serve_app(app) as handle:
        # Evolution must call this server back: its URL is known only now.
        runtime = app.state.runtime
        runtime.settings = runtime.settings.with_overrides(app_url=handle.url)
        handle.runtime = runtime
        yield handle


@pytest.fixture
def admin_id() -> uuid.UUID:
    return uuid.UUID("11111111-1111-4111-8111-111111111111")


@pytest.fixture
def agent_id() -> uuid.UUID:
    return uuid.UUID("22222222-2222-4222-8222-222222222222")


@pytest.fixture
def admin_token(admin_id: uuid.UUID) -> str:
    return mint_token(JWT_SECRET, sub=admin_id, role="admin", name="Ana Admin")


@pytest.fixture
def agent_token(agent_id: uuid.UUID) -> str:
    return mint_token(JWT_SECRET, sub=agent_id, role="agent", name="Bruno Agente")


@pytest.fixture
async def gql(server: ServerHandle, admin_token: str) -> AsyncIterator[GraphQLClient]:
    async with GraphQLClient(server.url, admin_token) as client:
        yield client
