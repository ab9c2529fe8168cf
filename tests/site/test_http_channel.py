"""Each HTTP response leaves in one write, straight to the socket (haven_site.server.channel,
haven_site.server.sockets; docs/performance.md), with its bytes in order whatever the kernel
takes: checked on a real socket pair, with a reactor that records what registers for writing."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
from twisted.internet import tcp
from twisted.web import http

from haven_site.serve import HavenHTTPFactory
from haven_site.server.channel import HavenHTTPChannel


class RecordingReactor:
    """What a TCP connection asks of its reactor: the writers are what the test looks at."""

    def __init__(self) -> None:
        self.writers: list[Any] = []

    def addReader(self, reader: Any) -> None:
        pass

    def removeReader(self, reader: Any) -> None:
        pass

    def addWriter(self, writer: Any) -> None:
        self.writers.append(writer)

    def removeWriter(self, writer: Any) -> None:
        pass


class Answer(http.Request):
    """Answers as HavenWebRequest.handle_reply makes Daphne's request do: held, then released."""

    body = b"hello"
    chunked_reply = False

    def process(self) -> None:
        channel = self.channel
        assert isinstance(channel, HavenHTTPChannel)
        channel.hold()
        try:
            if not self.chunked_reply:
                self.setHeader(b"content-length", str(len(self.body)).encode())
            self.write(self.body)
            self.finish()
        finally:
            channel.release()


def tcp_pair() -> tuple[socket.socket, socket.socket]:
    """A TCP connection over loopback: (the server's end, the client's)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        accepted, _address = listener.accept()
    return accepted, client


class Connection:
    def __init__(self, request_factory: type[http.Request], send_buffer: int = 0) -> None:
        self.reactor = RecordingReactor()
        server_socket, self.peer = tcp_pair()
        if send_buffer:
            server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
            self.peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, send_buffer)
        server_socket.setblocking(False)
        self.peer.settimeout(5)
        factory = HavenHTTPFactory(server=None)
        self.protocol = factory.buildProtocol(("127.0.0.1", 0))
        self.protocol.requestFactory = request_factory
        self.transport = tcp.Server(
            server_socket,
            self.protocol,
            ("127.0.0.1", 1),
            cast(Any, None),
            1,
            cast(Any, self.reactor),
        )
        self.protocol.makeConnection(self.transport)

    def request(self, raw: bytes) -> None:
        self.protocol.dataReceived(raw)

    def read_until(self, done: Callable[[bytes], bool]) -> bytes:
        """Reads until ``done``, writing what Twisted queued whenever the peer has read."""
        data = b""
        while not done(data):
            data += self.peer.recv(65536)
            if self.transport.dataBuffer or self.transport._tempDataLen:
                self.transport.doWrite()
        return data

    def close(self) -> None:
        self.peer.close()
        self.transport.socket.close()


@pytest.fixture
def connections() -> Iterator[list[Connection]]:
    made: list[Connection] = []
    yield made
    for connection in made:
        connection.close()


GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def test_the_channel_is_havens(connections: list[Connection]) -> None:
    connection = Connection(Answer)
    connections.append(connection)
    assert isinstance(connection.protocol._channel, HavenHTTPChannel)


def test_a_response_is_one_send_without_registering_for_writes(
    connections: list[Connection],
) -> None:
    connection = Connection(Answer)
    connections.append(connection)
    connection.request(GET)
    received = connection.peer.recv(65536)  # everything, in one segment
    assert received.startswith(b"HTTP/1.1 200 OK\r\n")
    assert received.endswith(b"\r\n\r\nhello")
    assert connection.reactor.writers == []


class Chunked(Answer):
    chunked_reply = True


def test_a_chunked_response_ends_with_its_last_chunk(connections: list[Connection]) -> None:
    connection = Connection(Chunked)
    connections.append(connection)
    connection.request(GET)
    received = connection.peer.recv(65536)
    assert b"transfer-encoding: chunked" in received.lower()
    assert received.endswith(b"\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    assert connection.reactor.writers == []


class Counted(Answer):
    served = 0

    def process(self) -> None:
        Counted.served += 1
        self.body = f"answer {Counted.served}".encode()
        super().process()


def test_pipelined_requests_are_answered_in_order(connections: list[Connection]) -> None:
    connection = Connection(Counted)
    connections.append(connection)
    Counted.served = 0
    connection.request(GET + GET + GET)
    received = connection.read_until(lambda data: data.endswith(b"answer 3"))
    bodies = [part.split(b"\r\n\r\n", 1)[1] for part in received.split(b"HTTP/1.1 ")[1:]]
    assert bodies == [b"answer 1", b"answer 2", b"answer 3"]


def test_a_closing_connection_sends_the_response_first(connections: list[Connection]) -> None:
    connection = Connection(Answer)
    connections.append(connection)
    connection.request(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert connection.peer.recv(65536).endswith(b"\r\n\r\nhello")
    assert connection.transport.disconnecting


class Large(Answer):
    body = bytes(range(256)) * 4096  # 1 MiB


def test_what_the_kernel_does_not_take_is_queued_in_order(connections: list[Connection]) -> None:
    connection = Connection(Large, send_buffer=16384)
    connections.append(connection)
    connection.request(GET)
    assert connection.reactor.writers == [connection.transport]  # the rest waits in Twisted
    received = connection.read_until(
        lambda data: len(data.partition(b"\r\n\r\n")[2]) >= len(Large.body)
    )
    assert received.partition(b"\r\n\r\n")[2] == Large.body
