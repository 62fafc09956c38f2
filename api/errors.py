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


# API.md's error codes with their HTTP status: what the OpenAPI document lists per status.
ERROR_STATUSES: dict[str, int] = {
    "BAD_REQUEST": 400,
    "INVALID_JSON": 400,
    "MISSING_TOKEN": 401,
    "INVALID_TOKEN": 401,
    "TOKEN_EXPIRED": 401,
    "INVALID_CREDENTIALS": 401,
    "INSUFFICIENT_PERMISSION": 403,
    "NOT_FOUND": 404,
    "BOT_NOT_FOUND": 404,
    "ORDER_NOT_FOUND": 404,
    "POSITION_NOT_FOUND": 404,
    "ACCOUNT_NOT_FOUND": 404,
    "BACKTEST_NOT_FOUND": 404,
    "USER_NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "ALREADY_RUNNING": 409,
    "NOT_RUNNING": 409,
    "BOT_RUNNING": 409,
    "READ_ONLY_BOT": 409,
    "CONFLICT": 409,
    "VALIDATION_ERROR": 422,
    "INVALID_PRICE_RANGE": 422,
    "BELOW_MIN_NOTIONAL": 422,
    "INSUFFICIENT_BALANCE": 422,
    "RISK_LIMIT_BREACHED": 422,
    "ACCOUNT_LOCKED": 423,
    "RATE_LIMITED": 429,
    "INTERNAL_ERROR": 500,
    "EXCHANGE_ERROR": 502,
    "EXCHANGE_UNAVAILABLE": 503,
    "ACTOR_UNAVAILABLE": 503,
    "ENCRYPTION_KEY_MISSING": 503,  # no key to seal exchange credentials with (accounts)
    "ACTOR_TIMEOUT": 504,
}
