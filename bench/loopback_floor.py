"""What a fan-out's writes cost the sender on this machine before any Python of Haven's (a
script, not a test): docs/performance.md, "The fifth round".

One process writes a 504-byte WebSocket frame to each of K loopback TCP sockets, as the gateway
writes one event to K receivers; the readers sit in two other processes, as in
``bench/send_path.py``. Printed: the sender's CPU per write, at 20 rounds per second (the send
benchmark's rate) and back to back. Every delivery of the send benchmark pays at least this,
in the kernel (the loopback write also runs the receiving side's TCP, and wakes the reader).

    .venv/bin/python bench/loopback_floor.py [--sockets 100] [--rounds 100]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import socket
import time

FRAME = b"\x81\x7e\x01\xf4" + b"x" * 500  # an unmasked text frame of 500 bytes
READERS = 2


def reader(port: int, sockets: int, seconds: float) -> None:
    """Connect ``sockets`` sockets and read whatever arrives until ``seconds`` have passed."""
    poller = select.epoll()
    by_fd: dict[int, socket.socket] = {}
    for _ in range(sockets):
        client = socket.create_connection(("127.0.0.1", port))
        client.setblocking(False)
        poller.register(client.fileno(), select.EPOLLIN)
        by_fd[client.fileno()] = client
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for fd, _ in poller.poll(0.5):
            with contextlib.suppress(BlockingIOError):
                by_fd[fd].recv(65536)


def cpu_per_write(connections: list[socket.socket], rounds: int, rate: float) -> float:
    spent = 0.0
    for _ in range(rounds):
        started = time.process_time()
        for connection in connections:
            connection.send(FRAME)
        spent += time.process_time() - started
        if rate:
            time.sleep(1 / rate)
    return spent / rounds / len(connections)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(args.sockets)
    port = listener.getsockname()[1]
    seconds = args.rounds / 20 + 5
    children = []
    for _ in range(READERS):
        pid = os.fork()
        if pid == 0:
            reader(port, args.sockets // READERS, seconds)
            os._exit(0)
        children.append(pid)
    connections = []
    for _ in range(args.sockets // READERS * READERS):
        connection, _ = listener.accept()
        connection.setblocking(False)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connections.append(connection)
    time.sleep(0.5)
    at_rate = cpu_per_write(connections, args.rounds, 20.0)
    back_to_back = cpu_per_write(connections, args.rounds, 0.0)
    print(f"{len(connections)} sockets: {at_rate * 1e6:.1f} us of CPU per write at 20 rounds/s")
    print(f"{len(connections)} sockets: {back_to_back * 1e6:.1f} us of CPU per write back to back")
    for pid in children:
        os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
