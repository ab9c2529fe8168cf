"""The replay store this process uses (docs/realtime.md): Redis Streams when Redis is configured,
else process memory. What it stores and why: ``realtime.replay``."""

from __future__ import annotations

from haven_site import redisconn
from realtime.replay import ReplayStore
from realtime.replay_memory import MemoryReplayStore
from realtime.replay_redis import RedisReplayStore

_memory = MemoryReplayStore()
_redis = RedisReplayStore()


def get_store() -> ReplayStore:
    return _redis if redisconn.enabled() else _memory


def memory_store() -> MemoryReplayStore:
    return _memory
