"""``HAVEN_WORKERS``: several server processes behind one port (docs/deployment.md).

A Python process uses one core. With ``HAVEN_WORKERS=N`` (default: one per CPU when Redis is
configured) ``python -m haven_site.serve`` becomes a small supervisor that opens the listening
port once per worker with ``SO_REUSEPORT`` (the kernel spreads new connections, HTTP and
WebSocket alike, over the N sockets) and runs N ordinary Daphne processes, each on one of those
sockets. Everything the workers share (sessions, the channel layer, the replay store, limits,
the caches' epochs) is already in Redis and PostgreSQL, so a WebSocket resumes on any worker as
it does on any instance.

* SIGTERM or SIGINT is passed to every worker, which drains as a lone process would (its
  WebSockets close with 1001 to resume elsewhere); the supervisor exits when all have.
* A worker that dies is started again on the same socket (connections that arrive meanwhile
  wait in its queue), after a pause that grows while it keeps dying.
* Metrics: worker ``i`` serves its own on ``METRICS_PORT + i`` (0 to N-1).

Without ``SO_REUSEPORT`` all workers accept from one shared socket instead.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

logger = logging.getLogger("haven.workers")

WORKER_ENV = "HAVEN_WORKER"  # set in each worker: its index
MAX_PAUSE_SECS = 30.0


def split_bind(args: list[str]) -> tuple[str, int, list[str]]:
    """The host and port to listen on (Daphne's defaults), and the other arguments."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-b", "--bind", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=8000)
    known, rest = parser.parse_known_args(args)
    for option in ("-u", "--unix-socket", "--fd", "-e", "--endpoint"):
        if any(arg == option or arg.startswith(option + "=") for arg in rest):
            raise SystemExit(f"HAVEN_WORKERS above 1 listens on -b/-p, not {option}")
    return str(known.bind).strip("[]"), int(known.port), rest


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` sockets listening on host:port (SO_REUSEPORT), or one shared socket."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    reuse_port = hasattr(socket, "SO_REUSEPORT")
    sockets = []
    for _ in range(count if reuse_port else 1):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(2048)  # as haven_site.serve's own (BACKLOG)
        sock.set_inheritable(True)
        sockets.append(sock)
    return sockets


class Worker:
    def __init__(self, index: int, sock: socket.socket) -> None:
        self.index = index
        self.sock = sock
        self.process: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.pause = 1.0
        self.due = 0.0  # when to start it again after it died


class Supervisor:
    def __init__(self, args: list[str], count: int) -> None:
        host, port, self.rest = split_bind(args)
        self.family = "INET6" if ":" in host else "INET"
        sockets = listening_sockets(host, port, count)
        self.workers = [Worker(i, sockets[i % len(sockets)]) for i in range(count)]
        self.stopping = False
        logger.info("Starting %d workers on %s:%d", count, host, port)

    def command(self, worker: Worker) -> list[str]:
        endpoint = f"fd:fileno={worker.sock.fileno()}:domain={self.family}"
        return [sys.executable, "-m", "haven_site.serve", f"--endpoint={endpoint}", *self.rest]

    def environment(self, worker: Worker) -> dict[str, str]:
        env = dict(os.environ, **{WORKER_ENV: str(worker.index)})
        metrics = env.get("METRICS_PORT", "").strip()
        if metrics.isdigit() and int(metrics):
            env["METRICS_PORT"] = str(int(metrics) + worker.index)
        return env

    def start(self, worker: Worker) -> None:
        worker.process = subprocess.Popen(  # noqa: S603 - this interpreter, our module
            self.command(worker),
            env=self.environment(worker),
            pass_fds=(worker.sock.fileno(),),
        )
        worker.started = time.monotonic()

    def stop(self, signum: int, _frame: Any = None) -> None:
        if self.stopping:
            return
        self.stopping = True
        logger.info("Stopping (signal %s): draining %d workers", signum, len(self.workers))
        for worker in self.workers:
            if worker.process is not None and worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        for worker in self.workers:
            self.start(worker)
        while True:
            alive = False
            for worker in self.workers:
                process = worker.process
                if process is not None and process.poll() is None:
                    alive = True
                    continue
                if self.stopping:
                    continue
                self.revive(worker)
                alive = True
            if self.stopping and not alive:
                return 0
            time.sleep(0.2)

    def revive(self, worker: Worker) -> None:
        now = time.monotonic()
        if worker.process is not None:
            code = worker.process.returncode
            logger.error("Worker %d exited with %s; starting it again", worker.index, code)
            # A worker that ran for a while starts again at once; one that keeps dying waits.
            lived = now - worker.started
            worker.pause = 1.0 if lived > MAX_PAUSE_SECS else min(worker.pause * 2, MAX_PAUSE_SECS)
            worker.due = now + (0 if lived > MAX_PAUSE_SECS else worker.pause)
            worker.process = None
        if now >= worker.due:
            self.start(worker)


def supervise(args: list[str], count: int, config: Any) -> int:
    """Run ``count`` workers; the exit code once they have all stopped."""
    import logging.config

    from haven_site.logging import logging_config

    logging.config.dictConfig(logging_config(config))
    return Supervisor(args, count).run()
