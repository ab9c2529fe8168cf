"""Session metadata (operations.md 2.13): a device label from the User-Agent and a masked IP."""

from __future__ import annotations

_BROWSERS = (("Firefox", "Firefox"), ("Edg/", "Edge"), ("Chrome", "Chrome"), ("Safari", "Safari"))
_SYSTEMS = (
    ("Windows", "Windows"),
    ("Mac OS", "macOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iOS"),
)


def device_name(user_agent: str | None) -> str | None:
    """``"<Browser> on <OS>"`` with the spec's first-match order (so Android reads Linux)."""
    if not user_agent:
        return None
    browser = next((name for key, name in _BROWSERS if key in user_agent), "Unknown Browser")
    system = next((name for key, name in _SYSTEMS if key in user_agent), "Unknown OS")
    return f"{browser} on {system}"


def mask_ip(address: str | None) -> str | None:
    """IPv4 ``a.b.c.d`` -> ``a.b.x.x``; anything else -> text before the first ``:`` + ``:***``."""
    if not address or address == "unknown":
        return None
    parts = address.split(".")
    if len(parts) == 4 and all(part.isdigit() for part in parts):
        return f"{parts[0]}.{parts[1]}.x.x"
    return address.split(":", 1)[0] + ":***"
