"""What haven_site.server relies on in Daphne, Twisted and Autobahn, checked before serving.

The server layer subclasses their classes, overrides their methods, replaces module attributes
and reads private attributes (Twisted's write buffer). An upgrade that renamed one of them would
not fail: an override would no longer be called, a replaced attribute would be set where nothing
reads it, and the outbound overflow guard would stop seeing the buffer. So ``haven_site.serve``
calls ``check()`` before it patches anything and refuses to start, naming what is missing
(docs/decisions.md, "Configuration and start-up"). Only haven_site.serve patches anything, so
only it checks; Daphne run any other way (``manage.py runserver``) serves Haven unpatched. The
lock files pin the versions this list was checked on (README.md, "Dependencies");
tests/site/test_server_contract.py checks it.

Three kinds of entries:

* ``PRESENT``: attributes a module or class must have (methods, class attributes, module
  attributes that haven_site.serve replaces);
* ``SET_BY``: instance attributes, which exist only once a method has run: that method's source
  must still assign them to ``self``;
* ``COPIED``: a method Haven carries a modified copy of, by the SHA-256 of its source, so that a
  change to the original is reviewed and carried over before it runs.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import textwrap
from typing import Any

PRESENT: dict[str, tuple[str, ...]] = {
    # haven_site.serve replaces these module attributes (and AccessLogGenerator, server_class),
    # and builds its endpoints with Twisted's parser.
    "daphne.server": ("Server", "WebSocketFactory", "serverFromString"),
    "daphne.http_protocol": ("WebRequest",),
    "daphne.ws_protocol": ("WebSocketFactory", "WebSocketProtocol"),
    "daphne.cli": ("AccessLogGenerator", "CommandLineInterface"),
    "daphne.cli:CommandLineInterface": ("server_class", "run"),
    "twisted.internet.endpoints": ("serverFromString", "AdoptedStreamServerEndpoint"),
    # haven_site.server.websocket: the debug line formatted lazily, frames prepared once.
    "autobahn.websocket.protocol": ("pformat", "PreparedMessage"),
    "daphne.ws_protocol:WebSocketFactory": ("protocol", "setProtocolOptions"),
    # HavenWebSocketProtocol: the methods it overrides, then what it calls and reads.
    "daphne.ws_protocol:WebSocketProtocol": (
        "onConnect", "onOpen", "onClose", "onPing", "onPong", "connectionLost",
        "applicationCreateWorked", "handle_reply", "serverSend", "serverClose", "serverReject",
        "sendData",
        "sendCloseFrame", "sendPreparedMessage", "muted", "transport",
        "STATE_CONNECTING", "STATE_OPEN", "STATE_CLOSING", "STATE_CLOSED",
    ),
    # The outbound overflow guard (_pending_bytes) and the direct write (sendData) read
    # Twisted's write buffer: dataBuffer[offset:] plus _tempDataLen bytes are unsent.
    "twisted.internet.tcp:Connection": (
        "dataBuffer", "offset", "_writeDisconnected", "connected", "write", "abortConnection",
    ),
    # HavenServer (haven_site.server.streaming): its overrides and flow control, and
    # HavenWebRequest (haven_site.server.access).
    "daphne.server:Server": ("create_application", "handle_reply", "log_action"),
    "daphne.http_protocol:WebRequest": (
        "handle_reply", "content", "producer", "finished", "registerProducer",
        "unregisterProducer",
    ),
    "twisted.web.http_headers:Headers": ("getAllRawHeaders",),
}  # fmt: skip

SET_BY: dict[str, tuple[str, ...]] = {
    "autobahn.websocket.protocol:WebSocketProtocol._connectionMade": ("state",),
    "twisted.internet.abstract:FileDescriptor.__init__": ("_tempDataLen",),
    "twisted.internet.tcp:Connection.__init__": ("socket",),
    "daphne.ws_protocol:WebSocketProtocol.onConnect": (
        "server", "request", "clean_headers", "client_addr", "handshake_deferred",
    ),
    # also read by haven_site.shutdown, to tell each socket's application to drain
    "daphne.ws_protocol:WebSocketProtocol.applicationCreateWorked": ("application_queue",),
    "daphne.server:Server.__init__": ("application",),
    "daphne.server:Server.run": ("connections",),
    "daphne.http_protocol:WebRequest.__init__": ("client_addr",),
    "twisted.web.http:Request.__init__": ("channel", "requestHeaders"),
}  # fmt: skip

# HavenServer.create_application is Daphne's with the HTTP input queue replaced.
COPIED = {
    "daphne.server:Server.create_application": (
        "6d6da219bd73c1338da9c91ee957b27140ef0f0f16c50db47a8279df167be32f"
    ),
}


class ContractError(RuntimeError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "Haven cannot start: the installed Daphne/Twisted/Autobahn lack what haven_site.server "
            "relies on (install requirements/runtime.txt, or adapt haven_site/server and "
            "haven_site/server/contract.py to the new versions):\n"
            + "\n".join(f"  - {problem}" for problem in problems)
        )


def _resolve(path: str) -> Any:
    """``module`` or ``module:Class.attribute``; AttributeError/ImportError when absent."""
    module_name, _, qualname = path.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in filter(None, qualname.split(".")):
        target = getattr(target, part)
    return target


def _dotted(path: str, name: str = "") -> str:
    return ".".join(filter(None, (path.replace(":", "."), name)))


def _source(function: Any) -> str:
    return textwrap.dedent(inspect.getsource(function))


def _assigned_to_self(function: Any) -> set[str]:
    """The attributes a function assigns to ``self`` (``self.x = ...``, ``self.x: T = ...``)."""
    names: set[str] = set()

    def collect(target: ast.expr) -> None:
        if isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                collect(element)
        elif (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id == "self"
        ):
            names.add(target.attr)

    for node in ast.walk(ast.parse(_source(function))):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                collect(target)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            collect(node.target)
    return names


def source_digest(function: Any) -> str:
    return hashlib.sha256(_source(function).encode()).hexdigest()


def problems() -> list[str]:
    """Everything missing or changed, one line each (empty when the contract holds)."""
    found: list[str] = []
    for path, names in PRESENT.items():
        try:
            owner = _resolve(path)
        except (ImportError, AttributeError):
            found.append(f"{_dotted(path)} is missing")
            continue
        found += [f"{_dotted(path, name)} is missing" for name in names if not hasattr(owner, name)]
    for path, names in SET_BY.items():
        try:
            assigned = _assigned_to_self(_resolve(path))
        except (ImportError, AttributeError, OSError, TypeError):
            found.append(f"{_dotted(path)} is missing")
            continue
        found += [
            f"{name} is no longer set by {_dotted(path)}" for name in names if name not in assigned
        ]
    for path, digest in COPIED.items():
        try:
            current = source_digest(_resolve(path))
        except (ImportError, AttributeError, OSError, TypeError):
            found.append(f"{_dotted(path)} is missing")
            continue
        if current != digest:
            found.append(
                f"{_dotted(path)} changed (Haven runs a modified copy of it): carry the change "
                f"over, then set its digest in contract.COPIED to {current}"
            )
    return found


def check() -> None:
    """Raises ContractError naming everything missing or changed."""
    found = problems()
    if found:
        raise ContractError(found)
