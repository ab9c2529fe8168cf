"""Graceful stop for the Daphne launcher (``haven_site.serve``).

On SIGTERM (``docker stop``, ``deploy.sh``) every open WebSocket application receives a
``haven.shutdown`` message: the gateway consumer saves what its session needs to resume and closes
with 1001. Only then, or after ``GRACE_SECONDS``, is the reactor stopped, so that Daphne's own
shutdown (which cancels applications outright) finds nothing left to cancel.
"""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

logger = logging.getLogger("haven.shutdown")

GRACE_SECONDS = 8.0
_open: set[Any] = set()
_stopping = False


def register(protocol: Any) -> None:
    _open.add(protocol)


def unregister(protocol: Any) -> None:
    _open.discard(protocol)


def install() -> None:
    from twisted.internet import reactor as _reactor

    reactor: Any = _reactor

    def on_signal(signum: int, _frame: Any) -> None:
        reactor.callFromThread(_drain, signum)

    def take_signals() -> None:
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    reactor.callWhenRunning(take_signals)


def _drain(signum: int) -> None:
    from twisted.internet import reactor as _reactor

    reactor: Any = _reactor
    global _stopping
    if _stopping:
        return
    _stopping = True
    sockets = [p for p in _open if getattr(p, "application_queue", None) is not None]
    logger.info("Stopping (signal %s): closing %d WebSocket(s) for resume", signum, len(sockets))
    for protocol in sockets:
        protocol.application_queue.put_nowait({"type": "haven.shutdown"})
    deadline = time.monotonic() + GRACE_SECONDS

    def wait() -> None:
        if _open and time.monotonic() < deadline:
            reactor.callLater(0.05, wait)
            return
        if _open:
            logger.warning("%d WebSocket(s) still open at the deadline", len(_open))
        reactor.stop()

    wait()
