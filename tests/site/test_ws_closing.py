"""A frame for a socket whose peer is already closing is dropped quietly (haven_site.server).

The gateway's hub hands an event to every local socket of a group; one of them may have just
received its peer's close frame. Autobahn raises ``Disconnected`` for a send in that state,
which reached the hub as ``Gateway delivery failed`` with a traceback in the log."""

from __future__ import annotations

import pytest

from haven_site.server.frames import prepare_text_frame
from haven_site.server.websocket import HavenWebSocketProtocol


@pytest.mark.parametrize(
    "state", [HavenWebSocketProtocol.STATE_CLOSING, HavenWebSocketProtocol.STATE_CLOSED]
)
def test_sending_to_a_closing_socket_is_quiet(state: int) -> None:
    protocol = HavenWebSocketProtocol()
    protocol.state = state
    protocol.handle_reply({"type": "websocket.send", "text": '{"type":"Pong"}'})
    prepared = prepare_text_frame('{"type":"Pong"}')
    protocol.handle_reply({"type": "websocket.send", "text": "", "haven.prepared": prepared})
