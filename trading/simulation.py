"""One strategy and one venue driven synchronously, in the order the actors will drive them.

A tick goes to the venue first (its fills), then each event to the strategy, then the
ticker, then `decide()`; each command becomes events (a submission is journaled as
`OrderSubmitted` and applied before it reaches the venue) until the strategy is quiet.
Every event is recorded in order, as the journal would store it, so tests and the
backtester can replay or check it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from decimal import Decimal

from trading.events import BotStatusChanged, CancelOrder, OrderSubmitted, SubmitOrder
from trading.market_data import TickerUpdated
from trading.messages import Command, Event
from trading.strategies.base import Strategy
from trading.venues.base import Venue

class Simulation:
    """A synchronous bot: `events` is its journal, oldest first."""

    def __init__(self, strategy: Strategy, venue: Venue) -> None:
        self.strategy = strategy
        self.venue = venue
        self.events: list[Event] = []
        self._stopping = False

    def start(self, price: Decimal) -> list[Event]:
        """Begin a run at `price`: its events, then the orders it decides."""
        mark = len(self.events)
        self._stopping = False
        for event in self.strategy.begin_run(price):
            self._record(event)
        self._record(self._status("running"))
        self._settle(self.strategy.decide())
        return self.events[mark:]

    def feed(self, ticker: TickerUpdated) -> list[Event]:
        """One market update through venue and strategy; the events it caused."""
        mark = len(self.events)
        for event in self.venue.on_ticker(ticker):
            self._record(event)
        self.strategy.on_ticker(ticker)
        reason = self.strategy.stop_reason
        if reason is not None and not self._stopping and not self.strategy.stopped:
            # The strategy's own stop (stop-loss, take-profit, ...) cancels its orders; its
            # settings (a grid's `sell_base_on_stop`) say whether it sells.
            self._begin_stop(cancel_orders=True, sell_base=False, reason=reason)
        else:
            self._settle(self.strategy.decide())
        return self.events[mark:]

    def stop(self, *, cancel_orders: bool, sell_base: bool, reason: str) -> list[Event]:
        """Stop the run as an API request would; the events it caused."""
        mark = len(self.events)
        self._begin_stop(cancel_orders=cancel_orders, sell_base=sell_base, reason=reason)
        return self.events[mark:]

    def _begin_stop(self, *, cancel_orders: bool, sell_base: bool, reason: str) -> None:
        self._stopping = True
        self._record(self._status("stopping"))
        self._settle(
            self.strategy.stop(cancel_orders=cancel_orders, sell_base=sell_base, reason=reason)
        )

    def _settle(self, commands: Iterable[Command]) -> None:
        """Run the commands and every command the strategy decides after them."""
        pending = deque(commands)
        while pending:
            for event in self._execute(pending.popleft()):
                self._record(event)
            if not pending:
                pending.extend(self.strategy.decide())
        if self._stopping and self.strategy.stopped:
            self._stopping = False
            self._record(self._status("stopped"))

    def _execute(self, command: Command) -> list[Event]:
        if isinstance(command, SubmitOrder):
            submitted = OrderSubmitted.of(command, **self._stamps())
            self._record(submitted)
            return self.venue.submit(submitted)
        if isinstance(command, CancelOrder):
            return self.venue.cancel(command)
        raise TypeError(f"a simulation cannot run {type(command).__name__}")

    def _record(self, event: Event) -> None:
        self.events.append(event)
        self.strategy.apply(event)

    def _status(self, status: str) -> BotStatusChanged:
        return BotStatusChanged(bot_id=self.strategy.context.bot_id, status=status, **self._stamps())

    def _stamps(self) -> dict[str, int]:
        now = self.strategy.context.clock.now_ns()
        return {"ts_event": now, "ts_init": now}
