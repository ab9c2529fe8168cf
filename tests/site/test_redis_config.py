"""Where Redis is and how many connections it gets (haven_site.redisconn, docs/deployment.md):
plain and Sentinel URLs, the bounded pools every client uses, HAVEN_WORKERS. The last test runs
a real Redis and a real Sentinel (private ones, on loopback) behind the application's clients."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from haven_site.config import ConfigError, load_config
from haven_site.redisconn import RedisTarget, channel_layer_host, parse_redis_url, sync_pool
from tests.helpers import haven_settings
from tests.processes import ROOT, free_port, inherited_env


def test_plain_urls_are_used_as_given() -> None:
    for url in ("redis://127.0.0.1:6379/3", "rediss://:pw@redis.internal:6380/0", "unix:///r.sock"):
        assert parse_redis_url(url) == RedisTarget(url=url)
        assert channel_layer_host(url) == {"address": url}


def test_a_sentinel_url_names_sentinels_master_and_db() -> None:
    url = "redis+sentinel://:s%40cret@10.0.0.1:26379,10.0.0.2,[::1]:26380/haven/2"
    target = parse_redis_url(url + "?sentinel_password=other")
    assert target.sentinels == (("10.0.0.1", 26379), ("10.0.0.2", 26379), ("::1", 26380))
    assert target.master == "haven"
    assert target.db == 2
    assert target.password == "s@cret"
    assert target.connection_kwargs() == {"db": 2, "password": "s@cret"}
    assert target.sentinel_kwargs() == {"password": "other"}
    assert channel_layer_host(url) == {
        "master_name": "haven",
        "sentinels": [["10.0.0.1", 26379], ["10.0.0.2", 26379], ["::1", 26380]],
        "sentinel_kwargs": {"password": "s@cret"},
        "db": 2,
        "password": "s@cret",
    }


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:6379", "must start with redis://"),
        ("redis+sentinel://127.0.0.1:26379", "must name the master"),
        ("redis+sentinel://127.0.0.1:26379/haven/x", "database number that is not a number"),
        ("redis+sentinel://127.0.0.1:port/haven", "malformed Sentinel address"),
        ("redis+sentinel://127.0.0.1/haven?ssl=1", "unknown options: ssl"),
    ],
)
def test_a_malformed_url_stops_start_up(
    url: str, reason: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_redis_url(url)
    monkeypatch.setenv("HAVEN_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("REDIS_URL", url)
    with pytest.raises(ConfigError) as error:
        load_config()
    assert any(p.startswith("REDIS_URL ") and reason in p for p in error.value.problems)


def test_pools_are_bounded_and_wait() -> None:
    import redis
    from redis.sentinel import SentinelConnectionPool

    with haven_settings(redis_max_connections=7, redis_pool_timeout_secs=3):
        pool = sync_pool("redis://127.0.0.1:6379/0")
        assert isinstance(pool, redis.BlockingConnectionPool)
        assert (pool.max_connections, pool.timeout) == (7, 3)
        sentinel = sync_pool("redis+sentinel://127.0.0.1:26379/haven/1")
        assert isinstance(sentinel, redis.BlockingConnectionPool)
        assert isinstance(sentinel, SentinelConnectionPool)
        assert sentinel.service_name == "haven"
        assert sentinel.max_connections == 7
        assert sentinel.connection_kwargs["db"] == 1


def test_workers_default_to_the_cpus_with_redis(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HAVEN_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("HAVEN_WORKERS", raising=False)
    assert load_config().workers == 1  # the embedded default: one process, in-memory layer
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    assert load_config().workers == len(__import__("os").sched_getaffinity(0))
    monkeypatch.setenv("HAVEN_WORKERS", "3")
    assert load_config().workers == 3
    monkeypatch.delenv("REDIS_URL")
    with pytest.raises(ConfigError) as error:
        load_config()
    assert error.value.problems == ["HAVEN_WORKERS above 1 needs REDIS_URL (processes share Redis)"]


# --- a real Sentinel ------------------------------------------------------------------------


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert process.poll() is None, "redis-server exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


@pytest.fixture
def sentinel(tmp_path: Path) -> Iterator[str]:
    """A private Redis and a Sentinel watching it; the application's REDIS_URL for them."""
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server")
    redis_port, sentinel_port = free_port(), free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    conf = tmp_path / "sentinel.conf"
    conf.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor haven 127.0.0.1 {redis_port} 1\n"
    )
    watcher = subprocess.Popen(["redis-server", str(conf), "--sentinel"], stdout=subprocess.DEVNULL)
    try:
        _wait_for(redis_port, server)
        _wait_for(sentinel_port, watcher)
        yield f"redis+sentinel://127.0.0.1:{sentinel_port}/haven/3"
    finally:
        for process in (watcher, server):
            process.terminate()
            process.wait(10)


CHECK = textwrap.dedent(
    """
    import asyncio, django
    django.setup()
    from channels.layers import get_channel_layer
    from django.core.cache import cache
    from realtime.events import Event, dispatch, to_channels
    from realtime.replay import Appended
    from realtime.store import get_store
    from haven_site import ratelimit, redisconn
    import uuid

    cache.set("probe", "cached")
    assert cache.get("probe") == "cached"
    assert ratelimit.hit("probe", "me", 1, 60) and not ratelimit.hit("probe", "me", 1, 60)
    # counted on the master the Sentinels name (the worker threads' own connections too)
    assert redisconn.sync_client().get(cache.make_key("rl:probe:me")) == "2"
    channel = uuid.uuid4()

    async def layer_round_trip():
        layer = get_channel_layer()
        name = await layer.new_channel()
        await layer.group_add(f"ch.{channel}", name)
        await asyncio.sleep(0.2)
        dispatch(Event("Probe", {"ok": True}, to_channels(channel)))  # store, then PUBLISH
        return await asyncio.wait_for(layer.receive(name), 5)

    message = asyncio.run(layer_round_trip())
    assert message["frame"] == '{"type":"Probe","payload":{"ok":true}}', message
    sid, _ = get_store().append([f"ch.{channel}"], Appended("e2", "Probe", "{}"))
    client = redisconn.sync_client()
    assert client.connection_pool.service_name == "haven"
    assert client.get(f"haven:ev:last:ch.{channel}") == sid
    print("sentinel ok", client.connection_pool.get_master_address())
    """
)


@pytest.mark.slow
def test_every_client_follows_the_sentinels(sentinel: str, tmp_path: Path) -> None:
    env = inherited_env(drop=("DATABASE_URL", "REDIS_URL"))
    env.update(
        REDIS_URL=sentinel,
        HAVEN_VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="haven_site.settings",
        RATE_LIMITS_ENABLED="true",
    )
    done = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "sentinel ok ('127.0.0.1'," in done.stdout
