"""Django settings for Haven. Every value comes from haven_site.config (validated at start-up)."""

from __future__ import annotations

import sys
from datetime import timedelta

import environ

from haven_site.config import BASE_DIR, ConfigError, load_config

try:
    HAVEN = load_config()
except ConfigError as error:
    print(error, file=sys.stderr)  # noqa: T201 - the operator reads this before anything else
    raise SystemExit(2) from None

DEBUG = HAVEN.debug
SECRET_KEY = HAVEN.django_secret_key
TESTING = "pytest" in sys.modules

ALLOWED_HOSTS = [HAVEN.domain] if HAVEN.production else ["*"]
if HAVEN.production:
    ALLOWED_HOSTS += ["localhost", "127.0.0.1", "haven"]  # health checks inside the stack
    CSRF_TRUSTED_ORIGINS = [f"https://{HAVEN.domain}"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

INSTALLED_APPS = [
    "daphne",
    "ops.admin_config.HavenAdminConfig",  # django.contrib.admin with Haven's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",  # the OpenAPI description (manage.py spectacular; docs/api-schema.md)
    "channels",
    "django_prometheus",
    "accounts",
    "invites",
    "chat",
    "voice",
    "ops",
]

# django-prometheus: its "before" middleware must come first and its "after" middleware last, so
# that the latency it measures covers every other middleware and the view.
MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "haven_site.middleware.SecurityHeadersMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "haven_site.csrf.CsrfExceptApiMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "haven_site.middleware.BrowserMessageMiddleware",  # Django's, for pages only
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "haven_site.metrics.PrometheusAfterWithSeries",  # django-prometheus's "after" middleware
]

ROOT_URLCONF = "haven_site.urls"
ASGI_APPLICATION = "haven_site.asgi.application"
APPEND_SLASH = False  # the spec does not normalise trailing slashes

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: SQLite under var/ unless DATABASE_URL points elsewhere (PostgreSQL via psycopg 3).
if HAVEN.database_url:
    _database = environ.Env.db_url_config(HAVEN.database_url)
    if _database["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend, with psycopg's compiled timestamp parser (haven_site/postgresql).
        _database["ENGINE"] = "haven_site.postgresql"
        # A connection pool per process (psycopg_pool): under ASGI every request runs in a thread
        # of its own, so persistent connections (CONN_MAX_AGE) would not be reused, and opening
        # one per request costs more than the request itself (docs/performance.md).
        _database["CONN_MAX_AGE"] = 0
        _database.setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": HAVEN.db_max_connections,
            "timeout": HAVEN.db_pool_timeout_secs,  # a request waits this long for a connection
        }
        # The statements run on every send and history page bind their parameters on the server
        # (haven_site.postgresql.base.DatabaseWrapper.binding_cursor) and are prepared at their
        # first run on each connection; all others are bound by psycopg, which never prepares
        # them. Prepared statements need a direct connection or a pooler that keeps them
        # (PgBouncer 1.21+ with max_prepared_statements): docs/decisions.md.
        _database["OPTIONS"]["prepare_threshold"] = 0
else:
    HAVEN.var_dir.mkdir(parents=True, exist_ok=True)
    _database = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": HAVEN.var_dir / "haven.sqlite3",
    }
if _database["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the writer; IMMEDIATE takes the write lock up front so two
    # writers queue instead of failing with "database is locked" half-way through.
    _database["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits, PoW challenges, presence helpers) and channel layer.
# Every Redis user goes through haven_site.redisconn: direct or Sentinel URLs, bounded pools
# that wait for a free connection (REDIS_MAX_CONNECTIONS, REDIS_POOL_TIMEOUT_SECS).
if HAVEN.redis_url:
    from haven_site.redisconn import channel_layer_host

    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": [HAVEN.redis_url],  # a list: Django would split a Sentinel URL at commas
            "KEY_PREFIX": "haven",
            "OPTIONS": {"pool_class": "haven_site.redisconn.CachePool"},
        }
    }
    # The channel layer is the gateway's doorbell (docs/realtime.md): HAVEN_CHANNEL_LAYER=pubsub
    # (default; one Redis PUBLISH per group and event, fanned out inside each process) or core
    # (channels_redis' list-per-consumer layer). docs/performance.md compares the two.
    if HAVEN.channel_layer == "core":
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {
                    "hosts": [channel_layer_host(HAVEN.redis_url)],
                    "prefix": "haven:asgi",
                    "capacity": 500,
                },
            }
        }
    else:
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [channel_layer_host(HAVEN.redis_url)], "prefix": "haven:asgi"},
            }
        }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "haven",
        }
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []  # the spec's length rule lives in accounts
AUTHENTICATION_BACKENDS = ["accounts.backends.UsernameBackend"]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Hashed, pre-compressed assets once collectstatic has run (the Docker image, `make run`);
# before that (tests, a fresh checkout) the files are served straight from static/.
_COLLECTED = (STATIC_ROOT / "staticfiles.json").exists() and not TESTING
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if _COLLECTED
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not _COLLECTED
MEDIA_ROOT = HAVEN.storage_dir

# Request bodies: per-route limits are enforced before the body is read (haven_site.asgi_guards);
# Django's own limit is a backstop for everything else.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

CORS_ALLOWED_ORIGINS = [o for o in HAVEN.cors_origins if o != "*"]
CORS_ALLOW_ALL_ORIGINS = "*" in HAVEN.cors_origins
CORS_ALLOW_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
CORS_ALLOW_HEADERS = ["authorization", "content-type"]
CORS_URLS_REGEX = r"^/(api/|health).*$"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.BearerAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "haven_site.api.negotiation.JsonAlways",
    "EXCEPTION_HANDLER": "haven_site.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_SCHEMA_CLASS": "haven_site.api.openapi.AutoSchema",
}

# The OpenAPI description of /api/v1 (docs/api-schema.md; haven_site/api/openapi.py).
SPECTACULAR_SETTINGS = {
    "TITLE": "Haven API",
    "DESCRIPTION": "The REST API of Haven, an end-to-end-encrypted chat server. The WebSocket "
    "gateway (/api/v1/ws) is described in docs/realtime.md.",
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "string", "format": "uuid"}},
    "GET_MOCK_REQUEST": "haven_site.api.openapi.mock_request",
    "DEFAULT_GENERATOR_CLASS": "haven_site.api.openapi.Generator",
    "POSTPROCESSING_HOOKS": ["haven_site.api.openapi.add_shared_errors"],
    "SORT_OPERATIONS": False,
    "COMPONENT_SPLIT_PATCH": False,
}

SIMPLE_JWT = {
    "ALGORITHM": "HS256",
    "SIGNING_KEY": HAVEN.jwt_secret,
    "ACCESS_TOKEN_LIFETIME": timedelta(hours=HAVEN.jwt_expiry_hours),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=HAVEN.refresh_token_expiry_days),
    "LEEWAY": 60,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "JTI_CLAIM": "jti",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
}

# Argon2id parameters of operations.md 2.3; tests may lower the memory cost.
ARGON2_TIME_COST = 2
ARGON2_MEMORY_COST_KIB = 19_456
ARGON2_PARALLELISM = 1

from haven_site.logging import logging_config  # noqa: E402 - needs HAVEN above

LOGGING = logging_config(HAVEN)
LOGGING_CONFIG = "haven_site.logging.configure"

# Usernames are unique case-insensitively (a functional constraint Django's check cannot see).
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
