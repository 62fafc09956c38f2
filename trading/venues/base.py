"""The interface an `ExchangeActor` drives: one venue instance per account, one thread.

Every method returns the events that happened, in order; the caller journals them and
tells them to the bots. A venue never blocks on another actor and never publishes by
itself, which is what lets the backtester drive the same code synchronously.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from trading.events import CancelOrder, OrderSubmitted
from trading.market_data import TickerUpdated
from trading.markets import Market
from trading.messages import Event


@dataclass(frozen=True)
class Balance:
    """One asset of an account: `free` can be spent; `locked` backs resting orders."""

    free: Decimal
    locked: Decimal

    @property
    def total(self) -> Decimal:
        return self.free + self.locked


class Venue(Protocol):
    account_id: str
    is_external: bool
    """True when the venue outlives the daemon (a real exchange): an order must then be
    committed to the journal before the venue sees it. An in-process venue (paper) dies
    with the daemon, and the journal's order of events is all it needs."""

    def market(self, symbol: str) -> Market:
        """The symbol's trading rules; raises KeyError for a symbol the venue does not list."""
        ...

    def restore(self, events: Iterable[Event]) -> None:
        """Rebuild from this account's journaled events, oldest first (paper: balances,
        resting orders, trades; live: nothing, the exchange keeps its own state)."""
        ...

    def reconcile(self, open_client_order_ids: Iterable[str]) -> list[Event]:
        """After a restart: events for orders the journal holds open that the venue has
        filled, canceled or never seen (OrderRejected with code NOT_FOUND)."""
        ...

    def submit(self, order: OrderSubmitted) -> list[Event]:
        """Place an order: OrderAccepted or OrderRejected, then any immediate fills."""
        ...

    def cancel(self, command: CancelOrder) -> list[Event]:
        """OrderCanceled; or OrderRejected(code NOT_FOUND) for an order it does not hold."""
        ...

    def on_ticker(self, ticker: TickerUpdated) -> list[Event]:
        """Market data: the paper venue matches resting orders against it."""
        ...

    def balance(self, asset: str) -> Balance:
        """One asset's balance (zero for an asset the account never held)."""
        ...

    def balances(self) -> Mapping[str, Balance]:
        ...
