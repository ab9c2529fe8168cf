"""Typed hook points: how a lower app causes an effect in a higher one (docs/decisions.md,
"Layers between apps").

An app never imports the apps above it. When something it does must have an effect there (a user
deleted, signed out, blocked; access inside a server changed), it sends a small frozen dataclass
through a ``Hook`` it defines, and the apps above connect their handlers in their
``AppConfig.ready()``. Handlers run in the order they were connected, which is the order of
``INSTALLED_APPS``.

``send`` runs the handlers now, inside the caller's transaction: a handler that fails fails the
caller (and rolls its work back). ``send_on_commit`` runs them once the transaction commits (at
once outside one): they see the new state, and a failing handler is logged without stopping the
others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, TypeVar

from django.db import transaction

logger = logging.getLogger("haven.hooks")

T = TypeVar("T")


class Hook(Generic[T]):
    def __init__(self, name: str) -> None:
        self.name = name
        self._handlers: list[Callable[[T], None]] = []

    def __repr__(self) -> str:
        return f"Hook({self.name!r})"

    def connect(self, handler: Callable[[T], None]) -> Callable[[T], None]:
        """Add ``handler`` (once; connecting it again changes nothing). Usable as a decorator."""
        if handler not in self._handlers:
            self._handlers.append(handler)
        return handler

    def disconnect(self, handler: Callable[[T], None]) -> None:
        if handler in self._handlers:
            self._handlers.remove(handler)

    @property
    def handlers(self) -> tuple[Callable[[T], None], ...]:
        return tuple(self._handlers)

    def send(self, event: T) -> None:
        """Run every handler now, in order; the first failure propagates."""
        for handler in self.handlers:
            handler(event)

    def send_on_commit(self, event: T) -> None:
        """Run every handler after the surrounding transaction commits; failures are logged."""
        transaction.on_commit(lambda: self._run_logged(event), robust=True)

    def _run_logged(self, event: T) -> None:
        for handler in self.handlers:
            try:
                handler(event)
            except Exception:
                logger.exception("%s handler %s failed", self.name, _name(handler))


def _name(handler: Callable[..., object]) -> str:
    module = getattr(handler, "__module__", "?")
    return f"{module}.{getattr(handler, '__qualname__', handler)!s}"
