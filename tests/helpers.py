"""Test helpers: a small API client with named users, and settings overrides.

api.register("alice")            # a user registered through the real endpoint
api.as_("alice").get("/api/v1/servers")
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import Client

PASSWORD = "correct horse battery staple"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def key_material(seed: str) -> dict[str, Any]:
    return {
        "identity_key": b64(f"identity-{seed}".encode()),
        "signed_prekey": b64(f"signed-prekey-{seed}".encode()),
        "signed_prekey_signature": b64(f"signature-{seed}".encode()),
        "one_time_prekeys": [b64(f"otp-{seed}-{i}".encode()) for i in range(3)],
    }


@dataclass
class TestUser:
    username: str
    id: str
    access_token: str
    refresh_token: str
    password: str = PASSWORD
    data: dict[str, Any] = field(default_factory=dict)

    __test__ = False  # not a pytest test class


class Response:
    """The parts of a response tests look at, with ``.json()`` and the raw ``.content``."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.status_code: int = raw.status_code
        self.content: bytes = raw.content if not getattr(raw, "streaming", False) else _drain(raw)
        self.headers = raw.headers

    def json(self) -> Any:
        return json.loads(self.content)

    def __repr__(self) -> str:
        return f"<Response {self.status_code} {self.content[:200]!r}>"


def _drain(raw: Any) -> bytes:
    """The body of a streaming response, whether its iterator is synchronous or asynchronous."""
    if not getattr(raw, "is_async", False):
        return b"".join(raw.streaming_content)

    async def collect() -> bytes:
        return b"".join([part async for part in raw.streaming_content])

    return async_to_sync(collect)()


class Api:
    def __init__(self, client: Client | None = None) -> None:
        self.client = client or Client()
        self.users: dict[str, TestUser] = {}
        self.token: str | None = None

    # --- requests ---------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        json_body: Any = None,
        *,
        token: str | None = None,
        raw: bytes | None = None,
        content_type: str | None = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Response:
        all_headers = dict(headers or {})
        bearer = token if token is not None else self.token
        if bearer:
            all_headers.setdefault("authorization", f"Bearer {bearer}")
        kwargs: dict[str, Any] = {"headers": all_headers}
        if raw is not None:
            kwargs["data"] = raw
            kwargs["content_type"] = content_type or "application/octet-stream"
        elif json_body is not None:
            kwargs["data"] = json.dumps(json_body)
            kwargs["content_type"] = content_type
        elif method in ("post", "put", "patch", "delete"):
            kwargs["content_type"] = content_type or ""
            kwargs["data"] = b""
        if kwargs.get("content_type"):
            kwargs["CONTENT_TYPE"] = kwargs["content_type"]  # also for an empty body
        return Response(getattr(self.client, method)(path, **kwargs))

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("get", path, **kw)

    def post(self, path: str, json_body: Any = None, **kw: Any) -> Response:
        return self.request("post", path, json_body, **kw)

    def put(self, path: str, json_body: Any = None, **kw: Any) -> Response:
        return self.request("put", path, json_body, **kw)

    def patch(self, path: str, json_body: Any = None, **kw: Any) -> Response:
        return self.request("patch", path, json_body, **kw)

    def delete(self, path: str, json_body: Any = None, **kw: Any) -> Response:
        return self.request("delete", path, json_body, **kw)

    def as_(self, username: str) -> Api:
        """A view of this client that sends the named user's access token."""
        other = Api(self.client)
        other.users = self.users
        other.token = self.users[username].access_token
        return other

    # --- users ------------------------------------------------------------------------------
    def register(self, username: str, *, password: str = PASSWORD, **extra: Any) -> TestUser:
        body = {"username": username, "password": password, **key_material(username), **extra}
        response = self.post("/api/v1/auth/register", body, token="")
        assert response.status_code == 200, response
        data = response.json()
        user = TestUser(
            username=username,
            id=data["user"]["id"],
            access_token=data["access_token"],
            refresh_token=data["refresh_token"],
            password=password,
            data=data,
        )
        self.users[username] = user
        return user


@contextmanager
def haven_settings(**changes: Any) -> Iterator[None]:
    """Temporarily change fields of ``settings.HAVEN`` (a frozen dataclass)."""
    original = settings.HAVEN
    settings.HAVEN = dataclasses.replace(original, **changes)
    try:
        yield
    finally:
        settings.HAVEN = original


def using_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def using_redis() -> bool:
    return bool(os.environ.get("REDIS_URL"))


async def eventually(check: Callable[[], bool], within: float = 5.0) -> None:
    """Waits until ``check()`` holds: for effects that land shortly after an awaited step, so
    that a loaded CI machine gets time instead of a fixed sleep that is sometimes too short."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"still false after {within} s: {check}")
        await asyncio.sleep(0.02)
