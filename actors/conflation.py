"""Latest-wins market data delivery, so a slow consumer never builds a backlog.

A feed does not tell every price to every subscriber: a bot busy for a second would find
a second's worth of stale prices queued in its mailbox, and work through all of them.
Instead each subscriber has a `ConflatingOutbox`. The feed `offer`s each price to it; the
outbox keeps one `TickerUpdated` per symbol, merging a newer one into the undelivered one
(so `low` and `high` still span every price the subscriber missed), and tells the
subscriber one `MarketDataReady` only when none is already waiting. The subscriber `take`s
whatever is there when it gets round to it:

    def on_market_data_ready(self, message: MarketDataReady) -> None:
        for ticker in message.outbox.take():
            ...

So a subscriber's mailbox holds at most one notification per outbox, whatever the rate.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import pykka

from trading.market_data import TickerUpdated
from trading.messages import Command

logger = logging.getLogger(__name__)


class ConflatingOutbox:
    """The undelivered market data of one subscriber, at most one ticker per symbol.

    Thread boundary: the feed's thread calls `offer`, the subscriber's thread calls
    `take`; one lock guards the pending tickers and the notification flag.
    """

    def __init__(self, subscriber: pykka.ActorRef[Any]) -> None:
        self.subscriber = subscriber
        self._lock = threading.Lock()
        self._pending: dict[str, TickerUpdated] = {}
        self._notified = False
        self._closed = False
        self._offered = 0
        self._delivered = 0
        self._conflated = 0

    def offer(self, ticker: TickerUpdated) -> bool:
        """Queue `ticker` for the subscriber, merged into any undelivered one of its symbol,
        and notify the subscriber if it has no notification waiting.

        Returns False once the outbox is closed or the subscriber is dead (the caller
        should drop it); a dead subscriber closes the outbox.
        """
        with self._lock:
            if self._closed:
                return False
            self._offered += 1
            previous = self._pending.get(ticker.symbol)
            if previous is None:
                self._pending[ticker.symbol] = ticker
            else:
                self._pending[ticker.symbol] = previous.merged_with(ticker)
                self._conflated += 1
            if not self._notified:
                try:
                    # Telling under the lock keeps "at most one notification pending"
                    # exact; `tell` only puts on a queue, it never runs the receiver.
                    self.subscriber.tell(MarketDataReady(outbox=self))
                    self._notified = True
                    return True
                except pykka.ActorDeadError:
                    pass
            elif self.subscriber.is_alive():
                return True  # taken with the rest when the waiting notification is read
            self._close()
            logger.debug("market data subscriber %s is dead; closing its outbox", self.subscriber)
            return False

    def take(self) -> list[TickerUpdated]:
        """Every pending ticker, one per symbol, oldest symbol first; clears them and lets
        the next offer notify again. Called by the subscriber on `MarketDataReady`."""
        with self._lock:
            tickers = list(self._pending.values())
            self._pending.clear()
            self._notified = False
            self._delivered += len(tickers)
            return tickers

    def close(self) -> None:
        """Drop what is pending and refuse further offers (the subscriber unsubscribed)."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        self._closed = True
        self._pending.clear()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def offered(self) -> int:
        """Tickers offered while the outbox was open."""
        return self._offered

    @property
    def delivered(self) -> int:
        """Tickers the subscriber took (each one possibly merged from several offers)."""
        return self._delivered

    @property
    def conflated(self) -> int:
        """Offered tickers merged into a pending one instead of delivered on their own."""
        return self._conflated


@dataclass(frozen=True)
class MarketDataReady(Command):
    """Told to a subscriber when its outbox has market data; call `outbox.take()`."""

    outbox: ConflatingOutbox
