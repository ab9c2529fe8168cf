"""Writing to a TCP connection without Twisted's write buffer when nothing is queued.

Twisted's ``write`` always buffers and registers the socket for writability: two epoll_ctl
calls and a turn of the event loop per write, before the data leaves. Both the gateway's
fan-out (a frame to each of hundreds of sockets) and every HTTP response pay that otherwise.
asyncio's own transports try the socket first; this does the same for Twisted's.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import tcp


def write_now(transport: Any, data: bytes) -> bool:
    """Write ``data`` straight to the socket when nothing is queued; True when the kernel took
    it all. Whatever the kernel does not take at once (or anything while data is still queued,
    or on any transport that is not a plain TCP connection, such as TLS) goes through
    Twisted's ``write`` as usual, after what is queued, so the order of bytes is kept."""
    if not isinstance(transport, tcp.Connection):
        transport.write(data)
        return False
    idle = (
        transport.connected
        and not transport._writeDisconnected
        and not transport._tempDataLen
        and len(transport.dataBuffer) == transport.offset
    )
    if idle:
        try:
            sent = transport.socket.send(data)
        except OSError:  # BlockingIOError included; Twisted's own write reports real errors
            sent = 0
        if sent >= len(data):
            return True
        data = data[sent:]
    transport.write(data)
    return False


def pending_bytes(transport: Any) -> int:
    """Bytes written but not yet taken by the kernel (Twisted's private write buffer:
    haven_site.server.contract makes sure these attributes exist)."""
    if not isinstance(transport, tcp.Connection):
        return 0  # a TLS endpoint buffers in its own layer (Haven's TLS is Caddy's)
    return len(transport.dataBuffer) - transport.offset + transport._tempDataLen
