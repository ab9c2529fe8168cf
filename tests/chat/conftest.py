"""Fixtures for the server-domain tests: servers set up through the real endpoints, members
with chosen permissions, and capture of the events and gateway commands an action sends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from realtime.events import Audience, CapturedEvent, capture_controls, capture_events
from tests.helpers import Api, b64

P = "/api/v1"


def create_server(api: Api, owner: str, meta: bytes = b"server-meta") -> dict[str, Any]:
    response = api.as_(owner).post(f"{P}/servers", {"encrypted_meta": b64(meta)})
    assert response.status_code == 200, response
    return response.json()


def join(api: Api, owner: str, server_id: str, *usernames: str) -> None:
    """Each user joins through a fresh invite of ``owner``."""
    for username in usernames:
        code = api.as_(owner).post(f"{P}/servers/{server_id}/invites", {}).json()["code"]
        response = api.as_(username).post(f"{P}/invites/{code}/join")
        assert response.status_code == 200, response


def make_role(
    api: Api, owner: str, server_id: str, bits: int, *, position: int = 1, name: str = "role"
) -> str:
    response = api.as_(owner).post(
        f"{P}/servers/{server_id}/roles",
        {"name": name, "permissions": str(bits), "position": position},
    )
    assert response.status_code == 200, response
    return response.json()["id"]


def assign(api: Api, owner: str, server_id: str, username: str, role_id: str) -> None:
    user_id = api.users[username].id
    response = api.as_(owner).put(
        f"{P}/servers/{server_id}/members/{user_id}/roles", {"role_id": role_id}
    )
    assert response.status_code == 200, response


def grant(
    api: Api, owner: str, server_id: str, username: str, bits: int, *, position: int = 1
) -> str:
    """Give ``username`` a new role holding ``bits`` at ``position``; returns the role id."""
    role_id = make_role(api, owner, server_id, bits, position=position, name=f"r-{username}")
    assign(api, owner, server_id, username, role_id)
    return role_id


def default_channel(api: Api, owner: str, server_id: str) -> str:
    channels = api.as_(owner).get(f"{P}/servers/{server_id}/channels").json()
    return channels[0]["id"]


@dataclass
class Captured:
    events: list[CapturedEvent] = field(default_factory=list)
    controls: list[tuple[Audience, dict[str, Any]]] = field(default_factory=list)

    def of_type(self, name: str) -> list[CapturedEvent]:
        return [e for e in self.events if e.type == name]

    def types(self) -> list[str]:
        return [e.type for e in self.events]

    @property
    def quiet(self) -> bool:
        """Nothing was published and no gateway command was sent."""
        return not self.events and not self.controls


@pytest.fixture
def capture(
    django_capture_on_commit_callbacks: Any,
) -> Callable[[], AbstractContextManager[Captured]]:
    """``with capture() as got:`` runs the on-commit callbacks of the block (the test runs in a
    transaction that never commits) and records the events and gateway commands they send."""

    @contextmanager
    def run() -> Iterator[Captured]:
        got = Captured()
        with (
            capture_events() as events,
            capture_controls() as controls,
            django_capture_on_commit_callbacks(execute=True),
        ):
            got.events, got.controls = events, controls
            yield got

    return run
