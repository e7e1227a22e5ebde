from __future__ import annotations

from pathlib import Path

import pytest

from services.platform.settings import SettingsError, load_settings, parse_settings


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


def test_env_file_fills_unset_variables_only(tmp_path: Path):
    env_file = tmp_path / ".env"
    env_file.write_text("# comment\nPORT=9001\nHOST='0.0.0.0'\nexport LOG_LEVEL=debug\n")
    settings = load_settings({"PORT": "9002"}, env_file)
    assert (settings.port, settings.host, settings.log_level) == (9002, "0.0.0.0", "DEBUG")


def test_secrets_are_not_in_the_repr():
    settings = parse_settings({"EVOLUTION_API_KEY": "evo-key-123456789",
                               "SUPABASE_JWT_SECRET": "s" * 40})
    assert "evo-key-123456789" not in repr(settings)
    assert "s" * 40 not in repr(settings)


def test_the_supabase_project_url_gives_the_key_endpoint_and_the_issuer():
    from services.identity.auth import issuer_of, jwks_url_of

    settings = parse_settings({"NEXT_PUBLIC_SUPABASE_URL": "https://xyz.supabase.co/"})
    assert issuer_of(settings.supabase_url) == "https://xyz.supabase.co/auth/v1"
    assert jwks_url_of(settings.supabase_url) == (
        "https://xyz.supabase.co/auth/v1/.well-known/jwks.json")
    override = parse_settings({"SUPABASE_JWKS_URL": "https://keys.example.com/jwks.json"})
    assert override.supabase_jwks_url == "https://keys.example.com/jwks.json"
