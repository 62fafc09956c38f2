"""Checking an account's API keys with its exchange: one balance fetch, made by the same
client the venue trades with (`make_exchange`), so a check that passes means the venue's
own requests will be accepted.

Blocking (sync ccxt): callers run it off their event loop. The answer never carries the
key or the secret, even where an exchange echoes one in its error message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import ccxt

from trading.money import to_decimal
from trading.venues.ccxt_venue.venue import CcxtSettings, make_exchange

REFUSED = (ccxt.AuthenticationError, ccxt.PermissionDenied, ccxt.AccountSuspended)
"""What the exchange says about keys it will not take: the check's verdict is "invalid"."""


class ExchangeUnreachable(Exception):
    """The exchange did not answer (or answered with an error unrelated to the keys):
    the keys are neither valid nor invalid."""


@dataclass(frozen=True)
class KeyCheck:
    success: bool
    exchange: str
    message: str
    balance: dict[str, Decimal] = field(default_factory=dict)
    """Asset -> total (free + used), assets held only."""


def check_keys(settings: CcxtSettings) -> KeyCheck:
    """Fetch the balance with `settings`; `ExchangeUnreachable` when the exchange could
    not judge the keys (network, outage, rate limit, a config error such as a bad URL)."""
    secrets = [value for value in (settings.api_key, settings.secret, settings.password) if value]
    try:
        raw = make_exchange(settings).fetch_balance()
    except REFUSED as error:
        return KeyCheck(False, settings.exchange, _redacted(f"{type(error).__name__}: {error}", secrets))
    except (ccxt.BaseError, ValueError) as error:
        raise ExchangeUnreachable(_redacted(f"{type(error).__name__}: {error}", secrets)) from None
    totals = raw.get("total") if isinstance(raw.get("total"), dict) else {}
    balance = {asset: to_decimal(str(total)) for asset, total in totals.items() if total}
    return KeyCheck(True, settings.exchange, "the exchange accepted the keys", balance)


def _redacted(message: str, secrets: list[str]) -> str:
    for secret in secrets:
        message = message.replace(secret, "****")
    return message[:300]
