"""One worker-thread call per HTTP request, whatever the middleware (haven_site.handler).

Stock Django under ASGI hops to a thread and back for each middleware half, for the view, for
the ``request_started`` signal (through a single-thread executor started for the request) and
for closing the response; the edge guard's rate limit hopped too. Each hop costs more CPU than
most requests (docs/performance.md), so this is pinned: a request is exactly one
``run_in_executor`` call, for every route kind (a view, a 404, a sent message whose event is
published from the worker thread, the probe).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid
from typing import Any

import pytest
from channels.testing import HttpCommunicator
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpResponse

from haven_site.asgi import application
from haven_site.handler import HavenASGIHandler
from tests.chat.conftest import create_server
from tests.helpers import Api, haven_settings

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def executor_calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    original = asyncio.BaseEventLoop.run_in_executor

    def counting(self: Any, executor: Any, func: Any, *args: Any) -> Any:
        calls.append(func)
        return original(self, executor, func, *args)

    monkeypatch.setattr(asyncio.BaseEventLoop, "run_in_executor", counting)
    return calls


async def call(method: str, path: str, token: str, body: Any = None) -> dict[str, Any]:
    headers = [(b"authorization", f"Bearer {token}".encode()), (b"host", b"127.0.0.1")]
    raw = b""
    if body is not None:
        raw = json.dumps(body).encode()
        headers.append((b"content-type", b"application/json"))
    communicator = HttpCommunicator(application, method, path, body=raw, headers=headers)
    communicator.scope["client"] = ("127.0.0.1", 40000)
    return await communicator.get_response(timeout=10)


def hot_requests(api: Api) -> tuple[str, list[tuple[str, str, Any]]]:
    """A user's token and the requests of the hot path: the server list, a history page, a
    send."""
    user = api.register("alice")
    channel = create_server(api, "alice")["system_channel_id"]
    message = {
        "channel_id": channel,
        "sender_token": base64.b64encode(os.urandom(32)).decode(),
        "encrypted_body": base64.b64encode(os.urandom(96)).decode(),
        "has_attachments": False,
    }
    return user.access_token, [
        ("GET", "/api/v1/servers", None),
        ("GET", f"/api/v1/channels/{channel}/messages", None),
        ("POST", f"/api/v1/channels/{channel}/messages", message),
    ]


@pytest.mark.parametrize("rate_limits", [True, False])
def test_each_request_is_one_thread_hop(
    api: Api, executor_calls: list[Any], rate_limits: bool
) -> None:
    token, requests = hot_requests(api)
    requests += [
        ("GET", f"/api/v1/channels/{uuid.uuid4()}/messages", None),  # 403
        ("GET", "/api/v1/nothing-here", None),  # 404
        ("GET", "/health", None),
    ]
    with haven_settings(rate_limits_enabled=rate_limits):
        for method, path, body in requests:
            executor_calls.clear()
            response = asyncio.run(call(method, path, token, body))
            assert response["status"] in (200, 403, 404), response
            assert len(executor_calls) == 1, (path, executor_calls)


def test_url_resolution_is_remembered_per_path(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """A path resolves once per process; each request still gets its own match (and a path
    that matches nothing is not remembered)."""
    from django.urls.resolvers import URLResolver

    user = api.register("alice")
    channel = create_server(api, "alice")["system_channel_id"]
    resolved: list[str] = []
    original = URLResolver.resolve

    def counting(self: URLResolver, path: str) -> Any:
        if self.pattern.describe() == "'^/'":  # the root resolver, once per resolution
            resolved.append(path)
        return original(self, path)

    monkeypatch.setattr(URLResolver, "resolve", counting)
    path = f"/api/v1/channels/{channel}/messages"
    for _ in range(3):
        response = asyncio.run(call("GET", path, user.access_token))
        assert response["status"] == 200
    other = f"/api/v1/channels/{uuid.uuid4()}/messages"
    assert asyncio.run(call("GET", other, user.access_token))["status"] == 403
    assert resolved.count(path) == 1
    assert resolved.count(other) == 1


@pytest.mark.redis
@pytest.mark.parametrize("rate_limits", [True, False])
def test_the_rate_limit_round_trip_reads_the_cache_epochs(
    api: Api, epoch_reads: list[list[str]], rate_limits: bool
) -> None:
    """With rate limits on (production), the edge's one Redis call both counts the request and
    reads the epochs its unit of work checks the caches against: no second round trip."""
    token, requests = hot_requests(api)
    with haven_settings(rate_limits_enabled=rate_limits):
        for method, path, body in requests:
            epoch_reads.clear()
            response = asyncio.run(call(method, path, token, body))
            assert response["status"] == 200, response
            assert len(epoch_reads) == (0 if rate_limits else 1), (path, epoch_reads)


async def sent_by(send_response: Any, response: HttpResponse) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await send_response(response, send)
    return messages


@pytest.mark.parametrize(
    "size", [0, 10, HavenASGIHandler.chunk_size, 2 * HavenASGIHandler.chunk_size + 5]
)
async def test_a_whole_response_is_sent_as_django_sends_it(size: int) -> None:
    """``_send_whole`` reads the headers from their store; the messages are Django's own
    (header case, cookies, chunks and more_body flags)."""
    handler = HavenASGIHandler()

    def response() -> HttpResponse:
        made = HttpResponse(b"x" * size, status=201, content_type="application/json")
        made["X-Mixed-Case"] = "Value é"  # latin-1
        made.set_cookie("csrftoken", "abc", samesite="Lax")
        return made

    ours = await sent_by(handler._send_whole, response())
    django = await sent_by(ASGIHandler.send_response.__get__(handler), response())
    assert ours == django
    assert (b"X-Mixed-Case", "Value é".encode("latin1")) in ours[0]["headers"]
    assert b"".join(m["body"] for m in ours[1:]) == b"x" * size


async def test_a_body_is_read_whole_from_one_message_or_many() -> None:
    handler = HavenASGIHandler()

    def receiving(*messages: dict[str, Any]) -> Any:
        queue = list(messages)

        async def receive() -> dict[str, Any]:
            return queue.pop(0)

        return receive

    one = await handler.read_body(receiving({"type": "http.request", "body": b"abc"}))
    assert one.read() == b"abc"
    many = await handler.read_body(
        receiving(
            {"type": "http.request", "body": b"ab", "more_body": True},
            {"type": "http.request", "body": b"cd", "more_body": True},
            {"type": "http.request", "body": b"e"},
        )
    )
    assert many.read() == b"abcde"
    with pytest.raises(RequestAborted):
        await handler.read_body(
            receiving(
                {"type": "http.request", "body": b"ab", "more_body": True},
                {"type": "http.disconnect"},
            )
        )


def test_no_query_log_is_reset_per_request_without_debug() -> None:
    """Queries are recorded only with DEBUG on: with it off, clearing the (empty) logs on every
    request is left out; with it on, Django's reset stays."""
    from django.core.signals import request_started
    from django.db import reset_queries
    from django.test import override_settings

    def receivers() -> list[Any]:
        return [receiver() for _key, receiver, *_rest in request_started.receivers]

    request_started.connect(reset_queries)  # as Django connects it (a test may have it off)
    with override_settings(DEBUG=True):
        HavenASGIHandler()
        assert reset_queries in receivers()
    HavenASGIHandler()
    assert reset_queries not in receivers()
