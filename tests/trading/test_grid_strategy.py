"""The grid strategy of GRID.md on a paper account: start, cycles, money, restarts, stops.

Expected fills and profits are computed here from GRID.md's formulas and the plan's levels
and quantities, never read back from the strategy. Most tests use the grid
100 / 125 / 150 / 175 / 200 with q = 1.000, 0.800, 0.666, 0.571 (A = 100, step 0.001,
maker fee 0.001, taker fee 0.002).
"""

from collections import Counter
from decimal import Decimal, localcontext

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from storage.codec import decode_message, encode_message
from tests.trading.paper_helpers import (
    ACCOUNT,
    BOT,
    Bot,
    client_ids,
    make_bot,
    market,
    walk,
    xrp_usdt,
)
from trading.clock import ManualClock
from trading.events import (
    BotStatusChanged,
    CancelOrder,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    SubmitOrder,
)
from trading.grid.geometry import GridParams
from trading.grid.profit import cycle_profit_fee_in_quote, cycle_profit_fee_in_received
from trading.market_data import TickerUpdated
from trading.markets import Market, Side
from trading.money import MONEY_CONTEXT, quantize_down
from trading.simulation import Simulation
from trading.strategies.base import StrategyContext
from trading.strategies.grid import RETRY_DELAY_NS, GridRunStarted, GridStrategy
from trading.venues.paper import PaperVenue

D = Decimal
BUY, SELL = Side.BUY, Side.SELL
LEVELS = (D(100), D(125), D(150), D(175), D(200))
QUANTITIES = (D("1.000"), D("0.800"), D("0.666"), D("0.571"))
PARAMS = GridParams(D(100), D(200), grid_count=4, order_amount=D(100))


def formula(on: Market, i: int, levels=LEVELS, quantities=QUANTITIES) -> Decimal:
    """GRID.md's profit of one cycle of interval i at the maker fee."""
    q, b, s, f = quantities[i], levels[i], levels[i + 1], on.maker_fee
    if on.fee_in_received_asset:
        return cycle_profit_fee_in_received(q, b, s, f, on.step_size)
    return cycle_profit_fee_in_quote(q, b, s, f)


def started(on: Market | None = None, price: str = "140", params: GridParams = PARAMS,
            **options) -> Bot:
    bot = make_bot(on or market(), params, **options)
    bot.feed(price)
    bot.sim.start(D(price))
    return bot


def submissions(events) -> list[tuple]:
    return [(e.side, e.order_type, e.price, e.quantity, e.grid_index)
            for e in events if isinstance(e, OrderSubmitted)]


def fills_by_interval(bot: Bot, events) -> list[tuple]:
    index = {e.client_order_id: e.grid_index for e in bot.sim.events if isinstance(e, OrderSubmitted)}
    return sorted(
        (index[e.client_order_id], e.side.value, e.price, e.quantity)
        for e in events if isinstance(e, OrderFilled)
    )


def resting(bot: Bot) -> list[tuple]:
    """(interval, side, price, quantity) of the venue's open orders, by interval."""
    return sorted((i, o.side.value, o.price, o.quantity)
                  for i, orders in bot.open_orders().items() for o in orders)


def assert_reconciles(bot: Bot) -> None:
    """One bot per account: what the account gained or lost is exactly the bot's money."""
    holdings = bot.strategy.holdings
    run = bot.strategy.run
    balances = bot.venue.balances()
    quote, base = bot.market.quote, bot.market.base
    with localcontext(MONEY_CONTEXT):
        assert balances[quote].total - bot.initial[quote] == holdings.quote - run.investment
        assert balances.get(base).total - bot.initial.get(base, D(0)) == holdings.base


def assert_one_order_per_interval(bot: Bot) -> None:
    by_interval = bot.open_orders()
    assert all(len(orders) == 1 for i, orders in by_interval.items() if i is not None)
    states = {s.index: s.client_order_id for s in bot.strategy.interval_states()}
    venue_ids = {i: orders[0].client_order_id for i, orders in by_interval.items()}
    assert {i: c for i, c in states.items() if c is not None} == venue_ids


# -- start ------------------------------------------------------------------------------------------


def test_begin_run_describes_the_whole_plan():
    bot = make_bot(market(), PARAMS)
    (run,) = bot.strategy.begin_run(D(140))
    assert isinstance(run, GridRunStarted)
    assert (run.bot_id, run.symbol, run.start_price, run.trigger_price) == (BOT, "X/Y", D(140), None)
    assert (run.spacing, run.order_amount, run.investment) == ("arithmetic", D(100), D(400))
    assert run.levels == LEVELS and run.quantities == QUANTITIES
    # intervals 2 and 3 start on base: q' = floor(q (1 - 0.001), 0.001), booked at q p_i
    assert run.start_base == (0, 0, D("0.665"), D("0.570"))
    assert run.start_cost == (0, 0, D("99.9"), D("99.925"))
    assert run.initial_base == D("1.235")
    # ceil(1.235 / 0.998, 0.001) = 1.238: 1.238 x 0.998 = 1.235524 >= 1.235 > 1.237 x 0.998
    assert run.initial_buy == D("1.238")
    assert decode_message(*encode_message(run)) == run


