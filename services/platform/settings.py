"""Settings read once at start from the environment (and `.env`), validated, typed.

A wrong value stops the server with a message that names the variable, so an operator never
discovers a typo hours later through odd behaviour.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")
S3_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
S3_REGION = re.compile(r"[a-z]{2}(-[a-z0-9]+)+|auto")


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    broadcast_url: str = "memory://"
    data_dir: Path = Path(".data")
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    log_format: str = "text"
    business_timezone: str = "America/Sao_Paulo"
    evolution_api_base_url: str | None = None
    evolution_api_key: str | None = field(default=None, repr=False)
    evolution_timeout_seconds: float = 15.0
    evolution_retry_seconds: float = 20.0
    supabase_jwt_secret: str | None = field(default=None, repr=False)
    supabase_url: str | None = None
    # Where the signing keys are published; unset: derived from supabase_url.
    supabase_jwks_url: str | None = None
    supabase_service_role_key: str | None = field(default=None, repr=False)
    app_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    encryption_key: str | None = field(default=None, repr=False)
    graphiql: bool = True
    cors_origins: tuple[str, ...] = ()
    send_interval_seconds: float = 1.0
    send_max_attempts: int = 5
    workers_enabled: bool = True
    webhook_max_bytes: int = 32 * 1024 * 1024
    webhook_rate_per_second: float = 300.0
    webhook_source_rate_per_second: float = 2000.0
    webhook_concurrency: int = 4
    reconcile_interval_seconds: float = 10.0
    instance_stuck_seconds: float = 60.0
    send_rate_per_minute: float = 60.0
    db_pool_min: int = 2
    db_pool_max: int = 10
    db_statement_cache_size: int | None = None
    media_max_bytes: int = 64 * 1024 * 1024
    graphql_max_body_bytes: int = 1024 * 1024
    graphql_max_cost: int = 2000
    media_url_ttl_seconds: int = 3600
    media_s3_bucket: str | None = None
    media_s3_endpoint_url: str | None = None
    media_s3_region: str | None = None
    media_s3_access_key_id: str | None = field(default=None, repr=False)
    media_s3_secret_access_key: str | None = field(default=None, repr=False)

    @property
    def evolution_configured(self) -> bool:
        return bool(self.evolution_api_base_url and self.evolution_api_key)

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def read_dotenv(path: Path) -> dict[str, str]:
    """A minimal `.env` reader: KEY=VALUE lines, `#` comments, optional quotes."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> Settings:
    """Build Settings from the process environment, falling back to `.env` for unset keys."""
    env: dict[str, str] = read_dotenv(env_file) if env_file else {}
    env.update(os.environ if environ is None else environ)
    return parse_settings(env)


