"""The client's address: the TCP peer, or X-Forwarded-For when the peer is a trusted proxy.

So that a client cannot pick its own rate-limit bucket, the header counts only when it comes from
``TRUSTED_PROXIES`` (Caddy in the stack), and then the rightmost address that is not itself a
trusted proxy is the client.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in net for net in _networks(tuple(settings.HAVEN.trusted_proxies)))


def client_ip(peer: str | None, forwarded_for: str | None) -> str:
    if peer and forwarded_for and _trusted(peer):
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not _trusted(hop):
                return hop
        if hops:
            return hops[0]
    return peer or "unknown"
