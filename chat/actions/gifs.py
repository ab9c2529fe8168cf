"""GIF search and trending, proxied to Giphy (api.md 2.25) when GIPHY_API_KEY is set."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from haven_site.api.errors import ApiError, BadRequest

logger = logging.getLogger("haven.gifs")

RESULTS = 25
RATING = "g"
TIMEOUT = 5.0
DEFAULT_SIDE = 200


def _int(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return DEFAULT_SIDE
    return number if number > 0 else DEFAULT_SIDE


def _gif(item: dict[str, Any]) -> dict[str, Any]:
    renditions = item.get("images") or {}
    fixed = renditions.get("fixed_height") or {}
    still = renditions.get("fixed_height_still") or {}
    url = fixed.get("url") or ""
    return {
        "id": str(item.get("id", "")),
        "title": str(item.get("title") or ""),
        "url": url,
        "preview_url": still.get("url") or url,
        "width": _int(fixed.get("width")),
        "height": _int(fixed.get("height")),
    }


def _call(endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
    import httpx  # on first use (docs/performance.md, memory)

    config = settings.HAVEN
    if not config.giphy_api_key:
        raise BadRequest("GIF search not configured")
    query = {"api_key": config.giphy_api_key, "limit": RESULTS, "rating": RATING, **params}
    base = config.giphy_api_url.rstrip("/")
    try:
        response = httpx.get(f"{base}/{endpoint}", params=query, timeout=TIMEOUT)
        response.raise_for_status()
        data = response.json()
        items = [_gif(item) for item in data.get("data") or [] if isinstance(item, dict)]
        pagination = data.get("pagination") or {}
        total = pagination.get("total_count", len(items))
        return {"results": items, "total_count": int(total)}
    except (httpx.HTTPError, ValueError, TypeError, AttributeError) as error:
        logger.warning("Giphy %s failed: %s", endpoint, type(error).__name__)
        raise ApiError("Internal server error", 500) from None


def search(query: str, offset: int) -> dict[str, Any]:
    return _call("search", {"q": query, "offset": offset})


def trending() -> dict[str, Any]:
    return _call("trending", {})
