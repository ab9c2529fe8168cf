"""Typed API errors and the one exception handler that renders every error as the spec's JSON.

Every error leaves the server as ``{"error": "<message>", "status": <code>}`` (api.md 1.4),
including the framework-level rejections (malformed JSON, wrong content type, oversize bodies):
clients key on the status code, and JSON is easier to show (docs/decisions.md, "Requests and
errors").
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response

logger = logging.getLogger("haven.api")


class ApiError(drf.APIException):
    """An error with a status and a human-readable message, raised by checks and views."""

    status_code = 400

    def __init__(
        self, message: str, status: int | None = None, *, extra: dict[str, Any] | None = None
    ) -> None:
        if status is not None:
            self.status_code = status
        self.message = message
        # Fields added to the envelope after ``error`` and ``status`` (port additions that let a
        # client act on the error, e.g. a suspension's end date; docs/moderation.md).
        self.extra = extra or {}
        super().__init__(message)


class BadRequest(ApiError):
    status_code = 400


class Unauthorized(ApiError):
    status_code = 401


class Forbidden(ApiError):
    status_code = 403


class NotFound(ApiError):
    status_code = 404


class Conflict(ApiError):
    status_code = 409


class PayloadTooLarge(ApiError):
    status_code = 413

    def __init__(self, message: str = "Failed to buffer the request body: length limit exceeded"):
        super().__init__(message)


class UnsupportedMediaType(ApiError):
    status_code = 415

    def __init__(self) -> None:
        super().__init__("Expected request with `Content-Type: application/json`")


class Unprocessable(ApiError):
    status_code = 422


class RateLimited(ApiError):
    status_code = 429

    def __init__(self, message: str = "Rate limited") -> None:
        super().__init__(message)


def error_body(message: str, status: int) -> dict[str, Any]:
    return {"error": message, "status": status}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF hook: translate any exception into the JSON error envelope."""
    message, status = _describe(exc)
    extra = exc.extra if isinstance(exc, ApiError) else {}
    response = Response({**error_body(message, status), **extra}, status=status)
    if isinstance(exc, drf.MethodNotAllowed) and context.get("view") is not None:
        response["Allow"] = ", ".join(context["view"].allowed_methods)
    return response


def _describe(exc: Exception) -> tuple[str, int]:
    if isinstance(exc, ApiError):
        return exc.message, exc.status_code
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge().message, 413
    if isinstance(exc, Http404):
        return "Not found", 404
    if isinstance(exc, PermissionDenied):
        return "Forbidden", 403
    if isinstance(exc, drf.MethodNotAllowed):
        return "Method not allowed", 405
    if isinstance(exc, drf.UnsupportedMediaType):
        return UnsupportedMediaType().message, 415
    if isinstance(exc, drf.ParseError):
        return f"Failed to parse the request body as JSON: {exc.detail}", 400
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        return str(exc.detail), 401
    if isinstance(exc, drf.APIException):
        return str(exc.detail), exc.status_code
    logger.error("Unhandled error in API view", exc_info=exc)
    return "Internal server error", 500
