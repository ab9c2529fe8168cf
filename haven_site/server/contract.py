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

Four kinds of entries:

* ``PRESENT``: attributes a module or class must have (methods, class attributes, module
  attributes that haven_site.serve replaces);
* ``SET_BY``: instance attributes, which exist only once a method has run: that method's source
  must still assign them to ``self``;
* ``COPIED``: a method Haven carries a modified copy of, by the SHA-256 of its source, so that a
  change to the original is reviewed and carried over before it runs;
* ``RELIED_ON``: a method whose behaviour Haven relies on (how Twisted's request writes), by
  the same digest.
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
    "daphne.server": ("Server", "WebSocketFactory", "HTTPFactory", "serverFromString"),
    "daphne.http_protocol": ("WebRequest", "HTTPFactory"),
    # ... and Twisted's Content-Type parser and per-request log line (haven_site.serve).
    "twisted.web.http": ("_parseContentType", "_GenericHTTPChannelProtocol"),
    # HavenHTTPChannel (haven_site.server.channel): what it overrides; the request writes
    # through these, and the factory builds its channel with Twisted's wrapper.
    "twisted.web.http:HTTPChannel": (
        "writeHeaders", "write", "writeSequence", "requestDone", "loseConnection",
    ),
    "twisted.web.http:HTTPFactory": ("protocol",),
    "daphne.http_protocol:HTTPFactory": ("log",),
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
    # send_prepared writes the frame's bytes itself
    "autobahn.websocket.protocol:PreparedMessage.__init__": ("payloadHybi",),
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

# HavenServer.create_application is Daphne's with the HTTP input queue replaced;
# HavenHTTPChannel.writeHeaders is Twisted's, writing through the channel.
COPIED = {
    "daphne.server:Server.create_application": (
        "6d6da219bd73c1338da9c91ee957b27140ef0f0f16c50db47a8279df167be32f"
    ),
    "twisted.web.http:HTTPChannel.writeHeaders": (
        "4e3db5f0850b3a15836ed8d39c8e69df56f915312eb96eaa2b4bb0d56d2c91ce"
    ),
}

# Methods whose way of writing HavenHTTPChannel relies on, by the same digest: a request writes
# its response only through the channel (writeHeaders, write, writeSequence) and ends with
# requestDone. A request that wrote to the transport itself would pass what the channel holds.
RELIED_ON = {
    "twisted.web.http:Request.write": (
        "1744a4ca73f577316679a0a6a85f17bc60ee23fc94e74d100c98125999764d11"
    ),
    "twisted.web.http:Request.finish": (
        "4ad36afd1acb7b72fc1220b42ef150443522728a597eb63bb5dc7b6fd19f5492"
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
    for table, name, why in (
        (COPIED, "COPIED", "Haven runs a modified copy of it: carry the change over"),
        (RELIED_ON, "RELIED_ON", "Haven relies on how it writes: check that it still does"),
    ):
        for path, digest in table.items():
            try:
                current = source_digest(_resolve(path))
            except (ImportError, AttributeError, OSError, TypeError):
                found.append(f"{_dotted(path)} is missing")
                continue
            if current != digest:
                found.append(
                    f"{_dotted(path)} changed ({why}), then set its digest in "
                    f"contract.{name} to {current}"
                )
    return found


def check() -> None:
    """Raises ContractError naming everything missing or changed."""
    found = problems()
    if found:
        raise ContractError(found)
