"""``manage.py generate_secrets``: a complete .env.production the production config accepts."""

from __future__ import annotations

import base64
import os
import re
import stat
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from haven_site.config import ConfigError, load_config
from ops.secrets import EXAMPLE, parse_env


def generate(path: Path, *args: str) -> dict[str, str]:
    call_command("generate_secrets", "--output", str(path), *args)
    return parse_env(path.read_text())


def test_writes_every_variable_with_fresh_secrets_mode_0600(tmp_path: Path) -> None:
    target = tmp_path / ".env.production"
    values = generate(target, "--domain", "chat.example.org", "--email", "ops@example.org")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert set(values) == set(parse_env(EXAMPLE.read_text()))
    assert values["HAVEN_DOMAIN"] == "chat.example.org"
    assert values["ACME_EMAIL"] == "ops@example.org"
    assert re.fullmatch(r"[0-9a-f]{48}", values["POSTGRES_PASSWORD"])
    assert re.fullmatch(r"[0-9a-f]{48}", values["REDIS_PASSWORD"])
    assert re.fullmatch(r"[0-9a-f]{64}", values["JWT_SECRET"])
    assert re.fullmatch(r"[0-9a-f]{64}", values["STORAGE_ENCRYPTION_KEY"])
    assert re.fullmatch(r"[0-9a-f]{24}", values["LIVEKIT_API_KEY"])
    assert len(base64.b64decode(values["LIVEKIT_API_SECRET"], validate=True)) == 32
    assert values["POSTGRES_PASSWORD"] != values["REDIS_PASSWORD"]
    assert values["REGISTRATION_INVITE_ONLY"] == "true"
    assert "change-me" not in "".join(values.values())
    # Comments of the example are kept: the operator still sees what each value means.
    assert "openssl rand -hex 32" in target.read_text()


def test_two_runs_give_different_secrets(tmp_path: Path) -> None:
    first = generate(tmp_path / "a")
    second = generate(tmp_path / "b")
    assert first["JWT_SECRET"] != second["JWT_SECRET"]
    assert first["STORAGE_ENCRYPTION_KEY"] != second["STORAGE_ENCRYPTION_KEY"]


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / ".env.production"
    target.write_text("JWT_SECRET=precious\n")
    target.chmod(0o644)
    with pytest.raises(CommandError, match="already exists"):
        call_command("generate_secrets", "--output", str(target))
    assert target.read_text() == "JWT_SECRET=precious\n"
    generate(target, "--force")
    assert "precious" not in target.read_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--domain", "https://chat.example.org"], "not a host name"),
        (["--domain", "chat.example.org:443"], "not a host name"),
        (["--email", "nobody"], "not an email address"),
    ],
)
def test_rejects_bad_domain_and_email(tmp_path: Path, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("generate_secrets", "--output", str(tmp_path / "x"), *args)
    assert not (tmp_path / "x").exists()


def compose_environment(values: dict[str, str]) -> dict[str, str]:
    """What docker-compose.prod.yml gives the haven container, from the env file's values."""
    return {
        **values,
        "DATABASE_URL": f"postgres://haven:{values['POSTGRES_PASSWORD']}@postgres:5432/haven",
        "REDIS_URL": f"redis://:{values['REDIS_PASSWORD']}@redis:6379/0",
        "CORS_ORIGINS": f"https://{values['HAVEN_DOMAIN']}",
        "TRUSTED_PROXIES": values["HAVEN_SUBNET"],
    }


def load_with(monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]) -> object:
    for name in list(os.environ):
        if name in environment or name in ("DJANGO_SECRET_KEY", "HAVEN_DEBUG"):
            monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return load_config()


def test_the_production_config_accepts_the_generated_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = generate(tmp_path / "env", "--domain", "chat.example.org", "--email", "a@b.org")
    config = load_with(monkeypatch, compose_environment(values))
    assert config.production  # type: ignore[attr-defined]
    assert config.registration_invite_only  # type: ignore[attr-defined]


def test_the_production_config_refuses_the_unedited_example(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values = parse_env(EXAMPLE.read_text())
    with pytest.raises(ConfigError) as refused:
        load_with(monkeypatch, compose_environment(values))
    problems = "\n".join(refused.value.problems)
    for name in (
        "JWT_SECRET",
        "STORAGE_ENCRYPTION_KEY",
        "LIVEKIT_API_KEY",
        "LIVEKIT_API_SECRET",
        "HAVEN_DOMAIN",
        "DATABASE_URL",
        "REDIS_URL",
    ):
        assert name in problems, name
