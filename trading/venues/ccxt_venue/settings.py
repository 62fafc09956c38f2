"""`CcxtSettings`: how to reach one account on a ccxt exchange.

Apart from the venue so that the daemon and the API can hold an account's settings
without importing ccxt, which costs more than half a second at start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CcxtSettings:
    """How to reach one account. `urls`: replacement URLs; the key `"all"` re-hosts every
    API URL of the exchange onto one base URL (a proxy, the local fake in tests)."""

    exchange: str
    api_key: str
    secret: str
    password: str | None = None
    sandbox: bool = False
    urls: Mapping[str, str] = field(default_factory=dict)
    timeout_ms: int = 10_000
    rate_limit_ms: float | None = None
    poll_interval_s: float = 2.0
    not_found_grace_s: float = 10.0
    reconcile_interval_s: float = 180.0
    balance_interval_s: float = 30.0
    markets_refresh_s: float = 86_400.0
    breaker_failures: int = 5
    breaker_cooldown_s: float = 15.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    requests_per_minute: int | None = None
    """The daemon's own budget for this account (`RequestBudget`); None: ccxt's limiter only."""
