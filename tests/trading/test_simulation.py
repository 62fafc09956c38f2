"""The synchronous driver over real candles: the XRP/USDT 5-minute set of the examples.

Each candle is walked along its path (open, nearer extreme, other extreme, close); every
ticker spans the segment from the previous price, as a conflating feed would report it.
"""

from decimal import Decimal, localcontext

import pytest

from tests.trading.paper_helpers import (
    ACCOUNT,
    BOT,
    Bot,
    candles,
    client_ids,
    make_bot,
    walk,
    xrp_usdt,
)
from trading.clock import ManualClock
from trading.events import BotStatusChanged, OrderFilled, OrderSubmitted
from trading.grid.geometry import GridParams
from trading.grid.profit import cycle_profit_fee_in_received
from trading.market_data import Candle
from trading.markets import Side
from trading.money import MONEY_CONTEXT
from trading.strategies.base import StrategyContext
from trading.strategies.grid import GridRunStarted, GridStrategy
from trading.venues.paper import PaperVenue

D = Decimal
INITIAL = {"USDT": D(10_000), "XRP": D(0)}


def run_xrp() -> tuple[Bot, list[Candle]]:
    """The grid 1.02..1.22, 20 intervals, 20 USDT each, over every candle of the set."""
    on = xrp_usdt()
    bot = make_bot(on, GridParams(D("1.02"), D("1.22"), grid_count=20, order_amount=D(20)),
                   dict(INITIAL), clock=ManualClock())
    series = candles("XRP-USDT_5m.csv")
    previous = None
    for candle in series:
        bot.clock.set(candle.open_time_ms * 1_000_000)
        for update in walk(candle.path(), on.symbol, previous):
            bot.sim.feed(update)
            if previous is None:
                bot.sim.start(update.last)
            previous = update.last
    return bot, series


@pytest.fixture(scope="module")
def xrp_run() -> tuple[Bot, list[Candle]]:
    """One run shared by the tests that only read it."""
    return run_xrp()


def test_the_grid_trades_the_real_candles(xrp_run):
    bot, series = xrp_run
    performance = bot.strategy.performance()
    assert performance["completed_cycles"] > 0
    # more than a few round trips over a week of a market that spans the grid
    assert performance["completed_cycles"] == len(bot.strategy.completed_cycles) > 20
    assert len(bot.venue.open_orders()) == 20
    assert performance["running_days"] == D(series[-1].open_time_ms - series[0].open_time_ms) / 86_400_000


def test_grid_profit_is_the_sum_of_the_per_cycle_formula(xrp_run):
    bot, _ = xrp_run
    run = next(e for e in bot.sim.events if isinstance(e, GridRunStarted))
    on = bot.market
    fills = [e for e in bot.sim.events if isinstance(e, OrderFilled)]
    assert all(f.is_maker for f in fills[1:])  # only the entry took liquidity
    expected = sum(
        (cycle_profit_fee_in_received(run.quantities[c.interval], run.levels[c.interval],
                                      run.levels[c.interval + 1], on.maker_fee, on.step_size)
         for c in bot.strategy.completed_cycles),
        D(0),
    )
    assert bot.strategy.performance()["grid_profit"] == expected
    # each cycle closed with a sell at its interval's upper level
    sells = {e.client_order_id: e for e in bot.sim.events if isinstance(e, OrderSubmitted)}
    for cycle in bot.strategy.completed_cycles:
        sell = sells[cycle.client_order_id]
        assert (sell.side, sell.price, sell.grid_index) == (
            Side.SELL, run.levels[cycle.interval + 1], cycle.interval)


def test_balances_are_conserved(xrp_run):
    bot, _ = xrp_run
    ledger = dict(INITIAL)
    with localcontext(MONEY_CONTEXT):
        for fill in (e for e in bot.sim.events if isinstance(e, OrderFilled)):
            sign = 1 if fill.side is Side.BUY else -1
            ledger["XRP"] += sign * fill.quantity
            ledger["USDT"] -= sign * fill.quantity * fill.price
            ledger[fill.fee_currency] -= fill.fee
    balances = bot.venue.balances()
    assert {asset: b.total for asset, b in balances.items()} == ledger
    holdings = bot.strategy.holdings
    assert balances["USDT"].total - INITIAL["USDT"] == holdings.quote - D(400)
    assert balances["XRP"].total == holdings.base
    locked = sum((o.price * o.quantity for o in bot.venue.open_orders() if o.side is Side.BUY), D(0))
    assert balances["USDT"].locked == locked
    performance = bot.strategy.performance()
    assert performance["floating_pnl"] == performance["total_profit"] - performance["grid_profit"]


def test_the_recorded_journal_rebuilds_venue_and_strategy(xrp_run):
    bot, _ = xrp_run
    venue = PaperVenue(ACCOUNT, {bot.market.symbol: bot.market}, INITIAL, bot.clock)
    venue.restore(bot.sim.events)
    assert venue.balances() == bot.venue.balances()
    assert venue.open_orders() == bot.venue.open_orders()
    context = StrategyContext(BOT, ACCOUNT, bot.market.symbol, bot.market, bot.clock,
                              client_ids(10**5))
    strategy = GridStrategy(context, bot.strategy.params)
    for event in bot.sim.events:
        strategy.apply(event)
    assert strategy.decide() == []
    assert strategy.interval_states() == bot.strategy.interval_states()
    assert strategy.completed_cycles == bot.strategy.completed_cycles
    strategy.on_ticker(next(walk([bot.venue.last_price(bot.market.symbol)], bot.market.symbol)))
    replayed, live = strategy.performance(), bot.strategy.performance()
    del replayed["max_drawdown"], live["max_drawdown"]  # follows the tickers an instance saw
    assert replayed == live


def test_a_stop_after_the_candles_sells_the_base_and_books_the_final_position():
    bot, _ = run_xrp()
    held = bot.strategy.holdings.base
    events = bot.sim.stop(cancel_orders=True, sell_base=True, reason="end of data")
    assert bot.strategy.stopped and bot.venue.open_orders() == []
    assert [e.status for e in events if isinstance(e, BotStatusChanged)] == ["stopping", "stopped"]
    sale = [e for e in events if isinstance(e, OrderSubmitted)]
    assert [(o.side, o.order_type, o.quantity) for o in sale] == [
        (Side.SELL, "market", bot.market.amount_to_step(held))]
    assert bot.strategy.holdings.base < bot.market.step_size
    performance = bot.strategy.performance()
    assert performance["current_value"] == bot.strategy.holdings.value(
        bot.venue.last_price(bot.market.symbol))
