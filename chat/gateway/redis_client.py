"""Redis clients for the gateway's own state (replay streams, sessions, connection registry).

The channel layer has its own connections; these are for the keys the gateway reads and writes
directly: one synchronous client per process (REST code, management commands) and one asyncio
client per event loop (the consumers), both on ``settings.HAVEN.redis_url`` with bounded,
waiting pools (``haven_site.redisconn``).
"""

from haven_site.redisconn import async_client, enabled, sync_client

__all__ = ["async_client", "enabled", "sync_client"]