def test_start_buys_the_initial_position_once_then_places_n_orders():
    bot = make_bot(market(), PARAMS)
    bot.feed("140")
    events = bot.sim.start(D(140))
    assert submissions(events) == [
        (BUY, "market", None, D("1.238"), None),
        (BUY, "limit", D(100), D(1), 0),
        (BUY, "limit", D(125), D("0.8"), 1),
        (SELL, "limit", D(175), D("0.665"), 2),
        (SELL, "limit", D(200), D("0.570"), 3),
    ]
    # the sells come only after the entry filled
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("OrderFilled") < [i for i, e in enumerate(events)
                                         if isinstance(e, OrderSubmitted) and e.side is SELL][0]
    assert resting(bot) == [(0, "buy", D(100), D(1)), (1, "buy", D(125), D("0.8")),
                            (2, "sell", D(175), D("0.665")), (3, "sell", D(200), D("0.570"))]
    assert bot.strategy.decide() == []
    holdings = bot.strategy.holdings
    # 1.238 x 140 = 173.32 spent; 1.238 - 0.002476 fee = 1.235524 base
    assert (holdings.quote, holdings.base) == (D("226.68"), D("1.235524"))
    assert_reconciles(bot)


@pytest.mark.parametrize(
    "price,no_order_level,sides",
    [
        ("140", D(150), ["buy", "buy", "sell", "sell"]),  # nearer 150: interval 1 on quote
        ("136", D(125), ["buy", "sell", "sell", "sell"]),  # nearer 125: interval 1 on base
        ("90", D(100), ["sell"] * 4),
        ("210", D(200), ["buy"] * 4),
        ("100", D(100), ["sell"] * 4),
    ],
)
def test_the_level_nearest_the_start_price_carries_no_order(price, no_order_level, sides):
    bot = started(price=price)
    orders = resting(bot)
    assert [side for _, side, _, _ in orders] == sides
    assert len(orders) == 4
    assert no_order_level not in {p for _, _, p, _ in orders}
    assert sorted({p for _, _, p, _ in orders} | {no_order_level}) == list(LEVELS)


GRIDS = st.tuples(
    st.sampled_from([D("0.1"), D("0.001"), D("0.00001")]),  # step
    st.integers(0, 300).map(lambda n: D(n).scaleb(-5)),  # maker fee
    st.integers(0, 300).map(lambda n: D(n).scaleb(-5)),  # taker fee
    st.integers(5_000, 25_000).map(lambda n: D(n).scaleb(-2)),  # start price
)


@given(GRIDS)
def test_the_entry_buys_the_least_quantity_that_funds_every_base_interval(grid):
    step, maker, taker, price = grid
    on = market(step_size=step, maker_fee=maker, taker_fee=taker)
    params = GridParams(D(100), D(200), grid_count=5, order_amount=D(1000))
    (run,) = make_bot(on, params).strategy.begin_run(price)
    with localcontext(MONEY_CONTEXT):
        for i, base in enumerate(run.start_base):
            if base:
                q = run.quantities[i]
                assert base == quantize_down(q - q * maker, step)
                assert run.start_cost[i] == q * run.levels[i]
        assert run.initial_base == sum(run.start_base, D(0))
        assert run.initial_buy * (1 - taker) >= run.initial_base
        if run.initial_base:
            assert (run.initial_buy - step) * (1 - taker) < run.initial_base
        else:
            assert run.initial_buy == 0


def test_without_base_intervals_there_is_no_market_buy():
    bot = started(price="210")
    assert [e.order_type for e in bot.sim.events if isinstance(e, OrderSubmitted)] == ["limit"] * 4
    assert bot.strategy.run.initial_buy == 0


# -- cycles and money ------------------------------------------------------------------------------


@pytest.mark.parametrize("fee_in_base", [True, False])
@pytest.mark.parametrize("round_trips", [1, 3])
def test_a_path_crossing_the_grid_k_times(fee_in_base, round_trips):
    on = market(fee_in_received_asset=fee_in_base)
    bot = started(on)
    f = on.maker_fee
    for trip in range(round_trips):
        events = bot.sim.feed(next(walk([D(99)], "X/Y", bot.venue.last_price("X/Y"))))
        # down: the buys resting below fill at their level, as maker
        buys = [(0, "buy", D(100), D(1)), (1, "buy", D(125), D("0.8"))]
        if trip:
            buys += [(2, "buy", D(150), D("0.666")), (3, "buy", D(175), D("0.571"))]
        assert fills_by_interval(bot, events) == buys
        assert all(e.is_maker for e in events if isinstance(e, OrderFilled))
        events = bot.sim.feed(next(walk([D(201)], "X/Y", D(99))))
        with localcontext(MONEY_CONTEXT):
            sold = [quantize_down(q * (1 - f), on.step_size) if fee_in_base else q
                    for q in QUANTITIES]
        assert fills_by_interval(bot, events) == [
            (i, "sell", LEVELS[i + 1], sold[i]) for i in range(4)
        ]
        assert_reconciles(bot)
        assert_one_order_per_interval(bot)
    cycles = bot.strategy.completed_cycles
    assert len(cycles) == 4 * round_trips
    assert Counter(c.interval for c in cycles) == {i: round_trips for i in range(4)}
    for cycle in cycles:
        assert cycle.profit == formula(on, cycle.interval)
    performance = bot.strategy.performance()
    expected = round_trips * sum(formula(on, i) for i in range(4))
    assert performance["grid_profit"] == expected
    assert performance["completed_cycles"] == 4 * round_trips
    assert performance["buy_trades"] == 1 + 2 + 4 * (round_trips - 1)
    assert performance["sell_trades"] == 4 * round_trips


