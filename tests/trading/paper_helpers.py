"""Shared builders for the paper venue, grid and simulation tests."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from trading.clock import ManualClock
from trading.events import LIMIT, MARKET, OrderSubmitted
from trading.grid.geometry import GridParams
from trading.market_data import Candle, TickerUpdated
from trading.markets import Market, Side
from trading.simulation import Simulation
from trading.strategies.base import StrategyContext
from trading.strategies.grid import GridStrategy
from trading.venues.paper import PaperVenue

D = Decimal
ACCOUNT = "acc"
BOT = "bot-1"
DATA = Path(__file__).resolve().parents[2] / "config" / "examples" / "data"


def market(symbol: str = "X/Y", **changes: object) -> Market:
    base, quote = symbol.split("/")
    fields: dict[str, object] = dict(
        symbol=symbol,
        base=base,
        quote=quote,
        tick_size=D("0.01"),
        step_size=D("0.001"),
        maker_fee=D("0.001"),
        taker_fee=D("0.002"),
        fee_in_received_asset=True,
    )
    fields.update(changes)
    return Market(**fields)  # type: ignore[arg-type]


def xrp_usdt() -> Market:
    return Market(
        "XRP/USDT", "XRP", "USDT", D("0.0001"), D("0.1"), min_notional=D(5),
        maker_fee=D("0.001"), taker_fee=D("0.001"),
    )


def ticker(last: str | Decimal, low: str | Decimal | None = None,
           high: str | Decimal | None = None, symbol: str = "X/Y") -> TickerUpdated:
    last = D(last)
    return TickerUpdated(
        symbol=symbol,
        last=last,
        low=D(low) if low is not None else last,
        high=D(high) if high is not None else last,
    )


def submitted(client_order_id: str, side: Side, quantity: str | Decimal,
              price: str | Decimal | None = None, symbol: str = "X/Y",
              bot_id: str | None = BOT) -> OrderSubmitted:
    return OrderSubmitted(
        account_id=ACCOUNT,
        bot_id=bot_id,
        client_order_id=client_order_id,
        symbol=symbol,
        side=side,
        order_type=LIMIT if price is not None else MARKET,
        quantity=D(quantity),
        price=D(price) if price is not None else None,
    )


def walk(prices: Iterable[Decimal], symbol: str, previous: Decimal | None = None
         ) -> Iterator[TickerUpdated]:
    """Tickers for a price path: each spans the segment from the previous price."""
    for price in prices:
        low, high = (price, price) if previous is None else sorted((previous, price))
        yield TickerUpdated(symbol=symbol, last=price, low=low, high=high)
        previous = price


def candles(name: str) -> list[Candle]:
    with open(DATA / name, newline="") as handle:
        return [
            Candle(int(row["timestamp_ms"]), D(row["open"]), D(row["high"]), D(row["low"]),
                   D(row["close"]), D(row["volume"]))
            for row in csv.DictReader(handle)
        ]


@dataclass
class Bot:
    """One grid bot on its own paper account, driven by a Simulation."""

    market: Market
    clock: ManualClock
    strategy: GridStrategy
    venue: PaperVenue
    sim: Simulation
    initial: dict[str, Decimal]

    def feed(self, *prices: str | Decimal) -> None:
        last = self.venue.last_price(self.market.symbol)
        for update in walk([D(p) for p in prices], self.market.symbol, last):
            self.sim.feed(update)

    def open_orders(self) -> dict[int | None, list]:
        """Open venue orders per grid interval (the venue's truth)."""
        by_interval: dict[int | None, list] = {}
        orders = {e.client_order_id: e for e in self.sim.events if isinstance(e, OrderSubmitted)}
        for order in self.venue.open_orders():
            by_interval.setdefault(orders[order.client_order_id].grid_index, []).append(order)
        return by_interval


def client_ids(start: int = 1) -> Callable[[], str]:
    """Client order ids td-test-000001, ... from `start` (a restarted bot continues)."""
    counter = itertools.count(start)
    return lambda: f"td-test-{next(counter):06d}"


def make_bot(on: Market, params: GridParams, balances: dict[str, Decimal] | None = None,
             clock: ManualClock | None = None, **options: object) -> Bot:
    clock = clock or ManualClock(1_700_000_000 * 10**9)
    context = StrategyContext(BOT, ACCOUNT, on.symbol, on, clock, client_ids())
    strategy = GridStrategy(context, params, **options)  # type: ignore[arg-type]
    initial = balances if balances is not None else {on.quote: D(1_000_000), on.base: D(0)}
    venue = PaperVenue(ACCOUNT, {on.symbol: on}, initial, clock)
    return Bot(on, clock, strategy, venue, Simulation(strategy, venue), dict(initial))
