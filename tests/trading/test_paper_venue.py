"""The paper venue: rules, locks, matching, fees, restore and conservation.

The property tests keep their own ledger of what every fill must have done to the
account (written here, not taken from the venue), and restore a fresh venue from the
events the live one emitted.
"""

from decimal import Decimal, localcontext

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.trading.paper_helpers import ACCOUNT, BOT, market, submitted, ticker
from trading.clock import ManualClock
from trading.events import (
    CancelOrder,
    OrderFilled,
    OrderSubmitted,
)
from trading.markets import Market, Side
from trading.money import MONEY_CONTEXT
from trading.venues.base import Balance
from trading.venues.paper import PaperOrder, PaperVenue

D = Decimal
BUY, SELL = Side.BUY, Side.SELL
RULES = dict(min_amount=D("0.01"), min_notional=D(1))


def venue(on: Market | None = None, **balances: str) -> PaperVenue:
    on = on or market(**RULES)
    initial = {asset: D(amount) for asset, amount in (balances or {"X": "10", "Y": "1000"}).items()}
    return PaperVenue(ACCOUNT, {on.symbol: on}, initial, ManualClock(5))


def cancel(client_order_id: str) -> CancelOrder:
    return CancelOrder(account_id=ACCOUNT, bot_id=BOT, client_order_id=client_order_id, symbol="X/Y")


def kinds(events) -> list[str]:
    return [type(e).__name__ for e in events]


# -- rejections ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "order,code",
    [
        (submitted("c1", BUY, "1", "10.005"), "PRICE_NOT_ON_TICK"),
        (submitted("c1", BUY, "1.0005", "10"), "AMOUNT_NOT_ON_STEP"),
        (submitted("c1", BUY, "0.005", "300"), "BELOW_MIN_AMOUNT"),
        (submitted("c1", BUY, "0.05", "10"), "BELOW_MIN_NOTIONAL"),
        (submitted("c1", BUY, "1", "0"), "NON_POSITIVE"),
        (submitted("c1", BUY, "10.001", "100"), "INSUFFICIENT_BALANCE"),
        (submitted("c1", SELL, "10.001", "100"), "INSUFFICIENT_BALANCE"),
        (submitted("c1", BUY, "1", "10", symbol="Z/Y"), "UNKNOWN_SYMBOL"),
        (submitted("c1", BUY, "1"), "NO_PRICE"),
        (submitted("c1", SELL, "1"), "NO_PRICE"),
    ],
)
def test_refused_orders_change_nothing(order, code):
    paper = venue()
    before = paper.balances()
    events = paper.submit(order)
    assert kinds(events) == ["OrderRejected"]
    assert (events[0].code, events[0].client_order_id, events[0].bot_id) == (code, "c1", BOT)
    assert paper.balances() == before
    assert paper.open_orders() == []
    assert paper.trade_count == 0


def test_market_orders_are_checked_against_the_rules_and_the_balance():
    paper = venue()
    paper.on_ticker(ticker("100"))
    assert paper.submit(submitted("c1", BUY, "0.005"))[0].code == "BELOW_MIN_AMOUNT"
    assert paper.submit(submitted("c2", BUY, "0.0105"))[0].code == "AMOUNT_NOT_ON_STEP"
    # 10 x 100 = 1000 Y is all there is: the buy fits exactly, one step more does not
    assert paper.submit(submitted("c3", BUY, "10.001"))[0].code == "INSUFFICIENT_BALANCE"
    assert paper.submit(submitted("c4", SELL, "10.001"))[0].code == "INSUFFICIENT_BALANCE"
    assert kinds(paper.submit(submitted("c5", BUY, "10"))) == ["OrderAccepted", "OrderFilled"]


