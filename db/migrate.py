"""Plain `.sql` migrations in `db/migrations/`, applied in file-name order, each once, each in a
transaction, recorded in `schema_migrations`.

Two replicas that start together both call `apply_migrations`; a PostgreSQL advisory lock makes
the second wait for the first and then find nothing left to do.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import asyncpg

log = logging.getLogger("atendimento.migrate")

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant works; it only has to be the same for every replica of this application.
ADVISORY_LOCK_KEY = 4_731_772_001


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    files = sorted(directory.glob("*.sql"))
    return [Migration(f.stem, f.read_text(encoding="utf-8")) for f in files]


async def apply_migrations(dsn: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations; return the versions applied by this call."""
    migrations = load_migrations(directory)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK_KEY)
        try:
            return await _apply_locked(conn, migrations)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_KEY)
    finally:
        await conn.close()


async def _apply_locked(conn: asyncpg.Connection, migrations: list[Migration]) -> list[str]:
    await conn.execute(
        """
        CREATE TABLE IF NOT EXISTS schema_migrations (
          version TEXT PRIMARY KEY,
          checksum TEXT NOT NULL,
          applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
        )
        """
    )
    rows = await conn.fetch("SELECT version, checksum FROM schema_migrations ORDER BY version")
    applied = {r["version"]: r["checksum"] for r in rows}
    known = {m.version: m for m in migrations}

    missing = sorted(set(applied) - set(known))
    if missing:
        raise MigrationError(
            f"the database has migrations this code does not know: {', '.join(missing)} "
            "(is this an older release than the one that migrated it?)"
        )
    for version, checksum in applied.items():
        if known[version].checksum != checksum:
            raise MigrationError(
                f"migration {version} was edited after it was applied; add a new migration instead"
            )

    pending = [m for m in migrations if m.version not in applied]
    if pending and applied and pending[0].version < max(applied):
        raise MigrationError(
            f"migration {pending[0].version} sorts before already applied {max(applied)}; "
            "rename it so it comes last"
        )
    for migration in pending:
        log.info("applying migration %s", migration.version)
        async with conn.transaction():
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)",
                migration.version,
                migration.checksum,
            )
    return [m.version for m in pending]


async def pending_migrations(
    conn: asyncpg.Connection, directory: Path = MIGRATIONS_DIR
) -> list[str]:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    applied = (
        {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        if exists
        else set()
    )
    return [m.version for m in load_migrations(directory) if m.version not in applied]
