"""Cloudflare Turnstile verification at registration (operations.md 2.6), when both keys are set."""

from __future__ import annotations

import logging

from django.conf import settings

logger = logging.getLogger("haven.turnstile")
TIMEOUT_SECONDS = 5.0


class TurnstileUnavailable(Exception):
    """The verification service could not be asked; the spec answers 500."""


def verify(token: str) -> bool:
    import httpx  # on first use: most processes never verify (docs/performance.md, memory)

    try:
        response = httpx.post(
            settings.HAVEN.turnstile_verify_url,
            data={"secret": settings.HAVEN.turnstile_secret_key, "response": token},
            timeout=TIMEOUT_SECONDS,
        )
        return bool(response.json().get("success") is True)
    except (httpx.HTTPError, ValueError) as error:
        logger.error("Turnstile verification failed: %s", type(error).__name__)
        raise TurnstileUnavailable from error
