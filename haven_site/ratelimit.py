"""Fixed-window rate limits kept in Django's cache, so that on Redis they hold across processes.

Semantics of operations.md 4.2: the first request opens a window, every request
(rejected ones too) counts, and a request is refused once the count exceeds the limit. The window
is the key's time to live, so it reopens with the first request after it ran out.

On Redis a hit is one atomic script call on the cache's own key (INCR, and EXPIRE when it opened
the window). The limits that precede a unit of work (an HTTP request's global limit, a gateway
operation's) are counted in that unit's worker thread (on the thread's own connection,
haven_site.redis_scripts), by a script that also reads the unit's cache epochs
(haven_site.epochs): one round trip for both, and none on the event loop, where redis-py's
asyncio client costs about twice the CPU of the sync one. The WebSocket handshake's limit is
counted on the event loop (``ahit``). Without Redis the in-process cache is used directly (no
I/O, so the event loop may call it).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches

from haven_site import epochs
from haven_site import redisconn as redis_client
from haven_site.keys import derived_key
from haven_site.redis_scripts import Script

_COUNT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
"""
_HIT = _COUNT + "return count\n"
# The hit that starts a unit of work also reads its cache epochs (haven_site.epochs): the
# request or gateway operation then needs no round trip of its own for them.
_HIT_READING_EPOCHS = (
    _COUNT + epochs.read_lua(first_key=2, start_arg=2) + "return {count, epochs}\n"
)


_HIT_SCRIPT = Script(_HIT)
_HIT_READING_EPOCHS_SCRIPT = Script(_HIT_READING_EPOCHS)


def _redis_key(cache_key: str) -> str:
    """The key Django's cache stores ``cache_key`` under (its prefix and version), which the
    scripts count in directly."""
    return _cache_key_maker()(cache_key)


@lru_cache(maxsize=1)
def _cache_key_maker() -> Callable[[str], str]:
    # The key depends on settings only; ``cache.make_key`` would find this thread's cache
    # through Django's proxy and asgiref's Local on every request (1 % of a REST send).
    return caches.create_connection(DEFAULT_CACHE_ALIAS).make_key


def _cache_hit(cache_key: str, window_seconds: int) -> int:
    if cache.add(cache_key, 1, timeout=window_seconds):
        return 1
    try:
        return int(cache.incr(cache_key))
    except ValueError:  # the window ran out between add() and incr()
        cache.add(cache_key, 1, timeout=window_seconds)
        return 1


def hit(bucket: str, key: str, limit: int, window_seconds: int) -> bool:
    """Count one request for ``key`` in ``bucket``; True while it is within the limit."""
    return _hit(bucket, key, limit, window_seconds, read_epochs=False)[0]


def hit_reading_epochs(
    bucket: str, key: str, limit: int, window_seconds: int
) -> tuple[bool, epochs.EpochValues | None]:
    """``hit``, and in the same Redis round trip the cache epochs of the unit of work that
    starts now (for ``epochs.begin``); None when there is nothing to read them from (rate
    limits off, no Redis): the unit reads them itself."""
    return _hit(bucket, key, limit, window_seconds, read_epochs=True)


def _hit(
    bucket: str, key: str, limit: int, window_seconds: int, *, read_epochs: bool
) -> tuple[bool, epochs.EpochValues | None]:
    if not settings.HAVEN.rate_limits_enabled:
        return True, None
    cache_key = f"rl:{bucket}:{key}"
    if not redis_client.enabled():
        return _cache_hit(cache_key, window_seconds) <= limit, None
    raw = _redis_key(cache_key)
    if not read_epochs:
        return int(_HIT_SCRIPT(keys=[raw], args=[window_seconds])) <= limit, None
    names = epochs.names_to_read()
    count, values = _HIT_READING_EPOCHS_SCRIPT(
        keys=[raw, *epochs.keys_of(names)], args=[window_seconds, epochs.start_value()]
    )
    return int(count) <= limit, epochs.read_values(names, values)


async def ahit(bucket: str, key: str, limit: int, window_seconds: int) -> bool:
    """``hit`` from async code, without leaving the event loop."""
    if not settings.HAVEN.rate_limits_enabled:
        return True
    if not redis_client.enabled():
        return hit(bucket, key, limit, window_seconds)
    raw = _redis_key(f"rl:{bucket}:{key}")
    count = await _HIT_SCRIPT.bound(redis_client.async_client())(keys=[raw], args=[window_seconds])
    return int(count) <= limit


@lru_cache(maxsize=4096)
def ip_key(ip: str) -> str:
    """Limiter keys never hold raw addresses (operations.md 4.2): a keyed hash stands in. Every
    request counts against its address, so the clients of the moment are remembered (an HMAC
    is some 40 Python calls); the key, like every derived key, is fixed for the process."""
    return hmac.new(derived_key("ratelimit-ip"), ip.encode(), hashlib.sha256).hexdigest()[:32]


# The limits of operations.md section 4; the gateway's are configured (HAVEN.ws_rate_limits).
AUTH_LIMIT = (10, 60)
WRITE_LIMIT = (30, 60)
WS_OPS = ("send", "typing", "pin", "reaction", "edit", "delete")


def count_ws_op(op: str, user_id: uuid.UUID | str) -> tuple[bool, epochs.EpochValues | None]:
    """Count one gateway operation of this user: (within its limit, the cache epochs read in the
    same round trip, ``hit_reading_epochs``). Called in the worker thread of the operation's
    action (``GatewayConsumer.act_limited``), which starts with those epochs.

    ``op`` is one of ``WS_OPS``: "send" (SendMessage), "typing", "pin" (pins and unpins),
    "reaction" (adds and removes), "edit", "delete". Each has its own per-user fixed window
    (``WS_RATE_LIMIT_<OP>``), counted across instances in the cache, refused attempts included.
    """
    if op not in WS_OPS:
        raise ValueError(f"unknown gateway operation {op!r}")
    limit, window = settings.HAVEN.ws_rate_limits[op]
    return hit_reading_epochs(f"ws-{op}", str(user_id), limit, window)


def auth_allowed(ip: str | None) -> bool:
    """Count one request against the auth limiter (10 a minute per client address, every request
    counted). The API's sign-in routes and the Django admin's sign-in share this one budget, so
    a password guesser gets no second door."""
    limit, window = AUTH_LIMIT
    return hit("auth", ip_key(ip or "?"), limit, window)


def check_write_limit(user_id: object) -> None:
    """The shared per-user bucket of invite creation, uploads and emoji uploads: 30 a minute,
    answered with the spec's 400 (operations.md 4.1)."""
    from haven_site.api.errors import BadRequest

    limit, window = WRITE_LIMIT
    if not hit("write", str(user_id), limit, window):
        raise BadRequest("Rate limit exceeded — try again later")
