"""The spot grid bot of GRID.md as a `Strategy`: a desired state per interval, booked from fills.

Each interval i (levels p_i < p_{i+1}) holds quote (wants a buy of q_i at p_i) or base (wants
a sell of the base it holds at p_{i+1}), and has at most one open order. `decide()` places
the order of every interval that lacks one; fills flip the side. All state is folded from
events (`GridRunStarted`, the order events, `BotStatusChanged`), so replaying a bot's journal
into a fresh instance rebuilds it, and the next `decide()` places only what is missing.

Start. `begin_run(price)` lays the grid out at the start price, or at the trigger price when
there is one (orders wait until the price crosses it, from the start price's side, and the
grid then starts where the price is: at the trigger). `initial_orders` gives each interval's
side; the level nearest that price carries no order. The intervals that start on base are
funded by ONE market buy; their sells are placed only after it filled.

Initial position rule. An interval that starts on base is booked exactly as if its grid buy
of q_i had filled at p_i as maker:
- fee in the received asset: it holds q'_i = floor(q_i (1 - f_maker), step) base, booked at
  a cost of q_i p_i;
- fee in quote: it holds q_i base, booked at q_i p_i (1 + f_maker).
So its first sell completes a cycle worth exactly GRID.md's formula, like every later one.
The market buy brings sum(q'_i) net of the taker fee: with a base fee it buys the least
quantity on the step that does, ceil(sum(q'_i) / (1 - f_taker), step); the base left over
(less than a step's worth) stays with the bot outside the grid. Its base goes to the waiting
intervals nearest the price first; a short entry (refused, or closed part-filled) is followed
by a buy of what is still missing, after the retry delay. What the entry really cost against
those p_i bookings is floating PnL, as GRID.md says.

Fills. A completed buy gives the interval the net base it brought, rounded down to the step,
booked at the quote it actually cost; a completed sell adds what it actually brought and, when
the interval has no sellable base left, completes the cycle: profit = proceeds - cost. A
partial fill waits for `order_completed`; an order closed early (canceled, expired) keeps the
part that filled, the same rule. Fills are booked once per trade id; late fills on a closed
order still move the bot's money but belong to no interval.

Refusals. A rejected, denied or canceled order (not asked by a stop) leaves its interval
without an order; it is placed again no sooner than RETRY_DELAY_NS later by the context
clock at the time the refusal is applied (so also after a replay).

Stop. `stop()` cancels every open grid order (unless told not to) and returns those cancels.
Once every cancel has answered (canceled, filled, or NOT_FOUND) and the entry buy is not in
flight, `decide()` returns one market sale of all the base the bot holds (when asked, or
`sell_base_on_stop`), only then free of the sells that locked it; with orders left open it
sells the base those do not hold. `stopped` becomes true once the sale too has answered.
A replayed journal ends the run at the bot's `BotStatusChanged("stopped")`; a stop that a
crash cut short is the bot's to finish by calling `stop()` again (only it knows how it was
asked to stop), which re-sends only the cancels still due and never a second sale.

Valuation. The bot's money is its investment less what its fills spent plus what they
brought (`Holdings`); it is valued at the last ticker, or the last fill after a replay until
the next ticker. `max_drawdown` follows the tickers this instance saw.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, localcontext
from typing import Any, ClassVar

from trading.accounting import ZERO, Holdings, performance_report
from trading.clock import NANOS_PER_SECOND
from trading.events import (
    LIMIT,
    MARKET,
    BotStatusChanged,
    CancelOrder,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    SubmitOrder,
)
from trading.grid.geometry import (
    GridParams,
    GridPlan,
    Spacing,
    build_grid,
    counter_order,
    initial_orders,
)
from trading.market_data import TickerUpdated
from trading.markets import OrderRuleViolation, Side
from trading.messages import Command, Event
from trading.money import MONEY_CONTEXT, quantize_up
from trading.strategies.base import Strategy, StrategyContext

RETRY_DELAY_NS = 30 * NANOS_PER_SECOND
"""How long an interval whose order was refused waits before it is placed again."""

NANOS_PER_DAY = 86_400 * NANOS_PER_SECOND


@dataclass(frozen=True)
class GridRunStarted(Event):
    """A run of a grid bot begins: the whole plan, so a replay never recomputes it.

    The grid is laid out at `trigger_price` when there is one, else at `start_price`.
    Per interval, `start_base` is the base it starts holding (zero: it starts on quote) and
    `start_cost` the quote that base is booked at (module docstring). `initial_base` is
    their sum, what the entry market buy must bring net of fees; `initial_buy` is that
    buy's quantity. `investment` is N x order_amount (or the total investment given).
    """

    commit_at_once: ClassVar[bool] = True

    bot_id: str
    symbol: str
    start_price: Decimal
    trigger_price: Decimal | None
    spacing: Spacing
    order_amount: Decimal
    investment: Decimal
    levels: tuple[Decimal, ...]
    quantities: tuple[Decimal, ...]
    start_base: tuple[Decimal, ...]
    start_cost: tuple[Decimal, ...]
    initial_base: Decimal
    initial_buy: Decimal


@dataclass(frozen=True)
class GridIntervalState:
    """One interval as the bot sees it: its side, the base it trades, its open order."""

    index: int
    buy_price: Decimal
    sell_price: Decimal
    holds_base: bool
    quantity: Decimal
    client_order_id: str | None


@dataclass(frozen=True)
class CompletedCycle:
    """A buy and its sell: `client_order_id` is the sell that completed it."""

    interval: int
    client_order_id: str
    profit: Decimal


class _Role(enum.Enum):
    GRID = "grid"
    ENTRY = "entry"  # the initial market buy
    EXIT = "exit"  # the stop's market sale


@dataclass
class _Order:
    """One of the run's orders and the money its fills moved (base and quote, signed)."""

    client_order_id: str
    role: _Role
    interval: int | None
    side: Side
    quantity: Decimal
    filled: Decimal = ZERO
    base: Decimal = ZERO
    quote: Decimal = ZERO
    is_open: bool = True
    cancel_requested: bool = False