def test_a_market_buy_with_fees_in_quote_needs_the_fee_too():
    paper = venue(market(fee_in_received_asset=False), Y="1000")
    paper.on_ticker(ticker("100"))
    # 9.99 x 100 x 1.002 = 1000.998 > 1000; 9.98 x 100 x 1.002 = 999.996
    assert paper.submit(submitted("c1", BUY, "9.99"))[0].code == "INSUFFICIENT_BALANCE"
    assert kinds(paper.submit(submitted("c2", BUY, "9.98"))) == ["OrderAccepted", "OrderFilled"]
    assert paper.balances()["Y"] == Balance(D("0.004000"), D(0))


def test_a_duplicate_client_order_id_is_refused_and_the_resting_order_stays():
    paper = venue()
    first, duplicate = submitted("c1", BUY, "1", "90"), submitted("c1", BUY, "2", "80")
    journal = [first, *paper.submit(first), duplicate]
    events = paper.submit(duplicate)
    journal += events
    assert events[0].code == "DUPLICATE_CLIENT_ORDER_ID"
    assert [(o.price, o.quantity) for o in paper.open_orders()] == [(D(90), D(1))]
    assert paper.balances()["Y"] == Balance(D(910), D(90))
    restored = venue()
    restored.restore(journal)
    assert restored.open_orders() == paper.open_orders()
    assert restored.balances() == paper.balances()


def test_an_order_of_another_account_is_a_programming_error():
    paper = venue()
    order = OrderSubmitted(account_id="other", bot_id=None, client_order_id="c1", symbol="X/Y",
                           side=BUY, order_type="limit", quantity=D(1), price=D(90))
    with pytest.raises(ValueError):
        paper.submit(order)


# -- locks ----------------------------------------------------------------------------------


def test_a_limit_buy_locks_its_quote_and_a_cancel_unlocks_it():
    paper = venue()
    events = paper.submit(submitted("c1", BUY, "2", "99.5"))
    assert kinds(events) == ["OrderAccepted"]
    assert events[0].exchange_order_id == "paper-1"
    assert paper.balances() == {"X": Balance(D(10), D(0)), "Y": Balance(D("801.0"), D("199.0"))}
    assert paper.open_orders() == [
        PaperOrder("c1", "paper-1", BOT, "X/Y", BUY, D("99.5"), D(2), "Y", D("199.0"))
    ]
    events = paper.cancel(cancel("c1"))
    assert kinds(events) == ["OrderCanceled"]
    assert paper.balances() == {"X": Balance(D(10), D(0)), "Y": Balance(D(1000), D(0))}
    assert paper.open_orders() == []


def test_with_fees_in_quote_a_buy_locks_the_fee_at_the_larger_rate():
    paper = venue(market(fee_in_received_asset=False))
    paper.submit(submitted("c1", BUY, "2", "100"))
    # 200 x (1 + 0.002): the order may fill at once as taker
    assert paper.balances()["Y"] == Balance(D("799.600"), D("200.400"))


def test_a_limit_sell_locks_its_base():
    paper = venue()
    paper.submit(submitted("c1", SELL, "2.5", "120"))
    assert paper.balances()["X"] == Balance(D("7.5"), D("2.5"))
    # the locked base cannot be sold twice
    assert paper.submit(submitted("c2", SELL, "7.501", "120"))[0].code == "INSUFFICIENT_BALANCE"


def test_cancel_of_an_unknown_or_filled_order_is_not_found():
    paper = venue()
    events = paper.cancel(cancel("nope"))
    assert kinds(events) == ["OrderRejected"] and events[0].code == "NOT_FOUND"
    paper.submit(submitted("c1", BUY, "1", "99"))
    paper.on_ticker(ticker("99"))
    events = paper.cancel(cancel("c1"))
    assert events[0].code == "NOT_FOUND"


# -- matching and fees --------------------------------------------------------------------------


