"""The start-up check of what haven_site.server relies on in Daphne, Twisted and Autobahn
(haven_site.server.contract): it holds on the locked versions, names whatever an upgrade removed
or changed, and ``python -m haven_site.serve`` refuses to start then."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from daphne import http_protocol, server, ws_protocol
from twisted.internet import abstract
from twisted.web import http

from haven_site.server import contract
from haven_site.server.access import HavenWebRequest
from haven_site.server.channel import HavenHTTPChannel
from haven_site.server.streaming import HavenServer
from haven_site.server.websocket import HavenWebSocketFactory, HavenWebSocketProtocol
from tests.processes import ROOT, embedded_env


def refusal() -> list[str]:
    """The problems check() refuses with."""
    with pytest.raises(contract.ContractError) as raised:
        contract.check()
    assert "Haven cannot start" in str(raised.value)
    return raised.value.problems


def test_the_contract_holds_on_the_locked_versions() -> None:
    assert contract.problems() == []
    contract.check()


def test_a_missing_private_attribute_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """The overflow guard reads Twisted's write buffer; it must not quietly see zero bytes."""
    monkeypatch.delattr(abstract.FileDescriptor, "offset")
    assert refusal() == ["twisted.internet.tcp.Connection.offset is missing"]


def test_a_method_haven_overrides_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """An override of a method Daphne no longer has (or calls) would never run."""
    monkeypatch.delattr(ws_protocol.WebSocketProtocol, "serverSend")
    assert refusal() == ["daphne.ws_protocol.WebSocketProtocol.serverSend is missing"]


def test_a_module_attribute_haven_replaces_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(http_protocol, "WebRequest")
    found = refusal()
    assert "daphne.http_protocol.WebRequest is missing" in found


def _init_without_write_buffer(self: Any, reactor: Any = None) -> None:
    self.reactor = reactor


def test_an_instance_attribute_no_longer_set_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(abstract.FileDescriptor, "__init__", _init_without_write_buffer)
    assert refusal() == [
        "_tempDataLen is no longer set by twisted.internet.abstract.FileDescriptor.__init__"
    ]


def _create_application(self: Any, protocol: Any, scope: Any) -> None:
    return None


def test_a_change_to_a_copied_method_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server.Server, "create_application", _create_application)
    [problem] = refusal()
    assert problem.startswith("daphne.server.Server.create_application changed")
    assert contract.source_digest(_create_application) in problem


def _write(self: Any, data: bytes) -> None:
    self.transport.write(data)


def test_a_change_to_how_a_request_writes_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """HavenHTTPChannel holds what the request writes through it: a request that wrote to the
    transport itself would overtake what is held."""
    monkeypatch.setattr(http.Request, "write", _write)
    [problem] = refusal()
    assert problem.startswith("twisted.web.http.Request.write changed (Haven relies on")
    assert contract.source_digest(_write) in problem


@pytest.mark.parametrize(
    "haven",
    [HavenWebSocketProtocol, HavenWebSocketFactory, HavenServer, HavenWebRequest, HavenHTTPChannel],
)
def test_every_override_is_in_the_contract(haven: type) -> None:
    base = haven.__mro__[1]  # Daphne's class
    overridden = {
        name
        for name, value in vars(haven).items()
        if callable(value) and not name.startswith("__") and hasattr(base, name)
    }
    assert overridden, haven
    path = f"{base.__module__}:{base.__qualname__}"
    assert overridden <= set(contract.PRESENT[path])


REFUSING = """
from twisted.internet import abstract
from twisted.web import http
del abstract.FileDescriptor._writeDisconnected  # as if an upgrade had renamed it
from haven_site.serve import main
main(["-b", "127.0.0.1", "-p", "0"])
"""


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_server_refuses_to_start(tmp_path: Path, workers: str) -> None:
    """Before serving, and before the supervisor of several workers starts any."""
    done = subprocess.run(
        [sys.executable, "-c", REFUSING],
        cwd=ROOT,
        env=embedded_env(tmp_path, HAVEN_WORKERS=workers),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Haven cannot start" in done.stderr
    assert "twisted.internet.tcp.Connection._writeDisconnected is missing" in done.stderr
