"""Start-up configuration (operations.md 1): defaults, validation, secret derivation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from haven_site.config import ConfigError, load_config

GOOD_JWT = "0123456789abcdef" * 4
GOOD_KEY = "ab" * 32
HAVEN_VARS = [
    "HAVEN_DOMAIN", "JWT_SECRET", "STORAGE_ENCRYPTION_KEY", "DATABASE_URL", "REDIS_URL",
    "CORS_ORIGINS", "DJANGO_SECRET_KEY", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "POW_DIFFICULTY",
    "REGISTRATION_INVITE_ONLY", "MAX_WS_CONNECTIONS_PER_USER", "WS_RATE_LIMIT_SEND",
    "WS_RATE_LIMIT_TYPING", "WS_RATE_LIMIT_PIN", "WS_RATE_LIMIT_REACTION", "WS_RATE_LIMIT_EDIT",
    "WS_RATE_LIMIT_DELETE", "ADMIN_URL",
    "LIVEKIT_TOKEN_TTL_SECS",
]  # fmt: skip


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in HAVEN_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HAVEN_VAR_DIR", str(tmp_path / "var"))
    return monkeypatch


def test_embedded_default_generates_secrets_once(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    first = load_config()
    second = load_config()
    assert not first.production
    assert first.database_url == ""
    assert first.redis_url == ""
    assert first.jwt_secret == second.jwt_secret
    assert len(first.storage_encryption_key) == 32
    stored = tmp_path / "var" / "secrets.json"
    assert oct(stored.stat().st_mode & 0o777) == "0o600"
    assert json.loads(stored.read_text())["JWT_SECRET"] == first.jwt_secret
    assert first.pow_difficulty == 0


def test_production_requires_real_secrets(env: pytest.MonkeyPatch) -> None:
    env.setenv("HAVEN_DOMAIN", "chat.example.org")
    env.setenv("JWT_SECRET", "change-me-please-change-me-please-123")
    env.setenv("STORAGE_ENCRYPTION_KEY", "abc")
    env.setenv("LIVEKIT_API_SECRET", "change-me")
    with pytest.raises(ConfigError) as error:
        load_config()
    problems = error.value.problems
    assert "JWT_SECRET still holds the placeholder from the example file" in problems
    assert any("STORAGE_ENCRYPTION_KEY must be 64 hex characters" in p for p in problems)
    assert any(p.startswith("LIVEKIT_API_SECRET") for p in problems)
    assert len(problems) == 3


def test_production_missing_and_short_secrets(env: pytest.MonkeyPatch) -> None:
    env.setenv("HAVEN_DOMAIN", "chat.example.org")
    env.setenv("JWT_SECRET", "too-short")
    with pytest.raises(ConfigError) as error:
        load_config()
    assert error.value.problems == [
        "JWT_SECRET must be at least 32 bytes long",
        "STORAGE_ENCRYPTION_KEY must be set (generate it with: openssl rand -hex 32)",
    ]


def test_production_defaults(env: pytest.MonkeyPatch) -> None:
    env.setenv("HAVEN_DOMAIN", "chat.example.org")
    env.setenv("JWT_SECRET", GOOD_JWT)
    env.setenv("STORAGE_ENCRYPTION_KEY", GOOD_KEY)
    config = load_config()
    assert config.production
    assert config.pow_difficulty == 20
    assert config.cors_origins == ["https://chat.example.org"]
    assert config.log_format == "json"
    assert config.max_ws_connections_per_user == 5
    assert config.registration_invites_per_user == 3
    assert config.livekit_token_ttl_secs == 300


def test_django_secret_key_is_derived_and_stable(env: pytest.MonkeyPatch) -> None:
    env.setenv("JWT_SECRET", GOOD_JWT)
    env.setenv("STORAGE_ENCRYPTION_KEY", GOOD_KEY)
    first = load_config().django_secret_key
    assert first == load_config().django_secret_key
    assert GOOD_JWT not in first
    env.setenv("JWT_SECRET", GOOD_JWT[::-1])
    assert load_config().django_secret_key != first
    env.setenv("DJANGO_SECRET_KEY", "explicit-key")
    assert load_config().django_secret_key == "explicit-key"


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("REGISTRATION_INVITE_ONLY", "maybe", "REGISTRATION_INVITE_ONLY must be true or false"),
        ("MAX_WS_CONNECTIONS_PER_USER", "five", "MAX_WS_CONNECTIONS_PER_USER must be an integer"),
        ("MAX_WS_CONNECTIONS_PER_USER", "0", "MAX_WS_CONNECTIONS_PER_USER must be at least 1"),
        ("POW_DIFFICULTY", "-1", "POW_DIFFICULTY must be at least 0"),
        ("LIVEKIT_TOKEN_TTL_SECS", "9", "LIVEKIT_TOKEN_TTL_SECS must be at least 10"),
    ],
)
def test_malformed_values_are_reported(
    env: pytest.MonkeyPatch, name: str, value: str, problem: str
) -> None:
    env.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_config()
    assert error.value.problems[0].startswith(problem)


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "yes"])
def test_booleans(env: pytest.MonkeyPatch, value: str) -> None:
    env.setenv("REGISTRATION_INVITE_ONLY", value)
    assert load_config().registration_invite_only is True


def test_cors_wildcard_refused_in_production(env: pytest.MonkeyPatch) -> None:
    env.setenv("HAVEN_DOMAIN", "chat.example.org")
    env.setenv("JWT_SECRET", GOOD_JWT)
    env.setenv("STORAGE_ENCRYPTION_KEY", GOOD_KEY)
    env.setenv("CORS_ORIGINS", "*")
    with pytest.raises(ConfigError):
        load_config()


def test_startup_prints_one_line_per_problem(tmp_path: Path) -> None:
    environment = {
        **{k: v for k, v in os.environ.items() if k not in HAVEN_VARS},
        "HAVEN_DOMAIN": "chat.example.org",
        "HAVEN_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        env=environment,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert result.returncode == 2
    assert "Haven cannot start:" in result.stderr
    assert "  - JWT_SECRET must be set" in result.stderr
    assert "  - STORAGE_ENCRYPTION_KEY must be set" in result.stderr


def test_link_preview_loopback_is_test_only(env: pytest.MonkeyPatch) -> None:
    env.delenv("LINK_PREVIEW_ALLOW_LOOPBACK", raising=False)
    assert load_config().link_preview_allow_loopback is False
    env.setenv("LINK_PREVIEW_ALLOW_LOOPBACK", "true")
    assert load_config().link_preview_allow_loopback is True  # a test process
    env.setenv("HAVEN_DOMAIN", "chat.example.org")
    env.setenv("JWT_SECRET", GOOD_JWT)
    env.setenv("STORAGE_ENCRYPTION_KEY", GOOD_KEY)
    with pytest.raises(ConfigError) as error:
        load_config()
    assert error.value.problems == [
        "LINK_PREVIEW_ALLOW_LOOPBACK is for tests only and cannot be set in production"
    ]


def test_gateway_rate_limits(env: pytest.MonkeyPatch) -> None:
    assert load_config().ws_rate_limits == {
        "send": (30, 10), "typing": (20, 10), "pin": (10, 10), "reaction": (30, 10),
        "edit": (20, 10), "delete": (30, 10),
    }  # fmt: skip
    env.setenv("WS_RATE_LIMIT_PIN", "5/60")
    env.setenv("WS_RATE_LIMIT_TYPING", " 100 / 1 ")
    limits = load_config().ws_rate_limits
    assert (limits["pin"], limits["typing"], limits["send"]) == ((5, 60), (100, 1), (30, 10))


@pytest.mark.parametrize("value", ["5", "0/10", "5/0", "a/b", "5/10/2", "-1/10", "5 per 10"])
def test_malformed_gateway_rate_limits_stop_start_up(env: pytest.MonkeyPatch, value: str) -> None:
    env.setenv("WS_RATE_LIMIT_REACTION", value)
    env.setenv("WS_RATE_LIMIT_EDIT", "x")
    with pytest.raises(ConfigError) as error:
        load_config()
    assert error.value.problems == [
        "WS_RATE_LIMIT_REACTION must be count/seconds with both at least 1, e.g. 30/10 "
        f"(got {value!r})",
        "WS_RATE_LIMIT_EDIT must be count/seconds with both at least 1, e.g. 30/10 (got 'x')",
    ]


def test_admin_url(env: pytest.MonkeyPatch) -> None:
    """docs/configuration.md: /admin/ on the embedded default; in production a path derived
    from the secrets unless ADMIN_URL names one."""
    assert load_config().admin_url == "admin/"
    env.setenv("HAVEN_DOMAIN", "chat.example.org")
    env.setenv("JWT_SECRET", GOOD_JWT)
    env.setenv("STORAGE_ENCRYPTION_KEY", GOOD_KEY)
    derived = load_config().admin_url
    assert derived != "admin/"
    assert len(derived) == len("admin-") + 16 + 1
    assert derived.startswith("admin-")
    assert derived.endswith("/")
    assert load_config().admin_url == derived  # stable across restarts
    env.setenv("JWT_SECRET", GOOD_JWT[::-1])
    assert load_config().admin_url != derived  # not guessable from another instance's
    env.setenv("ADMIN_URL", "/staff/desk/")
    assert load_config().admin_url == "staff/desk/"
    for bad in ("a b", "../x", "api/admin", "static", "x" * 101, "desk?x=1"):
        env.setenv("ADMIN_URL", bad)
        with pytest.raises(ConfigError) as refused:
            load_config()
        assert any(p.startswith("ADMIN_URL") for p in refused.value.problems), bad