def test_first_cycle_profits_of_the_initial_intervals_match_the_formula_exactly():
    bot = started(price="160")  # intervals 2 (nearer 150) and 3 start on base
    bot.feed("201")
    cycles = {c.interval: c.profit for c in bot.strategy.completed_cycles}
    # q' s (1 - f) - q b: 0.665 x 175 x 0.999 - 0.666 x 150; 0.570 x 200 x 0.999 - 0.571 x 175
    assert cycles == {2: D("16.358625"), 3: D("13.961")}
    assert cycles == {i: formula(bot.market, i) for i in (2, 3)}


def test_first_cycle_with_fees_in_quote():
    on = market(fee_in_received_asset=False)
    bot = started(on, price="160")
    run = bot.strategy.run
    assert run.start_base == (0, 0, D("0.666"), D("0.571"))
    assert run.initial_buy == D("1.237")  # no base fee: exactly what the sells need
    bot.feed("201")
    cycles = {c.interval: c.profit for c in bot.strategy.completed_cycles}
    # q s (1 - f) - q b (1 + f): 0.666 x 175 x 0.999 - 0.666 x 150 x 1.001
    assert cycles == {2: D("16.43355"), 3: D("14.060875")}
    assert cycles == {i: formula(on, i) for i in (2, 3)}


def test_performance_in_exact_decimals():
    bot = started()
    bot.feed("99", "201")
    bot.clock.advance(2 * 86_400)
    p = bot.strategy.performance()
    # money by hand: entry 1.238 at 140 (fee 0.002476 base); buys 1 at 100, 0.8 at 125
    # (fees 0.001, 0.0008 base); sells 0.665@175, 0.570@200, 0.999@125, 0.799@150 (0.1% quote)
    quote = D(400) - D("173.32") - 100 - 100 + (
        D("116.375") + 114 + D("124.875") + D("119.85")) * D("0.999")
    base = D("1.238") - D("0.002476") + D("0.999") + D("0.7992") - D("0.665") - D("0.570") \
        - D("0.999") - D("0.799")
    assert (p["investment_amount"], p["current_value"]) == (D(400), quote + base * 201)
    assert p["total_profit"] == quote + base * 201 - 400
    assert p["grid_profit"] == D("16.358625") + D("13.961") + D("24.750125") + D("19.73015")
    assert p["floating_pnl"] == p["total_profit"] - p["grid_profit"]
    assert p["fees_paid"] == (D("0.002476") * 140 + D("0.001") * 100 + D("0.0008") * 125
                              + (D("116.375") + 114 + D("124.875") + D("119.85")) * D("0.001"))
    assert (p["total_trades"], p["buy_trades"], p["sell_trades"]) == (7, 3, 4)
    assert p["completed_cycles"] == 4
    assert p["avg_profit_per_cycle"] == p["grid_profit"] / 4
    assert p["running_days"] == 2
    assert p["profit_percent"] == p["total_profit"] / 4
    assert p["annualized_return"] == p["profit_percent"] * 365 / 2
    assert p["daily_avg_profit"] == p["total_profit"] / 2


def test_max_drawdown_is_the_largest_fall_from_a_peak_value_in_percent():
    bot = started()  # holds 226.68 quote and 1.235524 base; the peak starts at the investment
    bot.feed("130", "145", "135")
    # at 130: 400 - (226.68 + 1.235524 x 130) = 12.70188, 3.17547 %; the fall after the
    # 145 peak (1.235524 x 10 of 405.83098) is smaller
    assert bot.strategy.performance()["max_drawdown"] == D("3.17547")


def test_before_any_run_performance_is_zero_and_the_bot_is_stopped():
    bot = make_bot(market(), PARAMS)
    assert bot.strategy.stopped and bot.strategy.decide() == []
    performance = bot.strategy.performance()
    assert performance["investment_amount"] == 0 and performance["total_trades"] == 0


@pytest.mark.parametrize(
    "on,params,path",
    [
        (  # ETH/BTC: prices near 0.1, tick 0.000001
            Market("ETH/BTC", "ETH", "BTC", D("0.000001"), D("0.001"), min_notional=D("0.0001"),
                   maker_fee=D("0.001"), taker_fee=D("0.001")),
            GridParams(D("0.09"), D("0.1"), grid_count=10, order_amount=D("0.01")),
            ["0.095", "0.0895", "0.1005", "0.0895", "0.1005", "0.0942"],
        ),
        (
            xrp_usdt(),
            GridParams(D("1.02"), D("1.22"), grid_count=20, order_amount=D(20)),
            ["1.1893", "1.0100", "1.2300", "1.0100", "1.2300", "1.1555"],
        ),
    ],
    ids=["ETH-BTC", "XRP-USDT"],
)
def test_small_price_grids_keep_exact_cycles(on, params, path):
    bot = make_bot(on, params, {on.quote: D(10_000), on.base: D(0)})
    bot.feed(path[0])
    bot.sim.start(D(path[0]))
    plan = bot.strategy.plan
    assert len(resting(bot)) == plan.grid_count
    for price in path[1:]:
        bot.feed(price)
        assert_reconciles(bot)
        assert_one_order_per_interval(bot)
    cycles = bot.strategy.completed_cycles
    n = plan.grid_count
    # the first swing up completes every interval that bought on the way down or at start;
    # the second swing completes all of them again
    assert len(cycles) == 2 * n
    assert all(c.profit == formula(on, c.interval, plan.levels, plan.quantities) for c in cycles)
    assert bot.strategy.performance()["grid_profit"] == 2 * sum(
        formula(on, i, plan.levels, plan.quantities) for i in range(n))