def test_a_resting_buy_fills_at_its_price_when_the_low_reaches_it():
    paper = venue()
    paper.on_ticker(ticker("101"))
    paper.submit(submitted("c1", BUY, "2", "100"))
    assert paper.on_ticker(ticker("101", low="100.01", high="102")) == []
    # the last price never went below 100.5, but the range did reach 100
    (fill,) = paper.on_ticker(ticker("100.5", low="100", high="101"))
    assert isinstance(fill, OrderFilled)
    assert (fill.price, fill.quantity, fill.is_maker, fill.order_completed) == (D(100), D(2), True, True)
    assert (fill.fee, fill.fee_currency, fill.trade_id) == (D("0.002"), "X", "acc-1")
    assert paper.balances() == {"X": Balance(D("11.998"), D(0)), "Y": Balance(D(800), D(0))}
    assert paper.open_orders() == []


def test_a_resting_sell_fills_at_its_price_when_the_high_reaches_it():
    paper = venue()
    paper.on_ticker(ticker("100"))
    paper.submit(submitted("c1", SELL, "2", "105"))
    assert paper.on_ticker(ticker("104", high="104.99")) == []
    (fill,) = paper.on_ticker(ticker("103", low="102", high="105"))
    # a sell pays its fee in the quote it receives: 210 x 0.001
    assert (fill.price, fill.fee, fill.fee_currency, fill.is_maker) == (D(105), D("0.210"), "Y", True)
    assert paper.balances() == {"X": Balance(D(8), D(0)), "Y": Balance(D("1209.790"), D(0))}


def test_fees_in_quote_on_both_sides():
    paper = venue(market(fee_in_received_asset=False))
    paper.on_ticker(ticker("101"))
    paper.submit(submitted("c1", BUY, "2", "100"))
    (fill,) = paper.on_ticker(ticker("100"))
    assert (fill.fee, fill.fee_currency) == (D("0.200"), "Y")
    assert paper.balances() == {"X": Balance(D(12), D(0)), "Y": Balance(D("799.800"), D(0))}
    paper.submit(submitted("c2", SELL, "2", "110"))
    (fill,) = paper.on_ticker(ticker("110"))
    assert (fill.fee, fill.fee_currency) == (D("0.220"), "Y")
    assert paper.balances() == {"X": Balance(D(10), D(0)), "Y": Balance(D("1019.580"), D(0))}


def test_a_crossing_limit_order_fills_at_once_as_taker_at_the_last_price():
    paper = venue()
    paper.on_ticker(ticker("98"))
    events = paper.submit(submitted("c1", BUY, "1", "100"))
    assert kinds(events) == ["OrderAccepted", "OrderFilled"]
    fill = events[1]
    assert (fill.price, fill.is_maker, fill.fee, fill.fee_currency) == (D(98), False, D("0.002"), "X")
    events = paper.submit(submitted("c2", SELL, "1", "97"))
    fill = events[1]
    assert (fill.price, fill.is_maker, fill.fee) == (D(98), False, D("0.196"))
    assert paper.balances() == {"X": Balance(D("9.998"), D(0)), "Y": Balance(D("999.804"), D(0))}
    assert paper.open_orders() == []


def test_an_order_at_the_last_price_crosses():
    paper = venue()
    paper.on_ticker(ticker("100"))
    assert kinds(paper.submit(submitted("c1", BUY, "1", "100"))) == ["OrderAccepted", "OrderFilled"]
    assert kinds(paper.submit(submitted("c2", SELL, "1", "100"))) == ["OrderAccepted", "OrderFilled"]
    assert kinds(paper.submit(submitted("c3", SELL, "1", "100.01"))) == ["OrderAccepted"]


def test_market_orders_fill_at_the_last_price_as_taker():
    paper = venue()
    paper.on_ticker(ticker("100", low="90", high="110"))
    buy = paper.submit(submitted("c1", BUY, "3"))[1]
    assert (buy.price, buy.quantity, buy.fee, buy.fee_currency, buy.is_maker) == (
        D(100), D(3), D("0.006"), "X", False)
    sell = paper.submit(submitted("c2", SELL, "2"))[1]
    assert (sell.price, sell.fee, sell.fee_currency) == (D(100), D("0.400"), "Y")
    assert paper.balances() == {"X": Balance(D("10.994"), D(0)), "Y": Balance(D("899.600"), D(0))}
    assert [buy.trade_id, sell.trade_id] == ["acc-1", "acc-2"]


