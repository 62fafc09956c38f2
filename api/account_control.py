"""What the API asks of the daemon about exchange accounts: run and stop their actors.

The daemon implements `AccountControl` (`daemon.accounts.AccountFleet`) and puts it into
the `ApiContext`; the API never sees an actor class or the supervisor. The async methods
run on the IOLoop and only await the supervisor's replies. Paper accounts are ready when
started; a live account is ready once its exchange answered (restore and reconciliation),
which may take a while, or not happen while its exchange is down or refuses its keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Protocol


class AccountControl(Protocol):
    def exchange_actor(self, account_id: str) -> str | None:
        """The name of the account's running exchange actor, None when none runs."""

    async def start_paper_account(self, account_id: str, initial_balances: Mapping[str, Decimal]) -> None:
        """Start the paper exchange of a newly journaled account; returns once it is
        restored and ready for orders. Raises on failure or timeout."""

    async def connect_live_account(self, account_id: str, wait_s: float) -> bool:
        """Start the exchange actor of a stored account on a ccxt exchange with its stored
        keys; whether it is ready within `wait_s` (if not, it keeps trying)."""

    def connected(self, account_id: str) -> bool:
        """Whether the account's exchange actor runs and knows its markets."""

    async def stop_account(self, account_id: str) -> None:
        """Stop the account's exchange actor for good (the account is being deleted)."""

    def protect(self, secrets: Iterable[str]) -> None:
        """Mask these clear credentials in every log line from now on."""
