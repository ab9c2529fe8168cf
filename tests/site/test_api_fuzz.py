"""schemathesis against a live server (a real ``python -m haven_site.serve`` on the embedded
default): for every operation of /api/v1/schema, generated requests, valid and malformed, signed
in as a registered user. No answer may be a 5xx, and none may contradict the description: an
undocumented status, a wrong Content-Type, or a body that does not match its schema.

Half of the requests use the ids of real objects (a server with a channel, a role, a category,
an emoji, an invite, a message, a friend...) in their path, so that they pass the access checks
and reach the handlers' own parsing; the other half use generated ids. The number of examples
per operation is bounded (``EXAMPLES``) so that the run takes about a minute.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Err

from tests.factories import PNG
from tests.helpers import b64
from tests.processes import HavenProcess

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("HAVEN_FUZZ_EXAMPLES", "8"))  # per operation and mode
MIN_REACHED = 75  # operations that must answer 2xx at least once (about 90 do)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Operations the run leaves out, and why.
SKIPPED = {
    # Ends the session whose token the run signs in with (every later request would be 401).
    ("POST", "/api/v1/auth/logout"),
    # Fetches the URL it is given: the run must not send requests beyond loopback.
    ("GET", "/api/v1/link-preview"),
}


@dataclass
class World:
    """A signed-in user and the ids of objects it can act on, by path parameter name."""

    server: HavenProcess
    token: str
    me: str
    ids: dict[str, list[str]] = field(default_factory=dict)
    others: int = 0

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        response = self.request(method, path, token, **kwargs)
        assert response.status_code == 200, (method, path, response.text)
        return response.json()

    def request(
        self, method: str, path: str, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return httpx.request(
            method, f"{self.server.url}/api/v1{path}", headers=headers, timeout=10, **kwargs
        )

    def ensure(self) -> None:
        """Build the objects again when an operation deleted one (a server, a role, a user)."""
        other_alive = self.request("GET", "/servers", self.ids["other_token"][0]).status_code == 200
        server = self.ids["server_id"][0]
        roles = self.request("GET", f"/servers/{server}/roles")
        if not (
            other_alive
            and roles.status_code == 200
            and any(r["id"] == self.ids["role_id"][0] for r in roles.json())
        ):
            self.build()

    def build(self) -> None:
        self.others += 1
        name = f"other{self.others}"
        other = self.server.register(name)
        other_token = other["token"]
        friendship = self.call("POST", "/friends/request", json={"username": name})
        self.call("POST", f"/friends/{friendship['id']}/accept", token=other_token)
        dm = self.call(
            "POST", "/dm", json={"target_user_id": other["id"], "encrypted_meta": b64(b"d")}
        )
        server = self.call("POST", "/servers", json={"encrypted_meta": b64(b"fuzz")})
        sid = server["id"]
        channel = server["system_channel_id"]
        role = self.call("POST", f"/servers/{sid}/roles", json={"name": "r", "position": 1})
        category = self.call("POST", f"/servers/{sid}/categories", json={"name": "c"})
        invite = self.call("POST", f"/servers/{sid}/invites", json={})
        self.call("POST", f"/invites/{invite['code']}/join", token=other_token)
        emoji = self.call("POST", f"/servers/{sid}/emojis", params={"name": "fuzz"}, content=PNG)
        send = {"sender_token": b64(b"t"), "encrypted_body": b64(b"b"), "has_attachments": False}
        message = self.call(
            "POST", f"/channels/{channel}/messages", json={"channel_id": channel, **send}
        )
        report = self.call(
            "POST",
            "/reports",
            json={"message_id": message["id"], "channel_id": channel, "reason": "a reason, long"},
        )
        upload = self.call("POST", "/attachments/upload", content=b"encrypted")
        self.ids = {
            "server_id": [sid],
            "channel_id": [channel, dm["id"]],
            "role_id": [role["id"]],
            "target_id": [role["id"], other["id"]],
            "target_type": ["role", "member"],
            "category_id": [category["id"]],
            "invite_id": [invite["id"]],
            "code": [invite["code"]],
            "emoji_id": [emoji["id"]],
            "message_id": [message["id"]],
            "report_id": [report["id"]],
            "attachment_id": [upload["attachment_id"]],
            "friendship_id": [friendship["id"]],
            "user_id": [other["id"], self.me],
            "other_token": [other_token],
        }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HavenProcess]:
    process = HavenProcess(
        tmp_path_factory.mktemp("haven-fuzz"),
        {"DATABASE_URL": None, "REDIS_URL": None, "RATE_LIMITS_ENABLED": "false"},
    )
    process.manage("migrate", "--noinput", "-v", "0")
    yield process.start()
    process.stop()


@pytest.fixture(scope="module")
def world(server: HavenProcess) -> World:
    me = server.register("fuzzer")  # the first account: an instance admin
    world = World(server, me["token"], me["id"])
    world.build()
    return world


def test_no_answer_is_a_server_error_or_contradicts_the_schema(
    server: HavenProcess, world: World
) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/api/v1/schema")
    failures: list[str] = []
    reached: set[str] = set()  # operations that answered 2xx at least once
    seen: set[str] = set()
    started = time.monotonic()
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # an operation of the description that schemathesis cannot read
        operation = result.ok()
        key = (operation.method.upper(), operation.path)
        if key in SKIPPED:
            continue
        seen.add(f"{key[0]} {key[1]}")
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            world.ensure()
            try:
                _fuzz(operation, mode, world, reached)
            except Unsatisfiable:  # nothing to make malformed: no parameters, no body
                assert mode is GenerationMode.NEGATIVE
            except (Exception, BaseExceptionGroup) as error:  # every operation's failures
                failures.append(f"{mode.value} {key[0]} {key[1]}:\n{error}")
    elapsed = time.monotonic() - started
    print(f"{len(reached)} operations answered 2xx at least once, in {elapsed:.0f} s")
    print("never 2xx:", sorted(seen - reached))
    summary = f"{len(failures)} failing operations ({elapsed:.0f} s):\n\n"
    assert not failures, summary + "\n\n".join(failures)
    # A run whose session died would pass on 401s alone: it must have reached the handlers.
    assert world.request("GET", "/servers").status_code == 200
    assert len(reached) >= MIN_REACHED, sorted(seen - reached)


def _fuzz(operation: Any, mode: GenerationMode, world: World, reached: set[str]) -> None:
    names = re.findall(r"\{(\w+)\}", operation.path)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    @given(case=operation.as_strategy(generation_mode=mode), real=st.booleans(), data=st.data())
    def run(case: Any, real: bool, data: st.DataObject) -> None:
        if real and mode is GenerationMode.POSITIVE:
            for name in names:
                if name in world.ids:
                    case.path_parameters[name] = data.draw(st.sampled_from(world.ids[name]))
        response = case.call_and_validate(
            base_url=world.server.url,
            headers={"Authorization": f"Bearer {world.token}"},
            checks=CHECKS,
            timeout=10,
        )
        if response.status_code < 300:
            reached.add(f"{operation.method.upper()} {operation.path}")

    run()
