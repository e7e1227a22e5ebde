from __future__ import annotations

from pathlib import Path

import pytest

from services.platform.settings import Settings, SettingsError, load_settings, parse_settings


def test_defaults_need_no_configuration():
    settings = parse_settings({})
    assert settings.database_url is None
    assert settings.port == 8000 and settings.host == "127.0.0.1"
    assert settings.business_timezone == "America/Sao_Paulo"
    assert settings.broadcast_url == "memory://"
    assert not settings.evolution_configured


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "eighty"),
        ("PORT", "70000"),
        ("DATABASE_URL", "mysql://localhost/db"),
        ("BROADCAST_URL", "kafka://x"),
        ("EVOLUTION_API_BASE_URL", "evo.example.com"),
        ("NEXT_PUBLIC_APP_URL", "ftp://x"),
        ("LOG_LEVEL", "LOUD"),
        ("BUSINESS_TIMEZONE", "Mars/Olympus"),
        ("SUPABASE_JWT_SECRET", "short"),
        ("GRAPHIQL", "maybe"),
        ("CORS_ORIGINS", "app.example.com"),
        ("SUPABASE_JWKS_URL", "xyz.supabase.co/auth/v1/.well-known/jwks.json"),
        ("RECONCILE_INTERVAL_SECONDS", "soon"),
        ("INSTANCE_STUCK_SECONDS", "0"),
    ],
)
def test_a_wrong_value_is_refused_naming_the_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        parse_settings({name: value})


def test_supabase_style_postgres_url_is_accepted():
    settings = parse_settings({"DATABASE_URL": "postgres://u:p@db.example.co:6543/postgres"})
    assert settings.database_url == "postgresql://u:p@db.example.co:6543/postgres"


def test_env_file_fills_unset_variables_only(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("# comment\nPORT=9001\nHOST='0.0.0.0'\nexport LOG_LEVEL=debug\n")
    settings = load_settings({"PORT": "9002"}, env_file)
    assert (settings.port, settings.host, settings.log_level) == (9002, "0.0.0.0", "DEBUG")


def test_secrets_are_not_in_the_repr():
    settings = parse_settings(
        {"EVOLUTION_API_KEY": "evo-key-123456789", "SUPABASE_JWT_SECRET": "s" * 40}
    )
    assert "evo-key-123456789" not in repr(settings)
    assert "s" * 40 not in repr(settings)


def test_the_supabase_project_url_gives_the_key_endpoint_and_the_issuer():
    from services.identity.auth import issuer_of, jwks_url_of

    settings = parse_settings({"NEXT_PUBLIC_SUPABASE_URL": "https://xyz.supabase.co/"})
    assert issuer_of(settings.supabase_url) == "https://xyz.supabase.co/auth/v1"
    assert jwks_url_of(settings.supabase_url) == (
        "https://xyz.supabase.co/auth/v1/.well-known/jwks.json"
    )
    override = parse_settings({"SUPABASE_JWKS_URL": "https://keys.example.com/jwks.json"})
    assert override.supabase_jwks_url == "https://keys.example.com/jwks.json"


def test_the_process_environment_wins_over_the_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text('PORT=9001\nHOST="0.0.0.0"\nGRAPHIQL=false  # hide it\nDB_POOL_MAX=30\n')
    monkeypatch.setenv("PORT", "9002")
    monkeypatch.setenv("DB_POOL_MAX", "")  # set but blank: unset, so neither .env nor 30
    monkeypatch.delenv("HOST", raising=False)
    monkeypatch.delenv("GRAPHIQL", raising=False)
    settings = load_settings(env_file=env_file)
    assert (settings.port, settings.host, settings.graphiql) == (9002, "0.0.0.0", False)
    assert settings.db_pool_max == 10


def test_a_missing_env_file_is_no_error(tmp_path: Path) -> None:
    assert load_settings({}, tmp_path / "absent.env").port == 8000


def test_built_by_keyword_the_settings_read_no_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PORT", "9003")
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("HOST=0.0.0.0\n")
    settings = Settings(data_dir=tmp_path)
    assert (settings.port, settings.host) == (8000, "127.0.0.1")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "7.0"}, "PORT must be a whole number, got '7.0'"),
        ({"PORT": "70000"}, "PORT must be between 0 and 65535, got 70000"),
        ({"GRAPHIQL": "y"}, "GRAPHIQL must be true or false, got 'y'"),
        ({"SEND_RATE_PER_MINUTE": "nan"}, "SEND_RATE_PER_MINUTE must be a number"),
        ({"DB_POOL_MIN": "5", "DB_POOL_MAX": "3"}, "DB_POOL_MAX must be greater than or equal"),
        ({"DB_STATEMENT_CACHE_SIZE": "-1"}, "DB_STATEMENT_CACHE_SIZE must be between 0 and"),
    ],
)
def test_the_message_says_what_the_variable_must_be(env, message):
    with pytest.raises(SettingsError) as raised:
        parse_settings(env)
    assert str(raised.value).startswith(message)


def test_every_wrong_variable_is_named_at_once():
    with pytest.raises(SettingsError) as raised:
        parse_settings({"PORT": "x", "LOG_FORMAT": "xml", "WEBHOOK_CONCURRENCY": "0"})
    for name in ("PORT", "LOG_FORMAT", "WEBHOOK_CONCURRENCY"):
        assert name in str(raised.value)


def test_a_refused_secret_is_not_repeated_in_the_error():
    with pytest.raises(SettingsError) as raised:
        parse_settings({"SUPABASE_JWT_SECRET": "hunter2-too-short"})
    assert "hunter2" not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_blank_values_are_unset_and_values_are_trimmed():
    settings = parse_settings({"PORT": "  ", "HOST": " 0.0.0.0 ", "DB_STATEMENT_CACHE_SIZE": ""})
    assert (settings.port, settings.host, settings.db_statement_cache_size) == (
        8000,
        "0.0.0.0",
        None,
    )
    assert parse_settings({"DB_STATEMENT_CACHE_SIZE": "0"}).db_statement_cache_size == 0


def test_overrides_name_existing_settings_only():
    settings = parse_settings({})
    assert settings.with_overrides(port=1).port == 1 and settings.port == 8000
    with pytest.raises(TypeError, match="prot"):
        settings.with_overrides(prot=1)