PATH = st.lists(st.integers(9_000, 21_000).map(lambda n: D(n).scaleb(-2)), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(st.booleans(), st.integers(9_000, 21_000).map(lambda n: D(n).scaleb(-2)), PATH)
def test_random_paths_keep_every_invariant(fee_in_base, start, path):
    bot = make_bot(market(fee_in_received_asset=fee_in_base), PARAMS)
    bot.feed(start)
    bot.sim.start(start)
    assert len(resting(bot)) == 4
    for price in path:
        bot.feed(price)
        assert len(resting(bot)) == 4  # a counter-order follows every fill at once
        assert_one_order_per_interval(bot)
        assert_reconciles(bot)
        holdings = bot.strategy.holdings
        assert holdings.buy_trades + holdings.sell_trades == bot.venue.trade_count
    cycles = bot.strategy.completed_cycles
    event(f"cycles: {min(len(cycles), 4)}+")
    assert [(c.interval, c.profit) for c in cycles] == cycles_from_fills(bot.sim.events, bot.market)
    assert all(c.profit == formula(bot.market, c.interval) for c in cycles)
    assert bot.strategy.performance()["grid_profit"] == sum(
        (formula(bot.market, c.interval) for c in cycles), D(0))


# -- fills, refusals, foreign events ------------------------------------------------------------------


def driven(on: Market | None = None, price: str = "140", **options) -> GridStrategy:
    """A strategy with a run begun and its decisions applied as submitted, no venue."""
    on = on or market()
    clock = ManualClock(10**18)
    strategy = GridStrategy(StrategyContext(BOT, ACCOUNT, on.symbol, on, clock, client_ids()),
                            PARAMS, **options)
    for event in strategy.begin_run(D(price)):
        strategy.apply(event)
    return strategy


def as_submitted(command: SubmitOrder) -> OrderSubmitted:
    return OrderSubmitted(
        account_id=command.account_id, bot_id=command.bot_id,
        client_order_id=command.client_order_id, symbol=command.symbol, side=command.side,
        order_type=command.order_type, quantity=command.quantity, price=command.price,
        grid_index=command.grid_index)


def fill(command, quantity, trade_id, completed, price=None, fee="0") -> OrderFilled:
    return OrderFilled(
        account_id=ACCOUNT, bot_id=BOT, client_order_id=command.client_order_id,
        trade_id=trade_id, symbol=command.symbol, side=command.side,
        price=D(price) if price is not None else command.price, quantity=D(quantity),
        fee=D(fee), fee_currency="X", is_maker=True, order_completed=completed)


def test_decide_records_orders_in_flight_and_never_asks_twice():
    strategy = driven(price="210")
    commands = strategy.decide()
    assert [(c.side, c.price, c.grid_index) for c in commands] == [
        (BUY, D(100), 0), (BUY, D(125), 1), (BUY, D(150), 2), (BUY, D(175), 3)]
    assert len({c.client_order_id for c in commands}) == 4
    assert strategy.decide() == []


def test_a_partial_fill_waits_for_the_full_fill_and_trades_are_booked_once():
    strategy = driven(price="210")
    buy = strategy.decide()[0]
    strategy.apply(as_submitted(buy))
    strategy.apply(fill(buy, "0.4", "t1", False, fee="0.0004"))
    strategy.apply(fill(buy, "0.4", "t1", False, fee="0.0004"))  # the same trade again
    assert strategy.decide() == []
    assert strategy.holdings.base == D("0.3996")
    strategy.apply(fill(buy, "0.6", "t2", True, fee="0.0006"))
    (sell,) = strategy.decide()
    # net 0.999 base, on the step
    assert (sell.side, sell.price, sell.quantity, sell.grid_index) == (SELL, D(125), D("0.999"), 0)
    assert strategy.holdings.buy_trades == 2


def test_events_of_unknown_orders_and_other_bots_are_ignored():
    strategy = driven(price="210")
    before = strategy.performance()
    stranger = SubmitOrder(account_id=ACCOUNT, bot_id="other", client_order_id="x-1", symbol="X/Y",
                           side=BUY, order_type="limit", quantity=D(1), price=D(100), grid_index=0)
    strategy.apply(as_submitted(stranger))
    strategy.apply(fill(stranger, "1", "t9", True))
    strategy.apply(OrderCanceled(account_id=ACCOUNT, bot_id="other", client_order_id="x-1"))
    assert strategy.performance() == before
    assert len(strategy.decide()) == 4


def test_a_short_entry_funds_the_intervals_nearest_the_price_first_and_buys_the_rest():
    strategy = driven(price="140")
    entry, *buys = strategy.decide()
    for command in (entry, *buys):
        strategy.apply(as_submitted(command))
    # 0.6 base arrives, then the rest of the order is canceled: interval 2 needs 0.665
    strategy.apply(fill(entry, "0.6", "t1", False, price="140"))
    strategy.apply(OrderCanceled(account_id=ACCOUNT, bot_id=BOT, client_order_id=entry.client_order_id))
    assert strategy.decide() == []  # not interval 3 (0.570) before interval 2
    strategy.context.clock.advance(30)
    (again,) = strategy.decide()
    # 1.235 - 0.6 = 0.635 net: ceil(0.635 / 0.998, 0.001)
    assert (again.side, again.order_type, again.quantity) == (BUY, "market", D("0.637"))
    strategy.apply(as_submitted(again))
    strategy.apply(fill(again, "0.637", "t2", True, price="141", fee="0.001274"))
    assert [(c.side, c.price, c.quantity) for c in strategy.decide()] == [
        (SELL, D(175), D("0.665")), (SELL, D(200), D("0.570"))]


@pytest.mark.parametrize("refusal", ["rejected", "denied", "canceled"])
def test_a_refused_order_is_placed_again_only_after_the_retry_delay(refusal):
    strategy = driven(price="210")
    clock = strategy.context.clock
    first = strategy.decide()[1]
    ids = dict(account_id=ACCOUNT, bot_id=BOT, client_order_id=first.client_order_id)
    strategy.apply(as_submitted(first))
    strategy.apply({
        "rejected": OrderRejected(**ids, code="INSUFFICIENT_BALANCE", reason=""),
        "denied": OrderDenied(**ids, code="MAX_OPEN_ORDERS", reason=""),
        "canceled": OrderCanceled(**ids),
    }[refusal])
    assert strategy.decide() == []
    clock.set(clock.now_ns() + RETRY_DELAY_NS - 1)
    assert strategy.decide() == []
    clock.set(clock.now_ns() + 1)
    (again,) = strategy.decide()
    assert (again.side, again.price, again.quantity, again.grid_index) == (BUY, D(125), D("0.8"), 1)
    assert again.client_order_id != first.client_order_id


def test_a_refusing_venue_is_not_hammered():
    # 150 Y pays the buy at 100 and nothing else
    bot = make_bot(market(), PARAMS, {"Y": D(150), "X": D(0)})
    bot.feed("210")
    events = bot.sim.start(D(210))
    assert [e.code for e in events if isinstance(e, OrderRejected)] == ["INSUFFICIENT_BALANCE"] * 3
    submitted = len(submissions(bot.sim.events))
    bot.clock.advance(29)
    bot.feed("209")
    assert len(submissions(bot.sim.events)) == submitted
    bot.clock.advance(1)
    events = bot.sim.feed(next(walk([D(208)], "X/Y", D(209))))
    assert [g for *_, g in submissions(events)] == [1, 2, 3]


def test_a_rejected_entry_is_bought_again_after_the_delay():
    bot = make_bot(market(), PARAMS)
    bot.sim.start(D(140))  # the venue has seen no price yet
    assert [e.code for e in bot.sim.events if isinstance(e, OrderRejected)] == ["NO_PRICE"]
    assert len(resting(bot)) == 2  # the buys; the sells wait for the base
    bot.clock.advance(30)
    events = bot.sim.feed(next(walk([D(140)], "X/Y")))
    assert submissions(events)[0] == (BUY, "market", None, D("1.238"), None)
    assert len(resting(bot)) == 4


# -- restart -------------------------------------------------------------------------------------------


def restarted(bot: Bot, journal: list, venue: PaperVenue | None = None) -> Bot:
    """A fresh strategy rebuilt from `journal`, as after a crash, on `venue` or on a paper
    venue restored from the same journal."""
    submitted = sum(isinstance(e, OrderSubmitted) for e in journal)
    context = StrategyContext(BOT, ACCOUNT, "X/Y", bot.market, bot.clock, client_ids(submitted + 1))
    strategy = GridStrategy(context, PARAMS)
    for event in journal:
        strategy.apply(event)
    if venue is None:
        venue = PaperVenue(ACCOUNT, {"X/Y": bot.market}, bot.initial, bot.clock)
        venue.restore(journal)
    sim = Simulation(strategy, venue)
    sim.events = list(journal)
    return Bot(bot.market, bot.clock, strategy, venue, sim, bot.initial)


def money(performance: dict) -> dict:
    """Performance without max_drawdown, which follows the tickers one instance saw."""
    return {k: v for k, v in performance.items() if k != "max_drawdown"}


def deliver(bot: Bot, events) -> None:
    """Events that reach the bot outside a tick (reconciliation)."""
    for event in events:
        bot.sim.events.append(event)
        bot.strategy.apply(event)


def journal_open_ids(journal) -> list[str]:
    """Client order ids the journal holds open: submitted and not yet closed."""
    open_ids: dict[str, None] = {}
    for event in journal:
        if isinstance(event, OrderSubmitted):
            open_ids[event.client_order_id] = None
        elif isinstance(event, (OrderCanceled, OrderRejected, OrderDenied)) or (
                isinstance(event, OrderFilled) and event.order_completed):
            open_ids.pop(event.client_order_id, None)
    return list(open_ids)


def assert_sides_alternate(journal) -> None:
    """Per interval, fills go buy, sell, buy, ...: no filled order was ever placed again.
    An interval that started on base begins with its sell."""
    run = next(e for e in journal if isinstance(e, GridRunStarted))
    index = {e.client_order_id: e.grid_index for e in journal if isinstance(e, OrderSubmitted)}
    expected = {i: SELL if base > 0 else BUY for i, base in enumerate(run.start_base)}
    booked: set[str] = set()
    for event in journal:
        if isinstance(event, OrderFilled) and event.trade_id not in booked and (
                index[event.client_order_id] is not None):
            booked.add(event.trade_id)
            i = index[event.client_order_id]
            assert event.side is expected[i], f"interval {i} filled {event.side} twice"
            expected[i] = BUY if event.side is SELL else SELL


def cycles_from_fills(journal, on: Market) -> list[tuple[int, Decimal]]:
    """(interval, profit) of each completed cycle, from the journal's fills alone: a sell's
    net quote less the quote its interval's buy cost (GRID.md's booking of the initial
    position for intervals that started on base)."""
    run = next(e for e in journal if isinstance(e, GridRunStarted))
    index = {e.client_order_id: e.grid_index for e in journal if isinstance(e, OrderSubmitted)}
    cost = dict(enumerate(run.start_cost))
    cycles, booked = [], set()
    with localcontext(MONEY_CONTEXT):
        for event in journal:
            if not isinstance(event, OrderFilled) or event.trade_id in booked:
                continue
            booked.add(event.trade_id)
            i = index[event.client_order_id]
            quote_fee = event.fee if event.fee_currency == on.quote else 0
            if i is None:
                continue
            if event.side is BUY:
                cost[i] = event.quantity * event.price + quote_fee
            else:
                cycles.append((i, event.quantity * event.price - quote_fee - cost[i]))
    return cycles


def test_a_replayed_strategy_places_nothing_that_is_already_placed():
    bot = started()
    bot.feed("99", "201", "160")
    again = restarted(bot, bot.sim.events)
    assert again.strategy.decide() == []
    assert again.strategy.interval_states() == bot.strategy.interval_states()
    last_fill = [e for e in bot.sim.events if isinstance(e, OrderFilled)][-1]
    assert again.strategy.performance()["current_value"] == again.strategy.holdings.value(
        last_fill.price)
    # tickers are market data, not journaled: the replay values at its last fill until the
    # next ticker, and its drawdown starts over
    again.strategy.on_ticker(next(walk([D(160)], "X/Y")))
    assert money(again.strategy.performance()) == money(bot.strategy.performance())
    assert again.strategy.completed_cycles == bot.strategy.completed_cycles


def test_a_fill_while_down_is_booked_once_and_its_counter_order_placed():
    bot = started()
    journal = list(bot.sim.events)
    # while the bot is down the exchange fills the buys at 125 and 100
    missed = bot.venue.on_ticker(next(walk([D(99)], "X/Y", D(140))))
    assert [(e.price, e.side) for e in missed] == [(D(100), BUY), (D(125), BUY)]
    again = restarted(bot, journal, venue=bot.venue)
    deliver(again, missed + missed)  # reconciliation, and the same fills once more
    assert again.strategy.holdings.buy_trades == 3  # the entry and the two missed buys
    events = again.sim.feed(next(walk([D(99)], "X/Y", D(99))))
    assert submissions(events) == [
        (SELL, "limit", D(125), D("0.999"), 0), (SELL, "limit", D(150), D("0.799"), 1)]
    assert resting(again) == [(0, "sell", D(125), D("0.999")), (1, "sell", D(150), D("0.799")),
                              (2, "sell", D(175), D("0.665")), (3, "sell", D(200), D("0.570"))]
    assert again.strategy.decide() == []
    assert_reconciles(again)
    assert_sides_alternate(again.sim.events)


def test_after_a_crash_mid_submission_only_the_lost_order_is_placed_again():
    bot = started(price="210")
    journal = list(bot.sim.events)
    # the bot journaled its last buy going out and died before the venue took it
    lost = [e for e in journal if isinstance(e, OrderSubmitted)][-1]
    assert (lost.price, lost.grid_index) == (D(175), 3)
    cut = journal.index(lost) + 1
    again = restarted(bot, journal[:cut])
    assert again.strategy.decide() == []  # every interval has its order, one in flight
    rejected = again.venue.reconcile(journal_open_ids(journal[:cut]))
    assert [(e.client_order_id, e.code) for e in rejected] == [(lost.client_order_id, "NOT_FOUND")]
    deliver(again, rejected)
    again.clock.advance(30)
    events = again.sim.feed(next(walk([D(210)], "X/Y")))
    assert submissions(events) == [(BUY, "limit", D(175), D("0.571"), 3)]
    assert len(resting(again)) == 4


@settings(max_examples=60, deadline=None)
@given(st.integers(9_000, 21_000).map(lambda n: D(n).scaleb(-2)), PATH, PATH, st.data())
def test_a_crash_at_any_point_duplicates_no_order_and_loses_no_fill(start, before, after, data):
    bot = make_bot(market(), PARAMS)
    bot.feed(start)
    bot.sim.start(start)
    bot.feed(*before)
    journal = bot.sim.events
    first = next(i for i, e in enumerate(journal) if isinstance(e, GridRunStarted)) + 1
    cut = data.draw(st.integers(first, len(journal)), label="cut")
    again = restarted(bot, journal[:cut])
    deliver(again, again.venue.reconcile(journal_open_ids(journal[:cut])))
    again.clock.advance(30)
    for price in after:
        again.feed(price)
        assert len(resting(again)) == 4
        assert_one_order_per_interval(again)
        assert_reconciles(again)
        holdings = again.strategy.holdings
        assert holdings.buy_trades + holdings.sell_trades == again.venue.trade_count
    assert_sides_alternate(again.sim.events)
    event(f"cycles: {min(len(again.strategy.completed_cycles), 4)}+")
    # a crash can let the price run past orders placed late, which then fill as taker at
    # the market: each cycle is still exactly what its fills say
    assert [(c.interval, c.profit) for c in again.strategy.completed_cycles] == (
        cycles_from_fills(again.sim.events, bot.market))


# -- trigger ------------------------------------------------------------------------------------------


def test_a_trigger_below_waits_for_the_price_to_fall_to_it_and_lays_out_there():
    bot = started(price="140", trigger_price=D(120))
    assert submissions(bot.sim.events) == []
    bot.feed("130", "121")
    assert submissions(bot.sim.events) == []
    events = bot.sim.feed(next(walk([D(119)], "X/Y", D(121))))
    # laid out at 120: interval 0 is nearer its upper level 125 (no order there)
    assert submissions(events) == [
        (BUY, "market", None, D("2.039"), None),  # ceil((0.799 + 0.665 + 0.570) / 0.998)
        (BUY, "limit", D(100), D(1), 0),
        (SELL, "limit", D(150), D("0.799"), 1),
        (SELL, "limit", D(175), D("0.665"), 2),
        (SELL, "limit", D(200), D("0.570"), 3),
    ]


def test_a_trigger_above_waits_for_the_price_to_rise_to_it():
    bot = started(price="110", trigger_price=D(160))
    bot.feed("150", "159.99")
    assert submissions(bot.sim.events) == []
    # the range reached the trigger though the last price fell back below it
    bot.sim.feed(TickerUpdated(symbol="X/Y", last=D(155), low=D(155), high=D(160)))
    assert resting(bot) == [(0, "buy", D(100), D(1)), (1, "buy", D(125), D("0.8")),
                            (2, "sell", D(175), D("0.665")), (3, "sell", D(200), D("0.570"))]


def test_a_replayed_triggered_run_stays_triggered():
    bot = started(price="110", trigger_price=D(160))
    bot.feed("165")
    journal = bot.sim.events
    entry_fill = next(i for i, e in enumerate(journal) if isinstance(e, OrderFilled))
    context = StrategyContext(BOT, ACCOUNT, "X/Y", bot.market, bot.clock, client_ids(100))
    strategy = GridStrategy(context, PARAMS, trigger_price=D(160))
    for event in journal[:entry_fill + 1]:
        strategy.apply(event)
    # no ticker since the restart, and the price never crossed 160 again: the grid goes out
    assert [(c.side, c.price) for c in strategy.decide()] == [
        (BUY, D(100)), (BUY, D(125)), (SELL, D(175)), (SELL, D(200))]


def test_a_bot_stopped_before_its_trigger_places_nothing():
    bot = started(price="110", trigger_price=D(160))
    events = bot.sim.stop(cancel_orders=True, sell_base=True, reason="user")
    assert [e.status for e in events] == ["stopping", "stopped"]
    assert bot.strategy.stopped and submissions(bot.sim.events) == []


# -- outside the range, stop conditions -------------------------------------------------------------


def test_beyond_the_range_the_bot_keeps_running_on_one_side():
    bot = started()
    bot.feed("250")
    assert [s.holds_base for s in bot.strategy.interval_states()] == [False] * 4
    assert bot.strategy.stop_reason is None and not bot.strategy.stopped
    bot.feed("50")
    assert [s.holds_base for s in bot.strategy.interval_states()] == [True] * 4
    assert len(resting(bot)) == 4


@pytest.mark.parametrize(
    "options,path,reason",
    [
        (dict(stop_loss_price=D(95)), ["99", "95.01", "95"], "stop_loss"),
        (dict(take_profit_price=D(190)), ["150", "189.99", "190"], "take_profit"),
        (dict(stop_at_max=True), ["150", "199.99", "200"], "stop_at_max"),
    ],
)
def test_stop_conditions_stop_the_bot_when_the_price_reaches_them(options, path, reason):
    bot = started(**options)
    bot.feed(*path[:-1])
    assert bot.strategy.stop_reason is None and not bot.strategy.stopped
    bot.feed(path[-1])
    assert bot.strategy.stop_reason == reason
    assert bot.strategy.stopped and bot.venue.open_orders() == []
    statuses = [e.status for e in bot.sim.events if isinstance(e, BotStatusChanged)]
    assert statuses == ["running", "stopping", "stopped"]
    assert submissions(bot.sim.events)[-1][1] == "limit"  # no sale unless asked


def test_stop_loss_with_sell_base_on_stop_sells_everything_after_the_cancels():
    bot = started(stop_loss_price=D(95), sell_base_on_stop=True)
    bot.feed("99")
    base = bot.strategy.holdings.base
    assert base == D("3.033724")  # 1.235524 + 0.999 + 0.7992
    events = bot.sim.feed(next(walk([D(94)], "X/Y", D(99))))
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["BotStatusChanged"] + ["OrderCanceled"] * 4 + [
        "OrderSubmitted", "OrderAccepted", "OrderFilled", "BotStatusChanged"]
    sale = events[5]
    assert (sale.side, sale.order_type, sale.quantity, sale.grid_index) == (SELL, "market", D("3.033"), None)
    assert (events[7].price, events[7].is_maker) == (D(94), False)
    assert bot.strategy.holdings.base == D("0.000724")
    assert_reconciles(bot)
    p = bot.strategy.performance()
    assert p["current_value"] == bot.strategy.holdings.quote + D("0.000724") * 94
    assert p["floating_pnl"] == p["total_profit"] - p["grid_profit"]


@pytest.mark.parametrize("cancel_orders", [True, False])
def test_stop_on_request(cancel_orders):
    bot = started()
    bot.feed("99")
    events = bot.sim.stop(cancel_orders=cancel_orders, sell_base=True, reason="user")
    assert bot.strategy.stopped
    if cancel_orders:
        assert [type(e).__name__ for e in events].count("OrderCanceled") == 4
        assert submissions(events) == [(SELL, "market", None, D("3.033"), None)]
        assert bot.venue.open_orders() == []
    else:
        # the orders stay; the base they hold is not for sale, and the rest is below a step
        assert submissions(events) == []
        assert len(resting(bot)) == 4
    assert [e.status for e in events if isinstance(e, BotStatusChanged)] == ["stopping", "stopped"]


def test_the_sale_waits_until_every_cancel_has_answered():
    strategy = driven(price="140")
    entry, *buys = strategy.decide()
    for command in (entry, *buys):
        strategy.apply(as_submitted(command))
    strategy.apply(fill(entry, "1.238", "t1", True, price="140", fee="0.002476"))
    sells = strategy.decide()
    for command in sells:
        strategy.apply(as_submitted(command))
    orders = buys + sells
    cancels = strategy.stop(cancel_orders=True, sell_base=True, reason="user")
    assert all(isinstance(c, CancelOrder) for c in cancels)
    assert [c.client_order_id for c in cancels] == [o.client_order_id for o in orders]
    assert strategy.stop(cancel_orders=True, sell_base=True, reason="user") == []
    for order in orders[:3]:
        strategy.apply(OrderCanceled(account_id=ACCOUNT, bot_id=BOT, client_order_id=order.client_order_id))
        assert strategy.decide() == [] and not strategy.stopped
    # the last sell filled before its cancel arrived: the venue answers NOT_FOUND
    strategy.apply(fill(orders[3], "0.570", "t2", True, fee="0"))
    strategy.apply(OrderRejected(account_id=ACCOUNT, bot_id=BOT, client_order_id=orders[3].client_order_id,
                                 code="NOT_FOUND", reason=""))
    (sale,) = strategy.decide()
    assert (sale.side, sale.order_type, sale.quantity) == (SELL, "market", D("0.665"))
    assert strategy.decide() == [] and not strategy.stopped
    strategy.apply(as_submitted(sale))
    strategy.apply(OrderAccepted(account_id=ACCOUNT, bot_id=BOT, client_order_id=sale.client_order_id,
                                 exchange_order_id="x"))
    assert not strategy.stopped
    strategy.apply(fill(sale, "0.665", "t3", True, price="139"))
    assert strategy.stopped and strategy.decide() == []
    assert [c.interval for c in strategy.completed_cycles] == [3]


def test_a_replayed_stopping_run_cancels_only_what_is_still_open():
    bot = started()
    bot.sim.stop(cancel_orders=True, sell_base=False, reason="user")
    journal = bot.sim.events
    second_cancel = [i for i, e in enumerate(journal) if isinstance(e, OrderCanceled)][1]
    again = restarted(bot, journal[:second_cancel + 1])
    assert not again.strategy.stopped
    # the bot resumes its stop: only the two orders still open are canceled
    still_open = [e for e in journal[second_cancel + 1:] if isinstance(e, OrderCanceled)]
    cancels = again.strategy.stop(cancel_orders=True, sell_base=False, reason="user")
    assert [c.client_order_id for c in cancels] == [e.client_order_id for e in still_open]
    again.clock.advance(30)
    assert again.strategy.decide() == []  # stopping: nothing is placed again
    deliver(again, still_open)
    assert again.strategy.stopped


def test_a_stop_cut_short_by_a_crash_is_finished_by_calling_stop_again():
    bot = started()
    bot.feed("99")
    bot.sim.stop(cancel_orders=True, sell_base=True, reason="user")
    journal = bot.sim.events
    sale = next(i for i, e in enumerate(journal) if isinstance(e, OrderSubmitted)
                and e.order_type == "market" and e.side is SELL)
    again = restarted(bot, journal[:sale + 1])
    assert not again.strategy.stopped
    # every order is canceled and the sale is out: stop() sends nothing more, no second sale
    assert again.strategy.stop(cancel_orders=True, sell_base=True, reason="user") == []
    assert not again.strategy.stopped  # the sale has not answered yet
    deliver(again, journal[sale + 1:])
    assert again.strategy.stopped
    assert again.strategy.decide() == []


def test_a_replayed_stopped_run_stays_stopped_and_a_restart_is_a_new_run():
    bot = started()
    bot.feed("99", "201")
    bot.sim.stop(cancel_orders=True, sell_base=True, reason="user")
    again = restarted(bot, bot.sim.events)
    assert again.strategy.stopped and again.strategy.decide() == []
    # the grid had sold all but 0.000724 base: no sale; both value that at the next ticker
    assert submissions(bot.sim.events)[-1][1] == "limit"
    for strategy in (bot.strategy, again.strategy):
        strategy.on_ticker(next(walk([D(300)], "X/Y")))
    assert money(again.strategy.performance()) == money(bot.strategy.performance())
    assert again.strategy.performance()["current_value"] == D("501.3049") + D("0.000724") * 300
    bot.feed("160")
    events = bot.sim.start(D(160))
    assert len(resting(bot)) == 4
    assert bot.strategy.completed_cycles == ()
    assert bot.strategy.performance()["total_trades"] == 1  # the new run's entry
    assert submissions(events)[0][1] == "market"
