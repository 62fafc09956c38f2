"""Models of `/api/v1/system/...` answers."""

from __future__ import annotations

from pydantic import BaseModel


class CircuitBreakerOut(BaseModel):
    account_id: str
    state: str
    """closed, half_open or open; "none" for a venue without one (paper), "unknown" when
    the exchange actor did not answer."""
    ready: bool
    consecutive_failures: int = 0
    times_opened: int = 0
    last_error: str | None = None
    auth_error: str | None = None


class CircuitBreakersOut(BaseModel):
    data: list[CircuitBreakerOut]
