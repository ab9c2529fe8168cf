"""Fresh secrets for ``.env.production``, in the formats of the deployment guide (openssl rand)."""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from haven_site.config import BASE_DIR

EXAMPLE = BASE_DIR / ".env.production.example"

# name -> (generator, the guide's command): the same formats the guide's openssl commands make.
GENERATED: dict[str, tuple[Callable[[], str], str]] = {
    "POSTGRES_PASSWORD": (lambda: secrets.token_hex(24), "openssl rand -hex 24"),
    "REDIS_PASSWORD": (lambda: secrets.token_hex(24), "openssl rand -hex 24"),
    "JWT_SECRET": (lambda: secrets.token_hex(32), "openssl rand -hex 32"),
    "STORAGE_ENCRYPTION_KEY": (lambda: secrets.token_hex(32), "openssl rand -hex 32"),
    "LIVEKIT_API_KEY": (lambda: secrets.token_hex(12), "openssl rand -hex 12"),
    "LIVEKIT_API_SECRET": (
        lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
        "openssl rand -base64 32",
    ),
}

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", re.I)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ASSIGNMENT = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$")


def valid_domain(domain: str) -> bool:
    return bool(_HOSTNAME.match(domain))


def valid_email(email: str) -> bool:
    return bool(_EMAIL.match(email))


def render_env(template: str, values: dict[str, str]) -> str:
    """The template with the given variables' values replaced; comments and order kept."""
    lines = []
    seen = set()
    for line in template.splitlines():
        match = _ASSIGNMENT.match(line)
        if match and match.group(1) in values:
            name = match.group(1)
            line = f"{name}={values[name]}"
            seen.add(name)
        lines.append(line)
    missing = sorted(set(values) - seen)
    if missing:
        raise ValueError(f"the template has no line for {', '.join(missing)}")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = f"# Written by 'manage.py generate_secrets' on {stamp}. Keep it private (mode 0600).\n"
    return header + "\n".join(lines) + "\n"


def fresh_values(domain: str | None, email: str | None) -> dict[str, str]:
    values = {name: generate() for name, (generate, _command) in GENERATED.items()}
    if domain:
        values["HAVEN_DOMAIN"] = domain
    if email:
        values["ACME_EMAIL"] = email
    return values


def parse_env(text: str) -> dict[str, str]:
    """The NAME=value lines of an env file (no quoting or expansion: the file uses none)."""
    values = {}
    for line in text.splitlines():
        match = _ASSIGNMENT.match(line.strip())
        if match:
            values[match.group(1)] = match.group(2)
    return values