def test_tickers_of_another_symbol_do_not_match():
    two = {"X/Y": market(), "Z/Y": market("Z/Y")}
    paper = PaperVenue(ACCOUNT, two, {"Y": D(1000)}, ManualClock())
    paper.submit(submitted("c1", BUY, "1", "100"))
    assert paper.on_ticker(ticker("50", symbol="Z/Y")) == []
    assert paper.last_price("Z/Y") == D(50) and paper.last_price("X/Y") is None
    assert len(paper.on_ticker(ticker("99"))) == 1


def test_events_carry_the_venue_clock():
    clock = ManualClock(42)
    paper = PaperVenue(ACCOUNT, {"X/Y": market()}, {"Y": D(1000)}, clock)
    (accepted,) = paper.submit(submitted("c1", BUY, "1", "100"))
    clock.set(77)
    (fill,) = paper.on_ticker(ticker("100"))
    assert (accepted.ts_event, fill.ts_event) == (42, 77)


# -- restore and reconcile ------------------------------------------------------------------------


def test_reconcile_reports_orders_the_venue_never_accepted():
    paper = venue()
    lost = submitted("c2", BUY, "1", "95")
    journal = [submitted("c1", BUY, "1", "90"), *paper.submit(submitted("c1", BUY, "1", "90")), lost]
    restored = venue()
    restored.restore(journal)
    events = restored.reconcile(["c1", "c2"])
    assert kinds(events) == ["OrderRejected"]
    assert (events[0].client_order_id, events[0].code, events[0].bot_id) == ("c2", "NOT_FOUND", BOT)
    assert restored.open_orders() == paper.open_orders()
    assert restored.reconcile(["c1"]) == []


def test_a_market_order_whose_fill_never_reached_the_journal_is_not_found():
    paper = venue()
    paper.on_ticker(ticker("100"))
    order = submitted("c1", BUY, "1")
    accepted, _fill = paper.submit(order)
    restored = venue()
    restored.restore([order, accepted])
    assert restored.balances() == venue().balances()
    assert [e.code for e in restored.reconcile(["c1"])] == ["NOT_FOUND"]


def test_restore_continues_the_id_counters():
    paper = venue()
    paper.on_ticker(ticker("100"))
    journal = []
    for i, side in enumerate([BUY, SELL, BUY]):
        order = submitted(f"c{i}", side, "1")
        journal += [order, *paper.submit(order)]
    restored = venue()
    restored.restore(journal)
    restored.on_ticker(ticker("100"))
    accepted, fill = restored.submit(submitted("c9", SELL, "1"))
    assert (accepted.exchange_order_id, fill.trade_id) == ("paper-4", "acc-4")


# -- properties ------------------------------------------------------------------------------------

PRICES = st.integers(9_000, 11_000).map(lambda n: D(n).scaleb(-2))
AMOUNTS = st.integers(1, 4_000).map(lambda n: D(n).scaleb(-3))
OPERATIONS = st.one_of(
    st.tuples(st.just("limit"), st.sampled_from(["X/Y", "Z/Y"]), st.sampled_from([BUY, SELL]),
              PRICES, AMOUNTS),
    st.tuples(st.just("market"), st.sampled_from(["X/Y", "Z/Y"]), st.sampled_from([BUY, SELL]),
              AMOUNTS),
    st.tuples(st.just("cancel"), st.integers(0, 50)),
    st.tuples(st.just("tick"), st.sampled_from(["X/Y", "Z/Y"]), PRICES,
              st.integers(0, 300), st.integers(0, 300)),
)


