"""The `Strategy` interface that live bots and backtests drive the same way.

A strategy is a state machine over events plus a decision function:

- `apply(event)` folds one event about the bot into its state: order events (submitted,
  accepted, rejected, denied, canceled, filled) and the strategy's own run events. Live
  bots call it for each event as it happens; after a restart, the bot replays the bot's
  journaled events through it, which rebuilds exactly the state it had.
- `decide()` returns the commands that move the orders towards what the strategy wants
  (place what is missing, cancel what must go). It records the orders it asks for, so a
  second call does not ask again. Because it works from state, a bot that restarted
  places only what is missing, and places nothing twice.

Time comes from the context's clock, never from the system, so backtests run in
simulated time. No method blocks or does I/O.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from trading.clock import Clock
from trading.market_data import TickerUpdated
from trading.markets import Market
from trading.messages import Command, Event


@dataclass(frozen=True)
class StrategyContext:
    """What a strategy knows of its surroundings."""

    bot_id: str
    account_id: str
    symbol: str
    market: Market
    clock: Clock
    new_client_order_id: Callable[[], str]
    """A fresh client order id (`td-<bot tag>-<sequence>`); the bot journals the sequence."""


class Strategy(ABC):
    """Base of every strategy; see the module docstring for the contract."""

    def __init__(self, context: StrategyContext) -> None:
        self.context = context

    @abstractmethod
    def begin_run(self, price: Decimal) -> list[Event]:
        """The events that start a new run at `price` (for a grid: its plan). The bot
        journals them and then `apply`s them like any other event."""

    @abstractmethod
    def apply(self, event: Event) -> None:
        """Fold one event into the state; produces nothing."""

    @abstractmethod
    def on_ticker(self, ticker: TickerUpdated) -> None:
        """Take a new price into account (stops, triggers, valuation)."""

    @abstractmethod
    def decide(self) -> list[Command]:
        """Commands that bring the open orders to what the strategy wants now."""

    @abstractmethod
    def stop(self, *, cancel_orders: bool, sell_base: bool, reason: str) -> list[Command]:
        """Begin stopping: the cancels and the market sale to send. The run is over once
        `stopped` is true (every cancel and the sale answered)."""

    @property
    @abstractmethod
    def stop_reason(self) -> str | None:
        """Why the strategy wants to stop on its own (stop-loss, take-profit, ...), or None."""

    @property
    @abstractmethod
    def stopped(self) -> bool:
        """True once a stop has finished (and before any run began)."""

    @abstractmethod
    def performance(self) -> dict[str, Any]:
        """Accounting for API.md's `/bots/{id}/performance` (Decimals for money)."""
