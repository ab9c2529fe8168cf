"""Haven's configuration: read from the environment once, validated at start-up.

Variable names and defaults are the spec's (operations.md section 1). With no
configuration at all the server runs on the "embedded default": SQLite and an in-memory channel
layer under ``var/``, with local secrets generated once. Setting ``HAVEN_DOMAIN`` marks a
production instance, where missing or weak secrets stop start-up with one line per problem.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
# Per-user limits of gateway operations, (count, seconds) in a fixed window, each overridable as
# WS_RATE_LIMIT_<OP>="count/seconds". "send" is the spec's SendMessage limit (websocket.md 8);
# the others are the generous limits websocket.md 8 allows (docs/realtime.md).
WS_RATE_LIMIT_DEFAULTS: dict[str, tuple[int, int]] = {
    "send": (30, 10),
    "typing": (20, 10),
    "pin": (10, 10),
    "reaction": (30, 10),
    "edit": (20, 10),
    "delete": (30, 10),
}
_PLACEHOLDER = re.compile(r"change[-_]?me|replace[-_]?me|your[-_]|example", re.IGNORECASE)


class ConfigError(Exception):
    """Raised with every configuration problem found, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Haven cannot start:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass
class _Reader:
    """Typed access to the environment that collects problems instead of failing on the first."""

    problems: list[str] = field(default_factory=list)

    def raw(self, name: str) -> str | None:
        return os.environ.get(name)

    def text(self, name: str, default: str = "") -> str:
        value = self.raw(name)
        return default if value is None else value.strip()

    def flag(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None or value.strip() == "":
            return default
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        self.problems.append(f"{name} must be true or false (got {value!r})")
        return default

    def number(self, name: str, default: int, *, minimum: int | None = None) -> int:
        value = self.raw(name)
        if value is None or value.strip() == "":
            return default
        try:
            number = int(value.strip())
        except ValueError:
            self.problems.append(f"{name} must be an integer (got {value!r})")
            return default
        if minimum is not None and number < minimum:
            self.problems.append(f"{name} must be at least {minimum} (got {number})")
            return default
        return number

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.text(name).lower()
        if not value:
            return default
        if value not in choices:
            self.problems.append(f"{name} must be one of {', '.join(choices)} (got {value!r})")
            return default
        return value

    def rate(self, name: str, default: tuple[int, int]) -> tuple[int, int]:
        """A fixed-window limit written ``count/seconds`` (``30/10``), both at least 1."""
        value = self.text(name)
        if not value:
            return default
        match = re.fullmatch(r"(\d+)\s*/\s*(\d+)", value)
        if match is None or int(match[1]) < 1 or int(match[2]) < 1:
            self.problems.append(
                f"{name} must be count/seconds with both at least 1, e.g. 30/10 (got {value!r})"
            )
            return default
        return int(match[1]), int(match[2])

    def items(self, name: str, default: list[str]) -> list[str]:
        value = self.raw(name)
        if value is None:
            return default
        return [item.strip() for item in value.split(",") if item.strip()]


@dataclass(frozen=True)
class HavenConfig:
    production: bool
    debug: bool
    domain: str
    var_dir: Path
    database_url: str
    db_max_connections: int
    db_pool_timeout_secs: int
    redis_url: str
    redis_max_connections: int
    redis_pool_timeout_secs: int
    workers: int
    channel_layer: str
    jwt_secret: str
    jwt_expiry_hours: int
    refresh_token_expiry_days: int
    storage_encryption_key: bytes
    storage_dir: Path
    django_secret_key: str
    cors_origins: list[str]
    trusted_proxies: list[str]
    max_requests_per_minute: int
    rate_limits_enabled: bool
    max_ws_connections_per_user: int
    max_upload_size_bytes: int
    pow_difficulty: int
    registration_invite_only: bool
    registration_invites_per_user: int
    registration_invite_expiry_days: int
    turnstile_site_key: str
    turnstile_secret_key: str
    turnstile_verify_url: str
    livekit_url: str
    livekit_client_url: str
    livekit_api_key: str
    livekit_api_secret: str
    livekit_token_ttl_secs: int
    giphy_api_key: str
    giphy_api_url: str
    link_preview_allow_loopback: bool  # test-only: previews of 127.0.0.0/8 and ::1
    audit_log_retention_days: int
    resolved_report_retention_days: int
    expired_invite_cleanup: bool
    ws_heartbeat_timeout_secs: int
    ws_session_ttl_secs: int
    ws_replay_max_events: int
    ws_rate_limits: dict[str, tuple[int, int]]  # gateway operation -> (count, seconds)
    log_format: str
    log_client_ips: bool
    metrics_port: int
    metrics_bind: str
    admin_url: str  # the Django admin's path prefix, e.g. "admin/" (no leading slash)

    @property
    def voice_enabled(self) -> bool:
        return bool(self.livekit_url and self.livekit_api_key and self.livekit_api_secret)

    @property
    def turnstile_enabled(self) -> bool:
        return bool(self.turnstile_site_key and self.turnstile_secret_key)


def _local_secrets(var_dir: Path) -> dict[str, str]:
    """Secrets for the embedded default, generated on first start and kept under var/."""
    path = var_dir / "secrets.json"
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    var_dir.mkdir(parents=True, exist_ok=True)
    generated = {
        "JWT_SECRET": secrets.token_hex(32),
        "STORAGE_ENCRYPTION_KEY": secrets.token_hex(32),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(generated, handle)
    return generated


def _check_secret(name: str, value: str, problems: list[str], *, min_bytes: int) -> None:
    if not value:
        problems.append(f"{name} must be set (generate it with: openssl rand -hex 32)")
    elif _PLACEHOLDER.search(value):
        problems.append(f"{name} still holds the placeholder from the example file")
    elif len(value.encode()) < min_bytes:
        problems.append(f"{name} must be at least {min_bytes} bytes long")


def _parse_storage_key(value: str, problems: list[str]) -> bytes:
    if not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        if value and not _PLACEHOLDER.search(value):
            problems.append(
                "STORAGE_ENCRYPTION_KEY must be 64 hex characters (openssl rand -hex 32)"
            )
        return b""
    return bytes.fromhex(value)


def load_config() -> HavenConfig:
    if (BASE_DIR / ".env").exists():
        environ.Env.read_env(BASE_DIR / ".env")  # never overrides the real environment
    reader = _Reader()
    problems = reader.problems

    domain = reader.text("HAVEN_DOMAIN")
    production = bool(domain)
    var_dir = Path(reader.text("HAVEN_VAR_DIR", str(BASE_DIR / "var")))

    jwt_secret = reader.text("JWT_SECRET")
    storage_key_text = reader.text("STORAGE_ENCRYPTION_KEY")
    if production:
        _check_secret("JWT_SECRET", jwt_secret, problems, min_bytes=32)
        if not storage_key_text:
            problems.append(
                "STORAGE_ENCRYPTION_KEY must be set (generate it with: openssl rand -hex 32)"
            )
        elif _PLACEHOLDER.search(storage_key_text):
            problems.append(
                "STORAGE_ENCRYPTION_KEY still holds the placeholder from the example file"
            )
        for name in ("LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "DJANGO_SECRET_KEY"):
            if _PLACEHOLDER.search(reader.text(name)):
                problems.append(f"{name} still holds the placeholder from the example file")
        if "change-me" in domain.lower():
            problems.append("HAVEN_DOMAIN still holds the placeholder from the example file")
        for name in ("DATABASE_URL", "REDIS_URL"):
            password = urlsplit(reader.text(name)).password or ""
            if _PLACEHOLDER.search(password):
                problems.append(
                    f"{name} still holds the placeholder password from the example file"
                )
    elif not jwt_secret or not storage_key_text:
        local = _local_secrets(var_dir)
        jwt_secret = jwt_secret or local["JWT_SECRET"]
        storage_key_text = storage_key_text or local["STORAGE_ENCRYPTION_KEY"]
    storage_key = _parse_storage_key(storage_key_text, problems)

    explicit_secret_key = reader.text("DJANGO_SECRET_KEY")
    django_secret_key = explicit_secret_key or _derive_django_secret(jwt_secret, storage_key)

    redis_url = reader.text("REDIS_URL")
    if redis_url:
        from haven_site.redisconn import parse_redis_url

        try:
            parse_redis_url(redis_url)
        except ValueError as error:
            problems.append(f"REDIS_URL {error}")

    default_cors = [f"https://{domain}"] if domain else ["http://localhost:5173"]
    cors_origins = reader.items("CORS_ORIGINS", default_cors)
    if production and reader.flag("LINK_PREVIEW_ALLOW_LOOPBACK", False):
        problems.append(
            "LINK_PREVIEW_ALLOW_LOOPBACK is for tests only and cannot be set in production"
        )
    if production and "*" in cors_origins:
        problems.append("CORS_ORIGINS must not be * in production; list your origins instead")

    config = HavenConfig(
        production=production,
        debug=reader.flag("HAVEN_DEBUG", False),
        domain=domain,
        var_dir=var_dir,
        database_url=reader.text("DATABASE_URL"),
        db_max_connections=reader.number("DB_MAX_CONNECTIONS", 50, minimum=1),
        db_pool_timeout_secs=reader.number("DB_POOL_TIMEOUT_SECS", 30, minimum=1),
        redis_url=redis_url,
        redis_max_connections=reader.number("REDIS_MAX_CONNECTIONS", 50, minimum=1),
        redis_pool_timeout_secs=reader.number("REDIS_POOL_TIMEOUT_SECS", 30, minimum=1),
        workers=_workers(reader, redis_url),
        channel_layer=reader.choice("HAVEN_CHANNEL_LAYER", ("pubsub", "core"), "pubsub"),
        jwt_secret=jwt_secret,
        jwt_expiry_hours=reader.number("JWT_EXPIRY_HOURS", 24, minimum=1),
        refresh_token_expiry_days=reader.number("REFRESH_TOKEN_EXPIRY_DAYS", 30, minimum=1),
        storage_encryption_key=storage_key,
        storage_dir=Path(reader.text("STORAGE_DIR", str(var_dir / "media"))),
        django_secret_key=django_secret_key,
        cors_origins=cors_origins,
        trusted_proxies=reader.items("TRUSTED_PROXIES", ["127.0.0.1", "::1"]),
        max_requests_per_minute=reader.number("MAX_REQUESTS_PER_MINUTE", 300, minimum=1),
        rate_limits_enabled=reader.flag("RATE_LIMITS_ENABLED", True),
        max_ws_connections_per_user=reader.number("MAX_WS_CONNECTIONS_PER_USER", 5, minimum=1),
        max_upload_size_bytes=reader.number("MAX_UPLOAD_SIZE_BYTES", 524_288_000, minimum=1),
        pow_difficulty=reader.number("POW_DIFFICULTY", 20 if production else 0, minimum=0),
        registration_invite_only=reader.flag("REGISTRATION_INVITE_ONLY", False),
        registration_invites_per_user=reader.number("REGISTRATION_INVITES_PER_USER", 3, minimum=0),
        registration_invite_expiry_days=reader.number(
            "REGISTRATION_INVITE_EXPIRY_DAYS", 0, minimum=0
        ),
        turnstile_site_key=reader.text("TURNSTILE_SITE_KEY"),
        turnstile_secret_key=reader.text("TURNSTILE_SECRET_KEY"),
        turnstile_verify_url=reader.text(
            "TURNSTILE_VERIFY_URL",
            "https://challenges.cloudflare.com/turnstile/v0/siteverify",
        ),
        livekit_url=reader.text("LIVEKIT_URL"),
        livekit_client_url=reader.text("LIVEKIT_CLIENT_URL") or reader.text("LIVEKIT_URL"),
        livekit_api_key=reader.text("LIVEKIT_API_KEY"),
        livekit_api_secret=reader.text("LIVEKIT_API_SECRET"),
        livekit_token_ttl_secs=reader.number("LIVEKIT_TOKEN_TTL_SECS", 300, minimum=10),
        giphy_api_key=reader.text("GIPHY_API_KEY"),
        giphy_api_url=reader.text("GIPHY_API_URL", "https://api.giphy.com/v1/gifs"),
        link_preview_allow_loopback=reader.flag("LINK_PREVIEW_ALLOW_LOOPBACK", False),
        audit_log_retention_days=reader.number("AUDIT_LOG_RETENTION_DAYS", 90, minimum=0),
        resolved_report_retention_days=reader.number(
            "RESOLVED_REPORT_RETENTION_DAYS", 180, minimum=0
        ),
        expired_invite_cleanup=reader.flag("EXPIRED_INVITE_CLEANUP", True),
        ws_heartbeat_timeout_secs=reader.number("WS_HEARTBEAT_TIMEOUT_SECS", 90, minimum=3),
        ws_session_ttl_secs=reader.number("WS_SESSION_TTL_SECS", 300, minimum=1),
        ws_replay_max_events=reader.number("WS_REPLAY_MAX_EVENTS", 1000, minimum=1),
        ws_rate_limits={
            op: reader.rate(f"WS_RATE_LIMIT_{op.upper()}", default)
            for op, default in WS_RATE_LIMIT_DEFAULTS.items()
        },
        log_format=reader.text("LOG_FORMAT", "json" if production else "text"),
        log_client_ips=reader.flag("LOG_CLIENT_IPS", False),
        metrics_port=reader.number("METRICS_PORT", 0, minimum=0),
        metrics_bind=reader.text("METRICS_BIND", "127.0.0.1"),
        admin_url=_admin_url(
            reader.text("ADMIN_URL"), production, jwt_secret.encode() + storage_key, problems
        ),
    )
    if problems:
        raise ConfigError(problems)
    return config


def _workers(reader: _Reader, redis_url: str) -> int:
    """``HAVEN_WORKERS``: server processes per instance (haven_site.serve), by default one per
    CPU. Several processes need Redis (their channel layer, replay store and limits are shared
    there); the embedded default runs one."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    default = (cpus or 1) if redis_url else 1
    workers = reader.number("HAVEN_WORKERS", default, minimum=1)
    if workers > 1 and not redis_url:
        reader.problems.append("HAVEN_WORKERS above 1 needs REDIS_URL (processes share Redis)")
        return 1
    return workers


# Top-level paths the application serves itself; the admin cannot live under them.
_RESERVED_PATHS = ("api", "static", "health", "media")
_ADMIN_PATH = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]*(/[A-Za-z0-9._~-]+)*")


def _admin_url(value: str, production: bool, secret: bytes, problems: list[str]) -> str:
    """ADMIN_URL as a path prefix with one trailing slash. Unset: ``admin/`` on the embedded
    default; in production a path derived from the secrets (stable, not guessable), so that
    the admin is not where every scanner looks (``manage.py admin_url`` prints it)."""
    path = value.strip().strip("/")
    if not path:
        if not production:
            return "admin/"
        from haven_site.keys import hkdf

        return f"admin-{hkdf(secret, b'haven/admin-url/v1', 8).hex()}/"
    if len(path) > 100 or not _ADMIN_PATH.fullmatch(path):
        problems.append(
            "ADMIN_URL must be a path of letters, digits, '.', '_', '~', '-' and '/', "
            f"at most 100 characters (got {value!r})"
        )
        return "admin/"
    if path.split("/", 1)[0].lower() in _RESERVED_PATHS:
        problems.append(f"ADMIN_URL cannot start with {path.split('/', 1)[0]!r} (Haven uses it)")
        return "admin/"
    return f"{path}/"


def _derive_django_secret(jwt_secret: str, storage_key: bytes) -> str:
    from haven_site.keys import hkdf

    return hkdf(jwt_secret.encode() + storage_key, b"haven/django-secret-key/v1", 48).hex()
