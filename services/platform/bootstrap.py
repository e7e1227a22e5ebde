"""What `serve` does before the app starts: find or start PostgreSQL, find or make secrets."""

from __future__ import annotations

import asyncio

from db.embedded import ensure_database, start_embedded
from services.platform.crypto import Vault, new_key
from services.platform.local_secrets import load_or_create
from services.platform.settings import Settings


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL when set; otherwise the embedded PostgreSQL in DATA_DIR (started here)."""
    if settings.database_url:
        return settings.database_url
    base = start_embedded(settings.data_dir)
    return asyncio.run(ensure_database(base))


def jwt_secret(settings: Settings) -> str:
    return settings.supabase_jwt_secret or load_or_create(settings.data_dir / "jwt_secret")


def vault(settings: Settings) -> Vault:
    key = settings.encryption_key or load_or_create(settings.data_dir / "encryption_key", new_key)
    secret = settings.webhook_secret or load_or_create(settings.data_dir / "webhook_secret")
    return Vault(key, secret)
