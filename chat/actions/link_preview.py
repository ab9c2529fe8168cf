"""Link previews (api.md 2.22): OpenGraph data of a page, fetched through the SSRF guard
(haven_site.safefetch) and cached, so the client can embed it inside its encrypted message."""

from __future__ import annotations

import hashlib
import json
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache

from haven_site import ratelimit, safefetch
from haven_site.api.errors import BadRequest, RateLimited

MAX_HTML = 512 * 1024
MAX_OEMBED = 64 * 1024
TIMEOUT = 5.0
CACHE_SECONDS = 3600
ERROR_CACHE_SECONDS = 60
USER_LIMIT = (60, 60)  # previews a user may ask for per minute
YOUTUBE_HOSTS = ("youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com", "youtu.be")
YOUTUBE_OEMBED = "https://www.youtube.com/oembed"
_FIELDS = ("title", "description", "image", "site_name")


class _OpenGraph(HTMLParser):
    """Collects og:title/description/image/site_name, <title> and <meta name=description>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.og: dict[str, str] = {}
        self.meta_description: str | None = None
        self.title: str | None = None
        self._in_title = False
        self._title_parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            values = {k.lower(): (v or "") for k, v in attrs}
            content = values.get("content", "").strip()
            prop = values.get("property", "").strip().lower()
            name = values.get("name", "").strip().lower()
            if prop.startswith("og:") and content:
                self.og.setdefault(prop[3:], content)
            elif name == "description" and content and self.meta_description is None:
                self.meta_description = content
        elif tag == "title" and self.title is None:
            self._in_title = True

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title_parts.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self._in_title = False
            self.title = "".join(self._title_parts).strip() or None


def parse_html(html: str) -> dict[str, str]:
    parser = _OpenGraph()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: S110 - a broken page still yields what was found so far
        pass
    found = {
        "title": parser.og.get("title") or parser.title,
        "description": parser.og.get("description") or parser.meta_description,
        "image": parser.og.get("image"),
        "site_name": parser.og.get("site_name"),
    }
    return {k: v for k, v in found.items() if v}


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            candidate = value.strip("\"' ").lower()
            try:
                "".encode(candidate)
            except LookupError:
                return "utf-8"
            return candidate
    return "utf-8"


def _is_html(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media in ("text/html", "application/xhtml+xml")


def _is_youtube(host: str) -> bool:
    return host in YOUTUBE_HOSTS


def _youtube(url: str) -> dict[str, str]:
    query = urlencode({"url": url, "format": "json"})
    fetched = safefetch.fetch(
        f"{YOUTUBE_OEMBED}?{query}",
        max_bytes=MAX_OEMBED,
        timeout=TIMEOUT,
        accept="application/json",
    )
    if fetched.status != 200:
        raise safefetch.FetchError(safefetch.FETCH_FAILED)
    try:
        data = json.loads(fetched.body)
    except ValueError:
        raise safefetch.FetchError(safefetch.READ_FAILED) from None
    if not isinstance(data, dict):
        raise safefetch.FetchError(safefetch.READ_FAILED)
    found = {
        "title": data.get("title"),
        "description": data.get("author_name"),
        "image": data.get("thumbnail_url"),
        "site_name": data.get("provider_name"),
    }
    return {k: v for k, v in found.items() if isinstance(v, str) and v}


def build_preview(raw_url: str) -> dict[str, str]:
    """The preview of a URL, or FetchError with the spec's message. No cache."""
    if settings.HAVEN.link_preview_allow_loopback:  # test processes only (refused in production)
        with safefetch.allow_loopback_for_tests():
            return _build_preview(raw_url)
    return _build_preview(raw_url)


def _build_preview(raw_url: str) -> dict[str, str]:
    url, _, host, _ = safefetch.check_url(raw_url)
    safefetch.vet(url)  # refuse private targets before any other work, YouTube included
    if _is_youtube(host):
        return {"url": url, **_youtube(url)}
    fetched = safefetch.fetch(url, max_bytes=MAX_HTML, timeout=TIMEOUT)
    if not _is_html(fetched.content_type):
        return {"url": url}
    html = fetched.body.decode(_charset(fetched.content_type), errors="replace")
    return {"url": url, **parse_html(html)}


def _cache_key(url: str) -> str:
    return "linkpreview:" + hashlib.sha256(url.encode()).hexdigest()


def get_preview(user_id: object, raw_url: str) -> dict[str, Any]:
    """Cached for an hour per URL (failures for a minute); answers 400 with the spec's texts."""
    limit, window = USER_LIMIT
    if not ratelimit.hit("linkpreview", str(user_id), limit, window):
        raise RateLimited()
    key = _cache_key(raw_url.strip())
    cached = cache.get(key)
    if isinstance(cached, dict):
        if "error" in cached:
            raise BadRequest(str(cached["error"]))
        return cached
    try:
        preview = build_preview(raw_url)
    except safefetch.FetchError as error:
        cache.set(key, {"error": error.message}, ERROR_CACHE_SECONDS)
        raise BadRequest(error.message) from None
    cache.set(key, preview, CACHE_SECONDS)
    return preview
