"""The paper exchange: traderd's own matching engine for simulated accounts.

It behaves like a spot exchange. It checks each order against the market rules and does
not round for the caller; it locks what a resting order may spend; it matches resting
limit orders against the price range of each ticker, at their own price, as maker, fully;
an order that crosses the last price on arrival (and every market order) fills at once, at
that last price, as taker.

Its state is nothing but the account's events folded over the initial balances: every
method builds the events, then applies them through the same `_apply` that `restore`
uses, so restoring the events a venue emitted rebuilds it exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, localcontext

from trading.accounting import ZERO, fill_deltas
from trading.clock import Clock
from trading.events import (
    LIMIT,
    MARKET,
    CancelOrder,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
)
from trading.market_data import TickerUpdated
from trading.markets import Market, OrderRuleViolation, Side
from trading.messages import Event
from trading.money import MONEY_CONTEXT
from trading.venues.base import Balance


@dataclass(frozen=True)
class PaperOrder:
    """A resting limit order and what it locks until it fills or is canceled."""

    client_order_id: str
    exchange_order_id: str
    bot_id: str | None
    symbol: str
    side: Side
    price: Decimal
    quantity: Decimal
    locked_asset: str
    locked_amount: Decimal


class _Refused(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class PaperVenue:
    """A simulated spot account (the `Venue` protocol); one instance per account, one thread."""

    is_external = False  # it lives and dies with the daemon, rebuilt from the journal

    is_external = False  # it lives and dies with the daemon; see `Venue.is_external`

    def __init__(
        self,
        account_id: str,
        markets: Mapping[str, Market],
        initial_balances: Mapping[str, Decimal],
        clock: Clock,
    ) -> None:
        self.account_id = account_id
        self._markets = dict(markets)
        self._initial = dict(initial_balances)
        self._clock = clock
        self._last: dict[str, Decimal] = {}
        self._reset()

    # -- the Venue protocol ---------------------------------------------------------------

    def market(self, symbol: str) -> Market:
        return self._markets[symbol]

    def restore(self, events: Iterable[Event]) -> None:
        """Rebuild balances, resting orders and id counters from the account's events, oldest
        first. Last prices are market data, not account events: they come with the next
        tickers."""
        self._reset()
        for event in events:
            self._apply(event)

    def reconcile(self, open_client_order_ids: Iterable[str]) -> list[Event]:
        """NOT_FOUND for each order the journal holds open that does not rest here (its
        acceptance never reached the journal). Paper fills are journaled before anyone acts
        on them, so there is nothing else to report."""
        events: list[Event] = []
        for client_order_id in open_client_order_ids:
            if client_order_id not in self._resting:
                submitted = self._pending.get(client_order_id)
                events.append(
                    self._emit(
                        OrderRejected(
                            account_id=self.account_id,
                            bot_id=submitted.bot_id if submitted else None,
                            client_order_id=client_order_id,
                            code="NOT_FOUND",
                            reason="the paper venue holds no such open order",
                            **self._stamps(),
                        )
                    )
                )
        return events

    def submit(self, order: OrderSubmitted) -> list[Event]:
        """[OrderAccepted, *fills] or [OrderRejected]."""
        self._check_account(order.account_id)
        self._apply(order)
        try:
            market = self._check(order)
        except _Refused as refused:
            rejected = OrderRejected(
                account_id=self.account_id,
                bot_id=order.bot_id,
                client_order_id=order.client_order_id,
                code=refused.code,
                reason=refused.reason,
                **self._stamps(),
            )
            return [self._emit(rejected)]
        accepted = OrderAccepted(
            account_id=self.account_id,
            bot_id=order.bot_id,
            client_order_id=order.client_order_id,
            exchange_order_id=f"paper-{self._accepted + 1}",
            **self._stamps(),
        )
        events: list[Event] = [self._emit(accepted)]
        taker_price = self._taker_price(order)
        if taker_price is not None:
            events.append(
                self._emit(
                    self._fill(
                        market, order.bot_id, order.client_order_id, order.side,
                        taker_price, order.quantity, is_maker=False,
                    )
                )
            )
        return events

    def cancel(self, command: CancelOrder) -> list[Event]:
        """[OrderCanceled] (the lock is released), or [OrderRejected(NOT_FOUND)]."""
        self._check_account(command.account_id)
        if command.client_order_id in self._resting:
            event: Event = OrderCanceled(
                account_id=self.account_id,
                bot_id=self._resting[command.client_order_id].bot_id,
                client_order_id=command.client_order_id,
                **self._stamps(),
            )
        else:
            event = OrderRejected(
                account_id=self.account_id,
                bot_id=command.bot_id,
                client_order_id=command.client_order_id,
                code="NOT_FOUND",
                reason="the paper venue holds no such open order",
                **self._stamps(),
            )
        return [self._emit(event)]

    def on_ticker(self, ticker: TickerUpdated) -> list[Event]:
        """Record the last price; fill every resting order of the symbol that the ticker's
        range reached (a buy at p when low <= p, a sell at p when high >= p), in the order
        the orders arrived."""
        self._last[ticker.symbol] = ticker.last
        events: list[Event] = []
        for order in list(self._resting_by_symbol.get(ticker.symbol, {}).values()):
            reached = ticker.low <= order.price if order.side is Side.BUY else (
                ticker.high >= order.price
            )
            if reached:
                fill = self._fill(
                    self._markets[order.symbol], order.bot_id, order.client_order_id,
                    order.side, order.price, order.quantity, is_maker=True,
                )
                events.append(self._emit(fill))
        return events

    def balance(self, asset: str) -> Balance:
        return Balance(self._free.get(asset, ZERO), self._locked.get(asset, ZERO))

    def balances(self) -> dict[str, Balance]:
        assets = sorted(set(self._free) | set(self._locked))
        return {
            asset: Balance(self._free.get(asset, ZERO), self._locked.get(asset, ZERO))
            for asset in assets
        }

    # -- read-only helpers ----------------------------------------------------------------

    def open_orders(self, symbol: str | None = None) -> list[PaperOrder]:
        """Resting orders, oldest first; of one symbol when given."""
        if symbol is not None:
            return list(self._resting_by_symbol.get(symbol, {}).values())
        return list(self._resting.values())

    def last_price(self, symbol: str) -> Decimal | None:
        """The last price seen for `symbol`, None before its first ticker."""
        return self._last.get(symbol)

    def last_prices(self) -> dict[str, Decimal]:
        """The last price seen of every symbol that has had a ticker."""
        return dict(self._last)

    @property
    def trade_count(self) -> int:
        """Fills booked so far; the next trade id is `{account_id}-{trade_count + 1}`."""
        return self._trades

    # -- checks ---------------------------------------------------------------------------

    def _check(self, order: OrderSubmitted) -> Market:
        """The order's market, or _Refused with the code an exchange would give."""
        market = self._markets.get(order.symbol)
        if market is None:
            raise _Refused("UNKNOWN_SYMBOL", f"{order.symbol} is not listed on this venue")
        if order.client_order_id in self._resting:
            raise _Refused(
                "DUPLICATE_CLIENT_ORDER_ID", f"{order.client_order_id} is already open"
            )
        if order.order_type == LIMIT:
            if order.price is None:
                raise _Refused("MISSING_PRICE", "a limit order needs a price")
            self._check_rules(market, order.side, order.price, order.quantity)
            asset, amount = _lock(market, order.side, order.price, order.quantity)
        elif order.order_type == MARKET:
            last = self._last.get(order.symbol)
            if last is None:
                raise _Refused("NO_PRICE", f"no price seen yet for {order.symbol}")
            # The minimums are checked at the last price on the tick: a trade price in the
            # data may sit off the tick, an order book's prices never do.
            self._check_rules(market, order.side, market.level_price(last), order.quantity)
            asset, amount = _market_cost(market, order.side, last, order.quantity)
        else:
            raise _Refused("INVALID_ORDER_TYPE", f"unknown order type {order.order_type!r}")
        free = self._free.get(asset, ZERO)
        if amount > free:
            raise _Refused(
                "INSUFFICIENT_BALANCE", f"needs {amount} {asset}, {free} {asset} is free"
            )
        return market

    @staticmethod
    def _check_rules(market: Market, side: Side, price: Decimal, amount: Decimal) -> None:
        try:
            market.check_order(side, price, amount)
        except OrderRuleViolation as violation:
            raise _Refused(violation.code, violation.message) from violation

    def _taker_price(self, order: OrderSubmitted) -> Decimal | None:
        """The last price when the order fills on arrival (market, or a crossing limit)."""
        last = self._last.get(order.symbol)
        if order.order_type == MARKET:
            return last
        assert order.price is not None
        if last is None:
            return None
        crosses = last <= order.price if order.side is Side.BUY else last >= order.price
        return last if crosses else None

    # -- events -----------------------------------------------------------------------------

    def _fill(
        self,
        market: Market,
        bot_id: str | None,
        client_order_id: str,
        side: Side,
        price: Decimal,
        quantity: Decimal,
        *,
        is_maker: bool,
    ) -> OrderFilled:
        fee, fee_currency = market.fee(quantity, price, side, is_maker)
        return OrderFilled(
            account_id=self.account_id,
            bot_id=bot_id,
            client_order_id=client_order_id,
            trade_id=f"{self.account_id}-{self._trades + 1}",
            symbol=market.symbol,
            side=side,
            price=price,
            quantity=quantity,
            fee=fee,
            fee_currency=fee_currency,
            is_maker=is_maker,
            order_completed=True,
            **self._stamps(),
        )

    def _stamps(self) -> dict[str, int]:
        now = self._clock.now_ns()
        return {"ts_event": now, "ts_init": now}

    def _emit(self, event: Event) -> Event:
        self._apply(event)
        return event

    def _check_account(self, account_id: str) -> None:
        if account_id != self.account_id:
            raise ValueError(f"venue of {self.account_id} got an order of {account_id}")

    # -- state: the fold over events --------------------------------------------------------

    def _reset(self) -> None:
        self._free: dict[str, Decimal] = dict(self._initial)
        self._locked: dict[str, Decimal] = {}
        # Submitted and not resting: awaiting an answer, or a market order awaiting its fill.
        self._pending: dict[str, OrderSubmitted] = {}
        self._resting: dict[str, PaperOrder] = {}
        # The same orders by symbol: a price update looks at its own symbol's orders only
        # (one account may rest tens of thousands of orders across a thousand symbols).
        self._resting_by_symbol: dict[str, dict[str, PaperOrder]] = {}
        self._accepted = 0
        self._trades = 0

    def _apply(self, event: Event) -> None:
        """Fold one of this account's events into the state (live and restore alike)."""
        if getattr(event, "account_id", None) != self.account_id:
            return
        if isinstance(event, OrderSubmitted):
            # A duplicate of a resting order is refused and must not replace it.
            if event.client_order_id not in self._resting:
                self._pending[event.client_order_id] = event
        elif isinstance(event, OrderAccepted):
            self._accepted += 1
            order = self._pending.get(event.client_order_id)
            if order is not None and order.order_type == LIMIT:
                self._rest(self._pending.pop(event.client_order_id), event.exchange_order_id)
        elif isinstance(event, OrderFilled):
            self._trades += 1
            self._release(event.client_order_id)
            self._pending.pop(event.client_order_id, None)
            for asset, delta in fill_deltas(event, self._markets[event.symbol]).items():
                self._add(self._free, asset, delta)
        elif isinstance(event, OrderCanceled):
            self._release(event.client_order_id)
            self._pending.pop(event.client_order_id, None)
        elif isinstance(event, (OrderRejected, OrderDenied)):
            # Only an order still awaiting its answer: a refused duplicate, or NOT_FOUND for
            # a cancel, never touches an order that rests.
            self._pending.pop(event.client_order_id, None)

    def _rest(self, order: OrderSubmitted, exchange_order_id: str) -> None:
        assert order.price is not None
        asset, amount = _lock(self._markets[order.symbol], order.side, order.price, order.quantity)
        resting = PaperOrder(
            client_order_id=order.client_order_id,
            exchange_order_id=exchange_order_id,
            bot_id=order.bot_id,
            symbol=order.symbol,
            side=order.side,
            price=order.price,
            quantity=order.quantity,
            locked_asset=asset,
            locked_amount=amount,
        )
        self._resting[order.client_order_id] = resting
        self._resting_by_symbol.setdefault(order.symbol, {})[order.client_order_id] = resting
        self._add(self._free, asset, -amount)
        self._add(self._locked, asset, amount)

    def _release(self, client_order_id: str) -> None:
        order = self._resting.pop(client_order_id, None)
        if order is not None:
            del self._resting_by_symbol[order.symbol][client_order_id]
            self._add(self._locked, order.locked_asset, -order.locked_amount)
            self._add(self._free, order.locked_asset, order.locked_amount)

    @staticmethod
    def _add(balances: dict[str, Decimal], asset: str, delta: Decimal) -> None:
        with localcontext(MONEY_CONTEXT):
            balances[asset] = balances.get(asset, ZERO) + delta


def _lock(market: Market, side: Side, price: Decimal, quantity: Decimal) -> tuple[str, Decimal]:
    """What a resting limit order locks: the base it sells, or the quote it may spend. With
    fees in quote that includes the fee at the larger rate, since the order may fill as
    taker on arrival."""
    if side is Side.SELL:
        return market.base, quantity
    with localcontext(MONEY_CONTEXT):
        cost = price * quantity
        if not market.fee_in_received_asset:
            cost *= 1 + max(market.maker_fee, market.taker_fee)
    return market.quote, cost


def _market_cost(market: Market, side: Side, last: Decimal, quantity: Decimal) -> tuple[str, Decimal]:
    """The free balance a market order needs at the last price (+ the taker fee in quote)."""
    if side is Side.SELL:
        return market.base, quantity
    with localcontext(MONEY_CONTEXT):
        cost = last * quantity
        if not market.fee_in_received_asset:
            cost += market.fee(quantity, last, side, False)[0]
    return market.quote, cost
