"""Daphne's HTTP request with the real client address for the access log (resolved through
TRUSTED_PROXIES, for haven_site.logging.AccessLog, which logs it only with LOG_CLIENT_IPS), and
each reply written in one piece."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from daphne import http_protocol

from haven_site.logging import ACCESS_CLIENT
from haven_site.server.channel import HavenHTTPChannel


def resolved_client(client_addr: Any, headers: list[tuple[bytes, bytes]]) -> str | None:
    from haven_site.clientip import client_ip

    forwarded = b", ".join(v for k, v in headers if k.lower() == b"x-forwarded-for")
    peer = str(client_addr[0]) if client_addr else None
    return client_ip(peer, forwarded.decode("latin-1") or None)


def with_client(client: Callable[[], str | None], action: Callable[[], Any]) -> Any:
    """Runs ``action`` (which may write an access-log record) with the client address known
    (resolved only if the record includes it)."""
    token = ACCESS_CLIENT.set(client)
    try:
        return action()
    finally:
        ACCESS_CLIENT.reset(token)


class HavenWebRequest(http_protocol.WebRequest):
    def _client(self) -> str | None:
        headers = [(k, v) for k, values in self.requestHeaders.getAllRawHeaders() for v in values]
        return resolved_client(self.client_addr, headers)

    def handle_reply(self, message: dict[str, Any]) -> None:
        # What this message writes (status line, headers, body, last chunk) leaves as one write
        # (haven_site.server.channel).
        channel = self.channel
        holding = isinstance(channel, HavenHTTPChannel)
        if holding:
            channel.hold()
        try:
            with_client(self._client, lambda: super(HavenWebRequest, self).handle_reply(message))
        finally:
            if holding:
                channel.release()
