"""The API's error: an HTTP status plus API.md's `{code, message, details}` body."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Raise from a handler; `BaseHandler.write_error` renders it."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}


# The code a bare HTTP status gets when nothing more specific was raised.
STATUS_CODES: dict[int, str] = {
    400: "BAD_REQUEST",
    401: "MISSING_TOKEN",
    403: "INSUFFICIENT_PERMISSION",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    502: "EXCHANGE_ERROR",
    503: "EXCHANGE_UNAVAILABLE",
    504: "ACTOR_TIMEOUT",
}
