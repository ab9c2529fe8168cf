"""The HTTP/1.1 connection of haven_site.serve: each response leaves in one write, at once.

Twisted's ``Request`` writes a response as two or three pieces (the status line and headers,
the body, a chunked response's last chunk), each through the transport's buffer, which sends
them on the loop's next turn after registering the socket for writability and before
unregistering it (docs/performance.md). While Daphne hands a reply to its request
(``HavenWebRequest.handle_reply``) the channel holds those pieces and then writes them as one,
straight to the socket when nothing is queued (haven_site.server.sockets). Everything that
could let other bytes go out in between (the request's end, which may process a pipelined
request; closing the connection) writes what is held first, so the order of bytes is kept.
"""

from __future__ import annotations

from typing import Any

from twisted.web import http
from twisted.web.http_headers import Headers

from haven_site.server.sockets import write_now


class HavenHTTPChannel(http.HTTPChannel):
    _held: list[bytes] | None = None

    def hold(self) -> None:
        """Keep what the request writes until ``release``."""
        if self._held is None:
            self._held = []

    def release(self) -> None:
        held, self._held = self._held, None
        if held:
            write_now(self.transport, b"".join(held))

    def writeHeaders(self, version: bytes, code: bytes, reason: bytes, headers: Any) -> None:
        if not isinstance(headers, Headers):
            super().writeHeaders(version, code, reason, headers)  # sanitised there; not used
            return
        # Twisted's own lines, written through writeSequence (Twisted's writes the transport).
        lines = [version, b" ", code, b" ", reason, b"\r\n"]
        for name, values in headers.getAllRawHeaders():
            for value in values:
                lines.extend((name, b": ", value, b"\r\n"))
        lines.append(b"\r\n")
        self.writeSequence(lines)

    def write(self, data: bytes) -> None:
        self.writeSequence((data,))

    def writeSequence(self, iovec: Any) -> None:
        if self._held is not None:
            self._held.extend(iovec)
        else:
            write_now(self.transport, b"".join(iovec))

    def requestDone(self, request: Any) -> None:
        self.release()  # before a pipelined request can answer (or fail) on this connection
        super().requestDone(request)

    def loseConnection(self) -> None:
        self.release()  # Twisted closes after what its transport holds, not what we hold
        super().loseConnection()


def build_channel(factory: Any) -> Any:
    """``HTTPFactory.protocol``: Twisted's, with this channel in Twisted's HTTP/2-ready wrapper."""
    return http._GenericHTTPChannelProtocol(HavenHTTPChannel())