@dataclass
class _Interval:
    """`base` to sell when holding base, booked at `cost`; `proceeds` sold of it so far."""

    holds_base: bool
    funded: bool
    base: Decimal = ZERO
    cost: Decimal = ZERO
    proceeds: Decimal = ZERO
    order_id: str | None = None
    retry_at_ns: int = 0


class GridStrategy(Strategy):
    """GRID.md's spot grid; see the module docstring for the rules it keeps."""

    def __init__(
        self,
        context: StrategyContext,
        params: GridParams,
        *,
        stop_at_max: bool = False,
        stop_loss_price: Decimal | None = None,
        take_profit_price: Decimal | None = None,
        trigger_price: Decimal | None = None,
        sell_base_on_stop: bool = False,
    ) -> None:
        super().__init__(context)
        self.params = params
        self.plan = build_grid(params, context.market)  # GridConfigError for a bad grid
        self.stop_at_max = stop_at_max
        self.stop_loss_price = stop_loss_price
        self.take_profit_price = take_profit_price
        self.trigger_price = trigger_price
        self.sell_base_on_stop = sell_base_on_stop
        self._run: GridRunStarted | None = None
        self._stopped = True

    # -- the run ------------------------------------------------------------------------------

    def begin_run(self, price: Decimal) -> list[Event]:
        plan, market = self.plan, self.context.market
        layout_price = self.trigger_price if self.trigger_price is not None else price
        start_base: list[Decimal] = []
        start_cost: list[Decimal] = []
        fee = market.maker_fee
        with localcontext(MONEY_CONTEXT):
            for order in initial_orders(plan, layout_price):
                q, b = plan.quantities[order.interval], plan.levels[order.interval]
                if order.side is Side.BUY:
                    start_base.append(ZERO)
                    start_cost.append(ZERO)
                elif market.fee_in_received_asset:
                    start_base.append(market.amount_to_step(q * (1 - fee)))
                    start_cost.append(q * b)
                else:
                    start_base.append(q)
                    start_cost.append(q * b * (1 + fee))
            initial_base = sum(start_base, ZERO)
            investment = (
                self.params.total_investment
                if self.params.total_investment is not None
                else plan.order_amount * plan.grid_count
            )
        now = self.context.clock.now_ns()
        return [
            GridRunStarted(
                bot_id=self.context.bot_id,
                symbol=self.context.symbol,
                start_price=price,
                trigger_price=self.trigger_price,
                spacing=plan.spacing,
                order_amount=plan.order_amount,
                investment=investment,
                levels=plan.levels,
                quantities=plan.quantities,
                start_base=tuple(start_base),
                start_cost=tuple(start_cost),
                initial_base=initial_base,
                initial_buy=self._gross_buy(initial_base),
                ts_event=now,
                ts_init=now,
            )
        ]

    @property
    def run(self) -> GridRunStarted | None:
        """The current (or last) run, None before the first."""
        return self._run

    # -- events -------------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        if isinstance(event, GridRunStarted):
            if event.bot_id == self.context.bot_id:
                self._start(event)
        elif self._run is None:
            return
        elif isinstance(event, OrderSubmitted):
            self._on_submitted(event)
        elif isinstance(event, OrderFilled):
            self._on_filled(event)
        elif isinstance(event, (OrderRejected, OrderDenied, OrderCanceled)):
            order = self._orders.get(event.client_order_id)
            if order is not None and order.is_open:
                self._close(order, completed=False)
        elif isinstance(event, BotStatusChanged) and event.bot_id == self.context.bot_id:
            self._on_status(event)
        self._check_stopped()

    def _start(self, run: GridRunStarted) -> None:
        """A new run: everything of the previous one is forgotten (a restart of a stopped
        bot is a new run of the same bot)."""
        market = self.context.market
        self._run = run
        self._plan = GridPlan(market, run.levels, run.quantities, run.order_amount, run.spacing)
        self._intervals = [
            _Interval(holds_base=base > 0, funded=base == 0) for base in run.start_base
        ]
        self._orders: dict[str, _Order] = {}
        self._trade_ids: set[str] = set()
        self._holdings = Holdings(quote=run.investment)
        self._cycles: list[CompletedCycle] = []
        self._grid_profit = ZERO
        self._entry_pool = ZERO  # entry base received and not yet given to an interval
        self._entry_retry_at_ns = 0
        self._triggered = run.trigger_price is None or run.trigger_price == run.start_price
        self._price = run.start_price
        self._peak = run.investment
        self._max_drawdown = ZERO
        self._stop_reason: str | None = None
        self._stop_request: tuple[bool, bool] | None = None  # (cancel_orders, sell_base)
        self._sale_decided = False
        self._stopped = False
        self._stopped_at_ns: int | None = None

    def _on_submitted(self, event: OrderSubmitted) -> None:
        """Our own order leaving; on replay, how the run learns of the orders it placed."""
        if event.bot_id != self.context.bot_id or event.client_order_id in self._orders:
            return
        if event.grid_index is not None:
            role = _Role.GRID
        elif event.side is Side.BUY:
            role = _Role.ENTRY
        else:
            role = _Role.EXIT
            self._sale_decided = True  # one sale per run, even if stop() is called again
        self._triggered = True
        self._register(event.client_order_id, role, event.grid_index, event.side, event.quantity)

    def _on_filled(self, fill: OrderFilled) -> None:
        order = self._orders.get(fill.client_order_id)
        if order is None or fill.trade_id in self._trade_ids:
            return
        self._trade_ids.add(fill.trade_id)
        self._price = fill.price  # the latest price known, until the next ticker
        market = self.context.market
        deltas = self._holdings.book(fill, market)
        with localcontext(MONEY_CONTEXT):
            order.filled += fill.quantity
            order.base += deltas.get(market.base, ZERO)
            order.quote += deltas.get(market.quote, ZERO)
        if order.is_open and fill.order_completed:
            self._close(order, completed=True)

    def _on_status(self, event: BotStatusChanged) -> None:
        """The bot's journaled status: how a replay learns that the run ended. A stop still
        under way is the bot's to finish, by calling stop() again: only it knows how it was
        asked to stop."""
        if event.status == "stopped" and not self._stopped:
            self._stopped = True
            self._stopped_at_ns = event.ts_event

    def _close(self, order: _Order, *, completed: bool) -> None:
        """The order is done: filled in full, or refused or canceled with what filled."""
        order.is_open = False
        retry_at = self.context.clock.now_ns() + RETRY_DELAY_NS
        if order.role is _Role.GRID:
            assert order.interval is not None
            interval = self._intervals[order.interval]
            if interval.order_id == order.client_order_id:
                interval.order_id = None
            if order.filled > 0 and order.side is Side.BUY:
                self._bought(order.interval, order)
            elif order.filled > 0:
                self._sold(order.interval, order)
            if not completed:
                interval.retry_at_ns = retry_at
        elif order.role is _Role.ENTRY:
            with localcontext(MONEY_CONTEXT):
                self._entry_pool += order.base
            self._fund()
            if not completed:
                self._entry_retry_at_ns = retry_at

    def _bought(self, index: int, order: _Order) -> None:
        """The interval now holds the net base the buy brought, at what it cost."""
        interval = self._intervals[index]
        base = self.context.market.amount_to_step(order.base)
        if self._can_sell(index, base):
            interval.holds_base = True
            interval.base = base
            interval.cost = -order.quote
            interval.proceeds = ZERO

    def _sold(self, index: int, order: _Order) -> None:
        """Proceeds in; once nothing sellable is left, the cycle is complete."""
        interval = self._intervals[index]
        with localcontext(MONEY_CONTEXT):
            interval.proceeds += order.quote
            interval.base += order.base
            rest = self.context.market.amount_to_step(interval.base)
            if self._can_sell(index, rest):
                interval.base = rest
                return
            profit = interval.proceeds - interval.cost
            self._grid_profit += profit
        self._cycles.append(CompletedCycle(index, order.client_order_id, profit))
        interval.holds_base = False
        interval.base = interval.cost = interval.proceeds = ZERO

    def _can_sell(self, index: int, base: Decimal) -> bool:
        if base <= 0:
            return False
        try:
            self.context.market.check_order(Side.SELL, self._plan.levels[index + 1], base)
        except OrderRuleViolation:
            return False
        return True

    def _fund(self) -> None:
        """Give the entry's base to the waiting intervals, nearest the price first."""
        assert self._run is not None
        for index, interval in enumerate(self._intervals):
            if interval.funded:
                continue
            need = self._run.start_base[index]
            if self._entry_pool < need:
                return
            with localcontext(MONEY_CONTEXT):
                self._entry_pool -= need
            interval.funded = True
            interval.base = need
            interval.cost = self._run.start_cost[index]

    # -- market data ----------------------------------------------------------------------------

    def on_ticker(self, ticker: TickerUpdated) -> None:
        if self._run is None or ticker.symbol != self.context.symbol:
            return
        self._price = ticker.last  # a stopped run still values what it holds
        if self._stopped:
            return
        if not self._triggered:
            trigger = self._run.trigger_price
            assert trigger is not None
            if trigger > self._run.start_price:
                self._triggered = ticker.high >= trigger
            else:
                self._triggered = ticker.low <= trigger
        if self._triggered and self._stop_request is None and self._stop_reason is None:
            self._stop_reason = self._stop_condition(ticker)
        self._track_drawdown()

    def _stop_condition(self, ticker: TickerUpdated) -> str | None:
        if self.stop_loss_price is not None and ticker.low <= self.stop_loss_price:
            return "stop_loss"
        if self.take_profit_price is not None and ticker.high >= self.take_profit_price:
            return "take_profit"
        if self.stop_at_max and ticker.high >= self.params.upper_price:
            return "stop_at_max"
        return None

    def _track_drawdown(self) -> None:
        value = self._holdings.value(self._price)
        with localcontext(MONEY_CONTEXT):
            if value > self._peak:
                self._peak = value
            elif self._peak > 0:
                drawdown = (self._peak - value) / self._peak * 100
                self._max_drawdown = max(self._max_drawdown, drawdown)

    # -- decisions ------------------------------------------------------------------------------

    def decide(self) -> list[Command]:
        if self._run is None or self._stopped:
            return []
        if self._stop_request is not None:
            return self._stop_commands()
        if not self._triggered:
            return []
        now = self.context.clock.now_ns()
        commands: list[Command] = []
        entry = self._entry_command(now)
        if entry is not None:
            commands.append(entry)
        for index, interval in enumerate(self._intervals):
            if interval.order_id is None and interval.funded and now >= interval.retry_at_ns:
                filled_side = Side.BUY if interval.holds_base else Side.SELL
                planned = counter_order(self._plan, index, filled_side, interval.base)
                commands.append(
                    self._submit(_Role.GRID, planned.side, planned.amount, planned.price, index)
                )
        return commands

    def _entry_command(self, now: int) -> SubmitOrder | None:
        """The market buy for the intervals still waiting for their base, if none is out."""
        assert self._run is not None
        waiting = [i for i, interval in enumerate(self._intervals) if not interval.funded]
        if not waiting or now < self._entry_retry_at_ns:
            return None
        if any(o.is_open and o.role is _Role.ENTRY for o in self._orders.values()):
            return None
        with localcontext(MONEY_CONTEXT):
            need = sum((self._run.start_base[i] for i in waiting), ZERO) - self._entry_pool
        return self._submit(_Role.ENTRY, Side.BUY, self._gross_buy(need), None, None)

    def _gross_buy(self, net: Decimal) -> Decimal:
        """The market buy quantity (on the step) that brings `net` base after the taker fee."""
        market = self.context.market
        quantity = quantize_up(net, market.step_size)
        if not market.fee_in_received_asset or net <= 0:
            return quantity
        with localcontext(MONEY_CONTEXT) as ctx:
            keep = 1 - market.taker_fee
            # Rounded up, the quotient never falls below the exact one (and never passes a
            # step it did not pass), so the quantity is the least that brings `net`.
            ctx.rounding = ROUND_CEILING
            return quantize_up(net / keep, market.step_size)

    def _submit(
        self,
        role: _Role,
        side: Side,
        quantity: Decimal,
        price: Decimal | None,
        interval: int | None,
    ) -> SubmitOrder:
        client_order_id = self.context.new_client_order_id()
        self._register(client_order_id, role, interval, side, quantity)
        now = self.context.clock.now_ns()
        return SubmitOrder(
            account_id=self.context.account_id,
            bot_id=self.context.bot_id,
            client_order_id=client_order_id,
            symbol=self.context.symbol,
            side=side,
            order_type=LIMIT if price is not None else MARKET,
            quantity=quantity,
            price=price,
            grid_index=interval,
            ts_event=now,
            ts_init=now,
        )

    def _register(
        self, client_order_id: str, role: _Role, interval: int | None, side: Side, quantity: Decimal
    ) -> None:
        """An order in flight from now on, so the next decide() does not place it again."""
        self._orders[client_order_id] = _Order(client_order_id, role, interval, side, quantity)
        if interval is not None and self._intervals[interval].order_id is None:
            self._intervals[interval].order_id = client_order_id

    # -- stopping ---------------------------------------------------------------------------------

    def stop(self, *, cancel_orders: bool, sell_base: bool, reason: str) -> list[Command]:
        """Cancel the open grid orders (if asked); the sale follows from decide() once the
        cancels answered. `reason` is the caller's to journal; the stop is the same for all."""
        if self._run is None or self._stopped:
            return []
        self._stop_request = (cancel_orders, sell_base or self.sell_base_on_stop)
        return self._stop_commands()

    def _stop_commands(self) -> list[Command]:
        assert self._stop_request is not None
        cancel_orders, sell_base = self._stop_request
        commands: list[Command] = []
        if cancel_orders:
            for order in self._orders.values():
                if order.is_open and order.role is _Role.GRID and not order.cancel_requested:
                    order.cancel_requested = True
                    commands.append(
                        CancelOrder(
                            account_id=self.context.account_id,
                            bot_id=self.context.bot_id,
                            client_order_id=order.client_order_id,
                            symbol=self.context.symbol,
                        )
                    )
        if sell_base and not self._sale_decided and not self._outstanding():
            self._sale_decided = True
            quantity = self.context.market.amount_to_step(self._free_base())
            if quantity > 0:
                commands.append(self._submit(_Role.EXIT, Side.SELL, quantity, None, None))
        self._check_stopped()
        return commands

    def _free_base(self) -> Decimal:
        """The bot's base not held by its open sells."""
        with localcontext(MONEY_CONTEXT):
            held = sum(
                (o.quantity - o.filled for o in self._orders.values()
                 if o.is_open and o.side is Side.SELL),
                ZERO,
            )
            return self._holdings.base - held

    def _outstanding(self) -> bool:
        """Whether an answer the stop waits for is still due."""
        assert self._stop_request is not None
        cancel_orders = self._stop_request[0]
        return any(
            o.is_open and (o.role is not _Role.GRID or cancel_orders)
            for o in self._orders.values()
        )

    def _check_stopped(self) -> None:
        if self._stopped or self._stop_request is None or self._outstanding():
            return
        if self._stop_request[1] and not self._sale_decided:
            return
        self._stopped = True
        self._stopped_at_ns = self.context.clock.now_ns()

    @property
    def stop_reason(self) -> str | None:
        return self._stop_reason if self._run is not None else None

    @property
    def stopped(self) -> bool:
        return self._stopped

    # -- views ------------------------------------------------------------------------------------

    def interval_states(self) -> tuple[GridIntervalState, ...]:
        if self._run is None:
            return ()
        levels = self._plan.levels
        return tuple(
            GridIntervalState(
                index=i,
                buy_price=levels[i],
                sell_price=levels[i + 1],
                holds_base=interval.holds_base,
                quantity=self._interval_quantity(i, interval),
                client_order_id=interval.order_id,
            )
            for i, interval in enumerate(self._intervals)
        )

    def _interval_quantity(self, index: int, interval: _Interval) -> Decimal:
        """The base the interval sells (held, or still to come from the entry) or buys."""
        assert self._run is not None
        if not interval.holds_base:
            return self._plan.quantities[index]
        return interval.base if interval.funded else self._run.start_base[index]

    @property
    def last_price(self) -> Decimal | None:
        """The price the bot is valued at: the last ticker, or the last fill after a replay."""
        return self._price if self._run is not None else None

    @property
    def completed_cycles(self) -> tuple[CompletedCycle, ...]:
        return tuple(self._cycles) if self._run is not None else ()

    @property
    def holdings(self) -> Holdings | None:
        """The bot's own quote and base (None before the first run)."""
        return self._holdings if self._run is not None else None

    def performance(self) -> dict[str, Any]:
        """API.md's performance fields, exact Decimals (GRID.md "Money")."""
        if self._run is None:
            return performance_report(Holdings(quote=ZERO), ZERO, ZERO, ZERO, 0, ZERO, ZERO)
        end = self._stopped_at_ns if self._stopped_at_ns is not None else (
            self.context.clock.now_ns()
        )
        with localcontext(MONEY_CONTEXT):
            days = Decimal(max(end - self._run.ts_event, 0)) / NANOS_PER_DAY
        return performance_report(
            self._holdings,
            self._run.investment,
            self._price,
            self._grid_profit,
            len(self._cycles),
            days,
            self._max_drawdown,
        )

