"""WebSocket frames built once per event and written to every local socket that receives it.

The gateway builds one per event (``prepare_text_frame``) and hands it back in ``websocket.send``
(``haven.prepared``) or to the ``haven.send_prepared`` scope extension; haven_site.server.websocket
writes it as it is. Only this module knows that a frame is an Autobahn ``PreparedMessage``, so the
apps import nothing of Autobahn, Twisted or Daphne."""

from __future__ import annotations

from typing import TypeAlias

from autobahn.websocket.protocol import PreparedMessage

PreparedFrame: TypeAlias = PreparedMessage


def prepare_text_frame(payload: str) -> PreparedFrame:
    """A text frame as a server sends it: unmasked, and never compressed (not negotiated)."""
    return PreparedMessage(payload.encode(), isBinary=False, applyMask=False, doNotCompress=True)