def parse_settings(env: Mapping[str, str]) -> Settings:
    def text(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    def integer(name: str, default: int, minimum: int, maximum: int) -> int:
        value = text(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise SettingsError(f"{name} must be a whole number, got {value!r}") from None
        if not minimum <= number <= maximum:
            raise SettingsError(f"{name} must be between {minimum} and {maximum}, got {number}")
        return number

    def decimal(name: str, default: float, minimum: float, maximum: float) -> float:
        value = text(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            raise SettingsError(f"{name} must be a number, got {value!r}") from None
        if not minimum <= number <= maximum:
            raise SettingsError(f"{name} must be between {minimum} and {maximum}, got {number}")
        return number

    def boolean(name: str, default: bool) -> bool:
        value = text(name)
        if value is None:
            return default
        if value.lower() in TRUE:
            return True
        if value.lower() in FALSE:
            return False
        raise SettingsError(f"{name} must be true or false, got {value!r}")

    def url(name: str, schemes: tuple[str, ...]) -> str | None:
        value = text(name)
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in schemes:
            raise SettingsError(
                f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)}"
            )
        if parts.scheme in ("http", "https") and not parts.netloc:
            raise SettingsError(f"{name} must include a host, got {value!r}")
        return value.rstrip("/") if parts.scheme in ("http", "https") else value

    database_url = url("DATABASE_URL", ("postgres", "postgresql"))
    if database_url and database_url.startswith("postgres://"):
        # Supabase and Heroku hand out postgres://; asyncpg and databases both want postgresql://.
        database_url = "postgresql://" + database_url.removeprefix("postgres://")

    broadcast_url = url("BROADCAST_URL", ("memory", "redis", "rediss", "postgres", "postgresql"))

    log_level = (text("LOG_LEVEL") or "INFO").upper()
    if log_level not in LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
    log_format = (text("LOG_FORMAT") or "text").lower()
    if log_format not in ("text", "json"):
        raise SettingsError(f"LOG_FORMAT must be text or json, got {log_format!r}")

    timezone = text("BUSINESS_TIMEZONE") or "America/Sao_Paulo"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"BUSINESS_TIMEZONE must be an IANA time zone such as America/Sao_Paulo, "
            f"got {timezone!r}"
        ) from None

    jwt_secret = text("SUPABASE_JWT_SECRET")
    if jwt_secret is not None and len(jwt_secret) < 32:
        raise SettingsError("SUPABASE_JWT_SECRET must be at least 32 characters long")

    cors = tuple(o.strip() for o in (text("CORS_ORIGINS") or "").split(",") if o.strip())
    for origin in cors:
        if origin != "*" and not urlsplit(origin).scheme.startswith("http"):
            raise SettingsError(f"CORS_ORIGINS must list origins like https://app.example.com, "
                                f"got {origin!r}")

    pool_min = integer("DB_POOL_MIN", 2, 1, 100)
    pool_max = integer("DB_POOL_MAX", 10, 1, 500)
    if pool_max < pool_min:
        raise SettingsError("DB_POOL_MAX must be greater than or equal to DB_POOL_MIN")
    cache = text("DB_STATEMENT_CACHE_SIZE")

    bucket = text("MEDIA_S3_BUCKET")
    if bucket is not None and not S3_BUCKET.fullmatch(bucket):
        raise SettingsError(f"MEDIA_S3_BUCKET must be an S3 bucket name (3 to 63 lower-case "
                            f"letters, digits, dots and hyphens), got {bucket!r}")
    s3_region = text("MEDIA_S3_REGION")
    if s3_region is not None and not S3_REGION.fullmatch(s3_region):
        raise SettingsError(f"MEDIA_S3_REGION must be a region name such as us-east-1, "
                            f"got {s3_region!r}")
    s3_key_id, s3_secret = text("MEDIA_S3_ACCESS_KEY_ID"), text("MEDIA_S3_SECRET_ACCESS_KEY")
    if (s3_key_id is None) != (s3_secret is None):
        given, missing = (("MEDIA_S3_ACCESS_KEY_ID", "MEDIA_S3_SECRET_ACCESS_KEY")
                          if s3_secret is None
                          else ("MEDIA_S3_SECRET_ACCESS_KEY", "MEDIA_S3_ACCESS_KEY_ID"))
        raise SettingsError(f"{missing} must be set too when {given} is set")
    s3_endpoint = url("MEDIA_S3_ENDPOINT_URL", ("http", "https"))
    if bucket is None:
        for name, value in (("MEDIA_S3_ENDPOINT_URL", s3_endpoint), ("MEDIA_S3_REGION", s3_region),
                            ("MEDIA_S3_ACCESS_KEY_ID", s3_key_id)):
            if value is not None:
                raise SettingsError(f"{name} is set but MEDIA_S3_BUCKET is not: set the bucket "
                                    f"to keep media in S3, or unset {name}")

    return Settings(
        database_url=database_url,
        broadcast_url=broadcast_url or "memory://",
        data_dir=Path(text("DATA_DIR") or ".data"),
        host=text("HOST") or "127.0.0.1",
        port=integer("PORT", 8000, 0, 65535),
        log_level=log_level,
        log_format=log_format,
        business_timezone=timezone,
        evolution_api_base_url=url("EVOLUTION_API_BASE_URL", ("http", "https")),
        evolution_api_key=text("EVOLUTION_API_KEY"),
        evolution_timeout_seconds=decimal("EVOLUTION_TIMEOUT_SECONDS", 15.0, 0.1, 300.0),
        evolution_retry_seconds=decimal("EVOLUTION_RETRY_SECONDS", 20.0, 0.0, 600.0),
        supabase_jwt_secret=jwt_secret,
        supabase_url=url("NEXT_PUBLIC_SUPABASE_URL", ("http", "https")),
        supabase_jwks_url=url("SUPABASE_JWKS_URL", ("http", "https")),
        supabase_service_role_key=text("SUPABASE_SERVICE_ROLE_KEY"),
        app_url=url("NEXT_PUBLIC_APP_URL", ("http", "https")),
        webhook_secret=text("WEBHOOK_SECRET"),
        encryption_key=text("ENCRYPTION_KEY"),
        graphiql=boolean("GRAPHIQL", True),
        cors_origins=cors,
        send_interval_seconds=decimal("SEND_INTERVAL_SECONDS", 1.0, 0.0, 3600.0),
        send_max_attempts=integer("SEND_MAX_ATTEMPTS", 5, 1, 100),
        workers_enabled=boolean("WORKERS_ENABLED", True),
        webhook_max_bytes=integer("WEBHOOK_MAX_BYTES", 32 * 1024 * 1024, 1024, 1024**3),
        webhook_rate_per_second=decimal("WEBHOOK_RATE_PER_SECOND", 300.0, 1.0, 100000.0),
        webhook_source_rate_per_second=decimal("WEBHOOK_SOURCE_RATE_PER_SECOND", 2000.0, 1.0,
                                               1000000.0),
        webhook_concurrency=integer("WEBHOOK_CONCURRENCY", 4, 1, 64),
        reconcile_interval_seconds=decimal("RECONCILE_INTERVAL_SECONDS", 10.0, 0.1, 3600.0),
        instance_stuck_seconds=decimal("INSTANCE_STUCK_SECONDS", 60.0, 1.0, 3600.0),
        send_rate_per_minute=decimal("SEND_RATE_PER_MINUTE", 60.0, 1.0, 100000.0),
        db_pool_min=pool_min,
        db_pool_max=pool_max,
        db_statement_cache_size=(
            integer("DB_STATEMENT_CACHE_SIZE", 0, 0, 10000) if cache is not None else None
        ),
        media_max_bytes=integer("MEDIA_MAX_BYTES", 64 * 1024 * 1024, 1024, 2 * 1024**3),
        graphql_max_body_bytes=integer("GRAPHQL_MAX_BODY_BYTES", 1024 * 1024, 1024, 64 * 1024**2),
        graphql_max_cost=integer("GRAPHQL_MAX_COST", 2000, 10, 1_000_000),
        media_url_ttl_seconds=integer("MEDIA_URL_TTL_SECONDS", 3600, 10, 7 * 86400),
        media_s3_bucket=bucket,
        media_s3_endpoint_url=s3_endpoint,
        media_s3_region=s3_region,
        media_s3_access_key_id=s3_key_id,
        media_s3_secret_access_key=s3_secret,
    )
