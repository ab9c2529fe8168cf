"""Liveness (``/health``, api.md 1.1) and readiness (``/health/ready``) probes."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger("haven.health")
READY_TIMEOUT_SECONDS = 3.0


async def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")


def _database_ok() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()


async def _channel_layer_ok() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    channel = await layer.new_channel("ready.")
    await layer.send(channel, {"type": "ready.ping"})
    message = await layer.receive(channel)
    # RedisPubSubChannelLayer keeps a channel subscribed until a receive on it is cancelled;
    # without this every readiness probe would leave one Redis subscription behind.
    leftover = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0)
    leftover.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await leftover
    if message.get("type") != "ready.ping":
        raise RuntimeError("channel layer returned the wrong message")


async def ready(request: HttpRequest) -> HttpResponse:
    """Touches the database and the channel layer for real; 503 with the reason otherwise."""
    checks = {
        "database": sync_to_async(_database_ok, thread_sensitive=False)(),
        "channel_layer": _channel_layer_ok(),
    }
    failures: dict[str, str] = {}
    for name, check in checks.items():
        try:
            await asyncio.wait_for(check, READY_TIMEOUT_SECONDS)
        except Exception as error:
            logger.warning("Readiness check %s failed: %s", name, error)
            failures[name] = f"{type(error).__name__}: {error}"
    if failures:
        reason = "; ".join(f"{name} unavailable ({detail})" for name, detail in failures.items())
        return JsonResponse({"error": reason, "status": 503, "checks": failures}, status=503)
    return JsonResponse({"status": "ready", "checks": dict.fromkeys(checks, "ok")})
