"""Settings read once at start from the environment (and `.env`), validated, typed.

pydantic-settings reads the sources (the process environment wins over a `.env` file in the
working directory) and pydantic checks the values. A wrong value stops the server with a
message that names the variable, so an operator never discovers a typo hours later through
odd behaviour. A blank value counts as unset.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
S3_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
S3_REGION = re.compile(r"[a-z]{2}(-[a-z0-9]+)+|auto")
HTTP = ("http", "https")
TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


def _env(name: str, **constraints: Any) -> Any:
    """A field read from the variable `name`."""
    return Field(validation_alias=name, **constraints)


def _whole(value: Any) -> Any:
    # Stricter than pydantic's lax int: "7.0" is a typo here, not seven.
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise PydanticCustomError("int_parsing", "not a whole number") from None
    return value


def _switch(value: Any) -> Any:
    # Only these words: pydantic would also take t/f/y/n, which read like typos in a .env.
    if isinstance(value, str):
        if value.lower() in TRUE:
            return True
        if value.lower() in FALSE:
            return False
        raise PydanticCustomError("bool_parsing", "not true or false")
    return value


Whole = Annotated[int, BeforeValidator(_whole)]
Switch = Annotated[bool, BeforeValidator(_switch)]


def _secret(name: str) -> Any:
    return Field(None, validation_alias=name, repr=False)


def _url(name: str, value: str | None, schemes: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        raise ValueError(
            f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)}"
        )
    if parts.scheme in HTTP and not parts.netloc:
        raise ValueError(f"{name} must include a host, got {value!r}")
    return value.rstrip("/") if parts.scheme in HTTP else value


class Settings(BaseSettings):
    """The whole configuration; the field's alias is its variable.

    Built by keyword (tests, `with_overrides`) it reads nothing else: only `load_settings`
    consults the environment and `.env`, so a stray variable never leaks into a test.
    """

    model_config = SettingsConfigDict(
        frozen=True,
        extra="ignore",
        case_sensitive=True,
        validate_by_name=True,
        validate_by_alias=True,
        # Errors are rewritten to name the variable; the raw input (maybe a secret) stays out.
        hide_input_in_errors=True,
        env_file_encoding="utf-8",
    )

    database_url: str | None = _env("DATABASE_URL", default=None)
    broadcast_url: str = _env("BROADCAST_URL", default="memory://")
    data_dir: Path = _env("DATA_DIR", default=Path(".data"))
    host: str = _env("HOST", default="127.0.0.1")
    port: Whole = _env("PORT", default=8000, ge=0, le=65535)
    log_level: str = _env("LOG_LEVEL", default="INFO")
    log_format: str = _env("LOG_FORMAT", default="text")
    business_timezone: str = _env("BUSINESS_TIMEZONE", default="America/Sao_Paulo")
    evolution_api_base_url: str | None = _env("EVOLUTION_API_BASE_URL", default=None)
    evolution_api_key: str | None = _secret("EVOLUTION_API_KEY")
    evolution_timeout_seconds: float = _env(
        "EVOLUTION_TIMEOUT_SECONDS", default=15.0, ge=0.1, le=300.0, allow_inf_nan=False
    )
    evolution_retry_seconds: float = _env(
        "EVOLUTION_RETRY_SECONDS", default=20.0, ge=0.0, le=600.0, allow_inf_nan=False
    )
    supabase_jwt_secret: str | None = _secret("SUPABASE_JWT_SECRET")
    supabase_url: str | None = _env("NEXT_PUBLIC_SUPABASE_URL", default=None)
    # Where the signing keys are published; unset: derived from supabase_url.
    supabase_jwks_url: str | None = _env("SUPABASE_JWKS_URL", default=None)
    supabase_service_role_key: str | None = _secret("SUPABASE_SERVICE_ROLE_KEY")
    app_url: str | None = _env("NEXT_PUBLIC_APP_URL", default=None)
    webhook_secret: str | None = _secret("WEBHOOK_SECRET")
    encryption_key: str | None = _secret("ENCRYPTION_KEY")
    graphiql: Switch = _env("GRAPHIQL", default=True)
    # "short": graphql-core's executor with schema/executor.py's short path for plain fields;
    # "stock": Strawberry's own, unchanged.
    graphql_executor: str = _env("GRAPHQL_EXECUTOR", default="short")
    # "direct": live events reach websocket subscribers as ready frames (resolvers/live_fanout.py);
    # "stock": through Strawberry's stream per subscriber.
    live_fanout: str = _env("LIVE_FANOUT", default="direct")
    # NoDecode: a comma-separated list, not the JSON pydantic-settings expects for a sequence.
    cors_origins: Annotated[tuple[str, ...], NoDecode] = _env("CORS_ORIGINS", default=())
    send_interval_seconds: float = _env(
        "SEND_INTERVAL_SECONDS", default=1.0, ge=0.0, le=3600.0, allow_inf_nan=False
    )
    send_max_attempts: Whole = _env("SEND_MAX_ATTEMPTS", default=5, ge=1, le=100)
    workers_enabled: Switch = _env("WORKERS_ENABLED", default=True)
    # Server processes `serve` runs on this machine (uvicorn's workers), sharing one port.
    web_concurrency: Whole = _env("WEB_CONCURRENCY", default=1, ge=1, le=64)
    webhook_max_bytes: Whole = _env(
        "WEBHOOK_MAX_BYTES", default=32 * 1024 * 1024, ge=1024, le=1024**3
    )
    webhook_rate_per_second: float = _env(
        "WEBHOOK_RATE_PER_SECOND", default=300.0, ge=1.0, le=100000.0, allow_inf_nan=False
    )
    webhook_source_rate_per_second: float = _env(
        "WEBHOOK_SOURCE_RATE_PER_SECOND", default=2000.0, ge=1.0, le=1000000.0, allow_inf_nan=False
    )
    webhook_concurrency: Whole = _env("WEBHOOK_CONCURRENCY", default=4, ge=1, le=64)
    reconcile_interval_seconds: float = _env(
        "RECONCILE_INTERVAL_SECONDS", default=10.0, ge=0.1, le=3600.0, allow_inf_nan=False
    )
    instance_stuck_seconds: float = _env(
        "INSTANCE_STUCK_SECONDS", default=60.0, ge=1.0, le=3600.0, allow_inf_nan=False
    )
    send_rate_per_minute: float = _env(
        "SEND_RATE_PER_MINUTE", default=60.0, ge=1.0, le=100000.0, allow_inf_nan=False
    )
    db_pool_min: Whole = _env("DB_POOL_MIN", default=2, ge=1, le=100)
    db_pool_max: Whole = _env("DB_POOL_MAX", default=10, ge=1, le=500)
    db_statement_cache_size: Whole | None = _env(
        "DB_STATEMENT_CACHE_SIZE", default=None, ge=0, le=10000
    )
    media_max_bytes: Whole = _env(
        "MEDIA_MAX_BYTES", default=64 * 1024 * 1024, ge=1024, le=2 * 1024**3
    )
    graphql_max_body_bytes: Whole = _env(
        "GRAPHQL_MAX_BODY_BYTES", default=1024 * 1024, ge=1024, le=64 * 1024**2
    )
    graphql_max_cost: Whole = _env("GRAPHQL_MAX_COST", default=2000, ge=10, le=1_000_000)
    media_url_ttl_seconds: Whole = _env("MEDIA_URL_TTL_SECONDS", default=3600, ge=10, le=7 * 86400)
    # Unset: kept for ever. Days after which messages (DATA_) or their media files (MEDIA_) are
    # deleted by the daily retention job.
    data_retention_days: Whole | None = _env("DATA_RETENTION_DAYS", default=None, ge=1, le=36500)
    media_retention_days: Whole | None = _env("MEDIA_RETENTION_DAYS", default=None, ge=1, le=36500)
    media_s3_bucket: str | None = _env("MEDIA_S3_BUCKET", default=None)
    media_s3_endpoint_url: str | None = _env("MEDIA_S3_ENDPOINT_URL", default=None)
    media_s3_region: str | None = _env("MEDIA_S3_REGION", default=None)
    media_s3_access_key_id: str | None = _secret("MEDIA_S3_ACCESS_KEY_ID")
    media_s3_secret_access_key: str | None = _secret("MEDIA_S3_SECRET_ACCESS_KEY")

    URLS: ClassVar[dict[str, tuple[str, ...]]] = {
        "database_url": ("postgres", "postgresql"),
        "broadcast_url": ("memory", "redis", "rediss", "postgres", "postgresql"),
        "evolution_api_base_url": HTTP,
        "supabase_url": HTTP,
        "supabase_jwks_url": HTTP,
        "app_url": HTTP,
        "media_s3_endpoint_url": HTTP,
    }

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)  # the environment is read by load_settings only

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, values: Any) -> Any:
        if not isinstance(values, Mapping):
            return values
        stripped = {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}
        return {k: v for k, v in stripped.items() if v != ""}

    @field_validator(*URLS, mode="after")
    @classmethod
    def _check_url(cls, value: str | None, info: Any) -> str | None:
        return _url(_variable(info.field_name), value, cls.URLS[info.field_name])

    @field_validator("database_url", mode="after")
    @classmethod
    def _postgresql_scheme(cls, value: str | None) -> str | None:
        # Supabase and Heroku hand out postgres://; asyncpg and databases both want postgresql://.
        if value is not None and value.startswith("postgres://"):
            return "postgresql://" + value.removeprefix("postgres://")
        return value

    @field_validator("log_level", mode="after")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(
                f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {value.upper()!r}"
            )
        return value.upper()

    @field_validator("log_format", mode="after")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value.lower() not in ("text", "json"):
            raise ValueError(f"LOG_FORMAT must be text or json, got {value.lower()!r}")
        return value.lower()

    @field_validator("graphql_executor", mode="after")
    @classmethod
    def _graphql_executor(cls, value: str) -> str:
        if value.lower() not in ("short", "stock"):
            raise ValueError(f"GRAPHQL_EXECUTOR must be short or stock, got {value.lower()!r}")
        return value.lower()

    @field_validator("live_fanout", mode="after")
    @classmethod
    def _live_fanout(cls, value: str) -> str:
        if value.lower() not in ("direct", "stock"):
            raise ValueError(f"LIVE_FANOUT must be direct or stock, got {value.lower()!r}")
        return value.lower()

    @field_validator("business_timezone", mode="after")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"BUSINESS_TIMEZONE must be an IANA time zone such as "
                f"America/Sao_Paulo, got {value!r}"
            ) from None
        return value

    @field_validator("supabase_jwt_secret", mode="after")
    @classmethod
    def _jwt_secret(cls, value: str | None) -> str | None:
        if value is not None and len(value) < 32:
            raise ValueError("SUPABASE_JWT_SECRET must be at least 32 characters long")
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _cors(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        origins = tuple(o.strip() for o in value.split(",") if o.strip())
        for origin in origins:
            if origin != "*" and not urlsplit(origin).scheme.startswith("http"):
                raise ValueError(
                    f"CORS_ORIGINS must list origins like https://app.example.com, got {origin!r}"
                )
        return origins

    @field_validator("media_s3_bucket", mode="after")
    @classmethod
    def _bucket(cls, value: str | None) -> str | None:
        if value is not None and not S3_BUCKET.fullmatch(value):
            raise ValueError(
                f"MEDIA_S3_BUCKET must be an S3 bucket name (3 to 63 lower-case "
                f"letters, digits, dots and hyphens), got {value!r}"
            )
        return value

    @field_validator("media_s3_region", mode="after")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and not S3_REGION.fullmatch(value):
            raise ValueError(
                f"MEDIA_S3_REGION must be a region name such as us-east-1, got {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.db_pool_max < self.db_pool_min:
            raise ValueError("DB_POOL_MAX must be greater than or equal to DB_POOL_MIN")
        key_id, secret = self.media_s3_access_key_id, self.media_s3_secret_access_key
        if (key_id is None) != (secret is None):
            given, missing = (
                ("MEDIA_S3_ACCESS_KEY_ID", "MEDIA_S3_SECRET_ACCESS_KEY")
                if secret is None
                else ("MEDIA_S3_SECRET_ACCESS_KEY", "MEDIA_S3_ACCESS_KEY_ID")
            )
            raise ValueError(f"{missing} must be set too when {given} is set")
        if self.media_s3_bucket is None:
            for name, value in (
                ("MEDIA_S3_ENDPOINT_URL", self.media_s3_endpoint_url),
                ("MEDIA_S3_REGION", self.media_s3_region),
                ("MEDIA_S3_ACCESS_KEY_ID", key_id),
            ):
                if value is not None:
                    raise ValueError(
                        f"{name} is set but MEDIA_S3_BUCKET is not: set the bucket "
                        f"to keep media in S3, or unset {name}"
                    )
        return self

    @property
    def evolution_configured(self) -> bool:
        return bool(self.evolution_api_base_url and self.evolution_api_key)

    def with_overrides(self, **changes: Any) -> Settings:
        unknown = changes.keys() - type(self).model_fields.keys()
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        return self.model_copy(update=changes)


def _variable(field_name: str) -> str:
    alias = Settings.model_fields[field_name].validation_alias
    return alias if isinstance(alias, str) else field_name.upper()


def _field(variable: str) -> str | None:
    for name, info in Settings.model_fields.items():
        if info.validation_alias == variable or name == variable:
            return name
    return None


def _bounds(variable: str) -> tuple[Any, Any]:
    name = _field(variable)
    metadata = Settings.model_fields[name].metadata if name else []
    low = next((m.ge for m in metadata if hasattr(m, "ge")), None)
    high = next((m.le for m in metadata if hasattr(m, "le")), None)
    return low, high


def _describe(error: ErrorDetails) -> str:
    """pydantic's error as the message an operator needs: the variable, what it must be."""
    loc = error["loc"]
    variable = _variable(_field(str(loc[0])) or str(loc[0])) if loc else "configuration"
    kind, value = error["type"], error.get("input")
    if kind == "value_error":
        return str(error.get("ctx", {}).get("error", error["msg"]))
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return f"{variable} must be a whole number, got {value!r}"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return f"{variable} must be a number, got {value!r}"
    if kind in ("greater_than_equal", "less_than_equal"):
        low, high = _bounds(variable)
        return f"{variable} must be between {low} and {high}, got {value}"
    if kind in ("bool_parsing", "bool_type"):
        return f"{variable} must be true or false, got {value!r}"
    return f"{variable}: {error['msg']}"


def parse_settings(env: Mapping[str, str]) -> Settings:
    """Settings from variables given as a mapping (name → text); raises SettingsError."""
    try:
        return Settings.model_validate(dict(env))
    except ValidationError as error:
        raise SettingsError("; ".join(_describe(e) for e in error.errors())) from None


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> Settings:
    """Settings from the process environment (or `environ`), with `.env` filling unset keys."""
    values: dict[str, Any] = {}
    if env_file is not None:
        values.update(DotEnvSettingsSource(Settings, env_file=env_file)())
    values.update(EnvSettingsSource(Settings)() if environ is None else environ)
    return parse_settings(values)