def expected_fee(on: Market, fill: OrderFilled) -> tuple[Decimal, str]:
    rate = on.maker_fee if fill.is_maker else on.taker_fee
    with localcontext(MONEY_CONTEXT):
        if fill.side is BUY and on.fee_in_received_asset:
            return fill.quantity * rate, on.base
        return fill.quantity * fill.price * rate, on.quote


@settings(max_examples=150, deadline=None)
@given(st.booleans(), st.lists(OPERATIONS, max_size=60))
def test_flows_conserve_money_and_restore_exactly(fee_in_base, operations):
    markets = {
        s: market(s, min_notional=D(1), fee_in_received_asset=fee_in_base,
                  maker_fee=D("0.00075"), taker_fee=D("0.001"))
        for s in ("X/Y", "Z/Y")
    }
    initial = {"X": D(40), "Z": D(10), "Y": D(8000)}
    paper = PaperVenue(ACCOUNT, markets, initial, ManualClock())
    journal: list = []
    ledger = dict(initial)
    submitted_orders: dict[str, OrderSubmitted] = {}
    last: dict[str, Decimal] = {}
    for n, operation in enumerate(operations):
        if operation[0] == "tick":
            _, symbol, price, down, up = operation
            update = ticker(price, price - D(down).scaleb(-2), price + D(up).scaleb(-2), symbol)
            resting = {o.client_order_id: o for o in paper.open_orders(symbol)}
            events = paper.on_ticker(update)
            last[symbol] = price
            for fill in events:
                order = resting[fill.client_order_id]
                assert fill.is_maker and fill.price == order.price
                assert (update.low <= order.price) if order.side is BUY else (update.high >= order.price)
            assert not any(
                (o.side is BUY and update.low <= o.price) or (o.side is SELL and update.high >= o.price)
                for o in paper.open_orders(symbol)
            )
        elif operation[0] == "cancel":
            open_ids = [o.client_order_id for o in paper.open_orders()] + ["gone"]
            events = paper.cancel(cancel(open_ids[operation[1] % len(open_ids)]))
        else:
            symbol, side = operation[1], operation[2]
            order = submitted(f"c{n}", side, operation[-1],
                              operation[3] if operation[0] == "limit" else None, symbol)
            submitted_orders[order.client_order_id] = order
            journal.append(order)
            events = paper.submit(order)
            for fill in events[1:]:
                assert not fill.is_maker and fill.price == last[symbol]
                if order.price is not None:
                    assert fill.price <= order.price if side is BUY else fill.price >= order.price
        journal.extend(events)
        for fill in (e for e in events if isinstance(e, OrderFilled)):
            on = markets[fill.symbol]
            assert (fill.fee, fill.fee_currency) == expected_fee(on, fill)
            assert fill.quantity == submitted_orders[fill.client_order_id].quantity
            with localcontext(MONEY_CONTEXT):
                sign = 1 if fill.side is BUY else -1
                ledger[on.base] += sign * fill.quantity
                ledger[on.quote] -= sign * fill.quantity * fill.price
                ledger[fill.fee_currency] -= fill.fee
        balances = paper.balances()
        for asset, amount in ledger.items():
            assert balances[asset].total == amount
            assert balances[asset].free >= 0
        for asset in ledger:
            assert balances[asset].locked == sum(
                (o.locked_amount for o in paper.open_orders() if o.locked_asset == asset), D(0)
            )

    event(f"fills: {min(paper.trade_count, 3)}+, resting: {min(len(paper.open_orders()), 3)}+")
    restored = PaperVenue(ACCOUNT, markets, initial, ManualClock())
    restored.restore(journal)
    assert restored.balances() == paper.balances()
    assert restored.open_orders() == paper.open_orders()
    assert restored.trade_count == paper.trade_count
    assert restored.reconcile([o.client_order_id for o in paper.open_orders()]) == []
    # restoring starts over: the live venue restored from its own journal is unchanged
    balances, orders = paper.balances(), paper.open_orders()
    paper.restore(journal)
    assert (paper.balances(), paper.open_orders()) == (balances, orders)
