"""The Compose file, the env example, the Dockerfile and .dockerignore, checked as files (Docker's
engine does not run here); ``docker compose config`` also runs where the Compose plugin exists."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ops.secrets import parse_env
from tests.deploy.conftest import DEPLOY
from tests.processes import ROOT

COMPOSE = DEPLOY / "docker-compose.prod.yml"
EXAMPLE = ROOT / ".env.production.example"
DOCKERFILE = DEPLOY / "Dockerfile"
# ${VAR}, ${VAR:-default}, ${VAR?err}; "$$" is Compose's escape for a literal "$".
_INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:[:?-][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


@pytest.fixture(scope="module")
def example() -> dict[str, str]:
    return parse_env(EXAMPLE.read_text())


def test_every_service_is_there(compose: dict[str, Any]) -> None:
    assert compose["name"] == "haven"
    assert set(compose["services"]) == {
        "caddy", "haven", "migrate", "maintenance", "postgres", "redis", "livekit",
    }  # fmt: skip


def published(service: dict[str, Any]) -> list[str]:
    return [str(p) for p in service.get("ports", [])]


def test_only_caddy_and_livekit_media_are_published(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert published(services["caddy"]) == ["80:80/tcp", "443:443/tcp", "443:443/udp"]
    assert published(services["livekit"]) == ["7881:7881/tcp", "7882:7882/udp"]
    for name in ("haven", "migrate", "postgres", "redis"):
        assert "ports" not in services[name], f"{name} must not publish a port"
    assert "8080" in services["haven"]["expose"]
    assert "7880" in services["livekit"]["expose"]


def test_health_checks_and_restart_policies(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("caddy", "haven", "postgres", "redis", "livekit"):
        assert services[name]["restart"] == "unless-stopped", name
        assert services[name]["healthcheck"]["test"], name
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["healthcheck"] == {"disable": True}
    assert "pg_isready -U haven -d haven" in services["postgres"]["healthcheck"]["test"][1]
    # Redis health check authenticates (REDISCLI_AUTH) against the requirepass server.
    redis = services["redis"]
    assert redis["environment"]["REDISCLI_AUTH"] == "${REDIS_PASSWORD}"
    assert '--requirepass "$$REDIS_PASSWORD"' in redis["command"][-1]
    assert "/health/ready" in " ".join(services["haven"]["healthcheck"]["test"])


def test_startup_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["haven"]["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"},
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert services["migrate"]["image"] == services["haven"]["image"] == "haven:latest"
    assert services["caddy"]["depends_on"] == {"haven": {"condition": "service_healthy"}}


def test_graceful_stop_outlasts_the_drain(compose: dict[str, Any]) -> None:
    from haven_site.shutdown import GRACE_SECONDS

    haven = compose["services"]["haven"]
    assert haven["stop_signal"] == "SIGTERM"
    grace = haven["stop_grace_period"]
    assert grace.endswith("s")
    assert int(grace[:-1]) > GRACE_SECONDS


def test_the_guides_backup_line_matches_the_postgres_service(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]
    assert postgres["image"].startswith("postgres:16")
    env = postgres["environment"]
    assert env["POSTGRES_USER"] == "haven"
    assert env["POSTGRES_DB"] == "haven"
    assert postgres["volumes"] == ["postgres_data:/var/lib/postgresql/data"]


def test_named_volumes(compose: dict[str, Any]) -> None:
    assert set(compose["volumes"]) == {
        "caddy_data",
        "caddy_config",
        "haven_data",
        "postgres_data",
        "redis_data",
    }
    services = compose["services"]
    assert "caddy_data:/data" in services["caddy"]["volumes"]
    assert "caddy_config:/config" in services["caddy"]["volumes"]
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in services["caddy"]["volumes"]
    assert "haven_data:/data" in services["haven"]["volumes"]
    assert services["haven"]["environment"]["STORAGE_DIR"] == "/data/attachments"
    assert "./livekit.yaml:/etc/livekit.yaml:ro" in services["livekit"]["volumes"]
    assert (DEPLOY / "livekit.yaml").is_file()
    assert (DEPLOY / "Caddyfile").is_file()


def test_trusted_proxies_is_the_networks_fixed_subnet(compose: dict[str, Any]) -> None:
    subnet = compose["networks"]["haven"]["ipam"]["config"][0]["subnet"]
    assert subnet == "${HAVEN_SUBNET}"
    assert compose["services"]["haven"]["environment"]["TRUSTED_PROXIES"] == "${HAVEN_SUBNET}"
    for name, service in compose["services"].items():
        assert service["networks"] == ["haven"], name


def test_livekit_gets_its_keys_and_a_pinned_image(compose: dict[str, Any]) -> None:
    livekit = compose["services"]["livekit"]
    assert re.fullmatch(r"livekit/livekit-server:v\d+\.\d+\.\d+", livekit["image"])
    assert livekit["environment"]["LIVEKIT_KEYS"] == "${LIVEKIT_API_KEY}: ${LIVEKIT_API_SECRET}"


def strings(node: Any) -> list[str]:
    """Every key and value of the parsed file: what Compose interpolates (not the comments)."""
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (*strings(k), *strings(v))]
    if isinstance(node, list):
        return [s for item in node for s in strings(item)]
    return [node] if isinstance(node, str) else []


def test_every_interpolated_variable_is_in_the_example(
    compose: dict[str, Any], example: dict[str, str]
) -> None:
    values = strings(compose)
    used = {name for value in values for name in _INTERPOLATION.findall(value)}
    assert {"HAVEN_DOMAIN", "POSTGRES_PASSWORD", "HAVEN_SUBNET"} <= used
    missing = sorted(used - set(example))
    assert not missing, f"not defined in .env.production.example: {missing}"
    for value in values:
        assert not re.search(r"(?<!\$)\$[A-Za-z_]", value), f"use ${{VAR}} or $$VAR: {value}"


def test_backend_settings_the_example_offers_reach_the_container(
    compose: dict[str, Any], example: dict[str, str]
) -> None:
    env = compose["services"]["haven"]["environment"]
    compose_only = {"ACME_EMAIL", "POSTGRES_PASSWORD", "REDIS_PASSWORD", "HAVEN_SUBNET"}
    for name in set(example) - compose_only:
        assert name in env, f"{name} is in the example but not passed to haven"


def test_example_documents_every_variable() -> None:
    lines = EXAMPLE.read_text().splitlines()
    for index, line in enumerate(lines):
        if re.match(r"^[A-Z][A-Z0-9_]*=", line):
            # Each assignment follows a comment (possibly after another assignment of its group).
            previous = [lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()][:2]
            assert any(p.startswith("#") for p in previous), f"no comment above {line}"


def test_example_secrets_are_placeholders_the_config_refuses(example: dict[str, str]) -> None:
    for name in (
        "POSTGRES_PASSWORD",
        "REDIS_PASSWORD",
        "JWT_SECRET",
        "STORAGE_ENCRYPTION_KEY",
        "LIVEKIT_API_KEY",
        "LIVEKIT_API_SECRET",
        "HAVEN_DOMAIN",
    ):
        assert "change-me" in example[name], name
    assert example["REGISTRATION_INVITE_ONLY"] == "true"
    text = EXAMPLE.read_text()
    for command in ("openssl rand -hex 24", "openssl rand -hex 32", "openssl rand -hex 12"):
        assert command in text
    assert "openssl rand -base64 32" in text


def test_dockerfile() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.1[12]-slim-bookworm$", text, re.M)
    # Dependencies (the lock, tests/deploy/test_lock.py) before the source, so that a code change
    # reuses the dependency layer.
    assert text.index("COPY requirements/") < text.index("pip install") < text.index("COPY . .")
    assert "collectstatic --noinput" in text
    assert re.search(r"^USER haven$", text, re.M)
    healthcheck = text[text.index("HEALTHCHECK") :].split("\n\n")[0]
    assert "urllib.request" in healthcheck
    assert "curl" not in healthcheck
    assert re.search(r"^STOPSIGNAL SIGTERM$", text, re.M)
    assert 'CMD ["python", "-m", "haven_site.serve", "-b", "0.0.0.0", "-p", "8080"]' in text
    assert "--proxy-headers" not in text  # client addresses come from TRUSTED_PROXIES
    assert "postgresql-client-16" in text  # pg_dump of the server's major version, for backup


def test_dockerignore_keeps_secrets_out_but_the_example_in() -> None:
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ".env" in ignored
    assert ".env.production" in ignored
    assert ".venv" in ignored
    assert not any(line.startswith(".env.production.example") for line in ignored)


def compose_command() -> list[str] | None:
    """Docker Compose v2 (the plugin the guide uses), else Debian's docker-compose v1."""
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, check=False, timeout=30
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy is not None else None


def test_docker_compose_config(tmp_path: Path) -> None:
    """Compose itself parses the file, checks it against its schema and interpolates every
    variable from the example env file. Docker Compose v1 (Debian's package, all this machine
    has) predates the top-level ``name`` key, so it checks the file without that one line."""
    command = compose_command()
    if command is None:
        pytest.skip("neither the Docker Compose plugin nor docker-compose is installed")
    compose_file = COMPOSE
    if command[-1] != "compose":
        compose_file = tmp_path / "docker-compose.v1-check.yml"
        lines = COMPOSE.read_text().splitlines(keepends=True)
        compose_file.write_text("".join(line for line in lines if not line.startswith("name:")))
    env_file = tmp_path / ".env.production"
    env_file.write_text(EXAMPLE.read_text())
    result = subprocess.run(
        [*command, "-f", str(compose_file), "--project-directory", str(COMPOSE.parent),
         "--env-file", str(env_file), "config", "--quiet"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "not set" not in result.stderr, result.stderr
