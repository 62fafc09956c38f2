"""The order state machine table and one order's fill book."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.markets import Side
from trading.orders import (
    API_STATUS,
    TRANSITIONS,
    InvalidOrderTransition,
    OrderEventKind,
    OrderOverfill,
    OrderState,
    OrderStatus,
)

D = Decimal
S = OrderStatus
E = OrderEventKind
CLOSED = {S.DENIED, S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED}


def order(quantity: str = "1.0", status: OrderStatus = S.INITIALIZED) -> OrderState:
    return OrderState("td-7f3a-000001", Side.BUY, D("100"), D(quantity), status)


def run(state: OrderState, *events: OrderEventKind | tuple[str, str]) -> OrderStatus:
    """Apply events; a (trade_id, amount) pair is a fill at 100 with no fee."""
    for event in events:
        if isinstance(event, OrderEventKind):
            state.apply(event)
        else:
            state.apply_fill(event[0], D("100"), D(event[1]), D(0), "BTC")
    return state.status


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ((E.DENY,), S.DENIED),
        ((E.SUBMIT, E.REJECT), S.REJECTED),
        ((E.SUBMIT, E.ACCEPT), S.ACCEPTED),
        ((E.SUBMIT, E.ACCEPT, E.CANCEL_REQUEST, E.CANCEL), S.CANCELED),
        ((E.SUBMIT, E.ACCEPT, E.CANCEL), S.CANCELED),
        ((E.SUBMIT, E.ACCEPT, E.EXPIRE), S.EXPIRED),
        ((E.SUBMIT, E.ACCEPT, ("t1", "0.4")), S.PARTIALLY_FILLED),
        ((E.SUBMIT, E.ACCEPT, ("t1", "0.4"), ("t2", "0.6")), S.FILLED),
        ((E.SUBMIT, E.ACCEPT, ("t1", "1.0")), S.FILLED),
        # a fill that beats the acknowledgement, then the late acknowledgement
        ((E.SUBMIT, ("t1", "0.4")), S.PARTIALLY_FILLED),
        ((E.SUBMIT, ("t1", "0.4"), E.ACCEPT), S.PARTIALLY_FILLED),
        ((E.SUBMIT, ("t1", "1.0"), E.ACCEPT), S.FILLED),
        # REST response and WebSocket both report the same thing
        ((E.SUBMIT, E.ACCEPT, E.ACCEPT), S.ACCEPTED),
        ((E.SUBMIT, E.ACCEPT, E.CANCEL, E.CANCEL), S.CANCELED),
        ((E.SUBMIT, E.ACCEPT, E.CANCEL_REQUEST, E.CANCEL_REQUEST), S.PENDING_CANCEL),
        # cancel sent before the acknowledgement
        ((E.SUBMIT, E.CANCEL_REQUEST, E.ACCEPT, E.CANCEL), S.CANCELED),
        ((E.SUBMIT, E.CANCEL_REQUEST, E.REJECT), S.REJECTED),
        # fills while the cancel is in flight
        ((E.SUBMIT, E.ACCEPT, E.CANCEL_REQUEST, ("t1", "0.4")), S.PARTIALLY_FILLED),
        ((E.SUBMIT, E.ACCEPT, E.CANCEL_REQUEST, ("t1", "0.4"), E.CANCEL), S.CANCELED),
        ((E.SUBMIT, E.ACCEPT, E.CANCEL_REQUEST, ("t1", "1.0")), S.FILLED),
        ((E.SUBMIT, E.ACCEPT, ("t1", "0.4"), E.CANCEL_REQUEST, E.CANCEL), S.CANCELED),
        # fills that raced the cancel or the expiry, reported after it
        ((E.SUBMIT, E.ACCEPT, E.CANCEL_REQUEST, E.CANCEL, ("t1", "0.4")), S.CANCELED),
        ((E.SUBMIT, E.ACCEPT, E.CANCEL, ("t1", "0.4"), ("t2", "0.6")), S.FILLED),
        ((E.SUBMIT, E.ACCEPT, E.CANCEL, ("t1", "1.0")), S.FILLED),
        ((E.SUBMIT, E.ACCEPT, E.EXPIRE, ("t1", "0.4")), S.EXPIRED),
        ((E.SUBMIT, E.ACCEPT, E.EXPIRE, ("t1", "1.0")), S.FILLED),
    ],
)
def test_order_lifecycles(events, expected):
    assert run(order(), *events) is expected


def test_a_late_fill_after_cancel_is_booked():
    state = order()
    run(state, E.SUBMIT, E.ACCEPT, E.CANCEL_REQUEST, E.CANCEL)
    assert state.apply_fill("t9", D("99.5"), D("0.25"), D("0.00025"), "BTC") is True
    assert state.status is S.CANCELED
    assert API_STATUS[state.status] == "cancelled"
    assert state.filled_quantity == D("0.25")
    assert state.average_fill_price == D("99.5")
    assert state.fees == {"BTC": D("0.00025")}


def test_a_late_fill_after_a_lost_rejection_is_booked():
    """CcxtVenue rejects an order it cannot find within the grace window with code LOST,
    and books the fill if the order reached the exchange after all: the table agrees."""
    state = order()
    run(state, E.SUBMIT, E.REJECT)
    assert state.apply_fill("t9", D("100"), D("0.25"), D("0.025"), "USDT") is True
    assert state.status is S.REJECTED and state.filled_quantity == D("0.25")
    assert state.apply_fill("t9", D("100"), D("0.25"), D("0.025"), "USDT") is False
    assert state.apply_fill("t10", D("100"), D("0.75"), D("0.075"), "USDT") is True
    assert state.status is S.FILLED and state.fees == {"USDT": D("0.1")}


@pytest.mark.parametrize(
    ("events", "bad"),
    [
        ((), E.ACCEPT),
        ((), E.CANCEL),
        ((E.DENY,), E.SUBMIT),
        ((E.SUBMIT,), E.SUBMIT),
        ((E.SUBMIT, E.ACCEPT), E.REJECT),
        ((E.SUBMIT, E.ACCEPT, ("t1", "1.0")), E.CANCEL),
        ((E.SUBMIT, E.ACCEPT, ("t1", "1.0")), E.CANCEL_REQUEST),
        ((E.SUBMIT, E.ACCEPT, E.CANCEL), E.CANCEL_REQUEST),
        ((E.SUBMIT, E.ACCEPT, E.CANCEL), E.EXPIRE),
        ((E.SUBMIT, E.REJECT), E.ACCEPT),
    ],
)
def test_impossible_transitions_raise(events, bad):
    state = order()
    before = run(state, *events)
    with pytest.raises(InvalidOrderTransition):
        state.apply(bad)
    assert state.status is before


@pytest.mark.parametrize("status", [S.INITIALIZED, S.DENIED, S.FILLED])
def test_fills_where_no_order_can_fill_raise(status):
    """REJECTED is no longer here: a LOST rejection may still fill on the exchange, and
    CcxtVenue books that fill (see `test_a_late_fill_after_a_lost_rejection_is_booked`)."""
    state = order(status=status)
    with pytest.raises(InvalidOrderTransition):
        state.apply_fill("t1", D("100"), D("0.1"), D(0), "BTC")
    assert state.filled_quantity == 0 and state.trade_ids == set()


def test_the_table_is_what_apply_uses():
    for status in OrderStatus:
        for kind in OrderEventKind:
            if kind is E.FILL:
                continue
            state = order(status=status)
            if (status, kind) in TRANSITIONS:
                assert state.apply(kind) is TRANSITIONS[(status, kind)]
            else:
                with pytest.raises(InvalidOrderTransition):
                    state.apply(kind)


def test_closed_orders_never_reopen():
    for (status, _kind), after in TRANSITIONS.items():
        if status in CLOSED:
            assert after in CLOSED, (status, after)


def test_a_duplicate_trade_id_is_ignored():
    state = order()
    run(state, E.SUBMIT, E.ACCEPT)
    assert state.apply_fill("t1", D("100"), D("0.4"), D("0.0004"), "BTC") is True
    assert state.apply_fill("t1", D("100"), D("0.4"), D("0.0004"), "BTC") is False
    assert state.filled_quantity == D("0.4")
    assert state.fees == {"BTC": D("0.0004")}
    assert state.status is S.PARTIALLY_FILLED


def test_a_duplicate_of_the_last_fill_is_ignored_once_filled():
    state = order()
    run(state, E.SUBMIT, E.ACCEPT, ("t1", "1.0"))
    assert state.apply_fill("t1", D("100"), D("1.0"), D(0), "BTC") is False
    assert state.status is S.FILLED


def test_an_overfill_is_rejected_and_changes_nothing():
    state = order()
    run(state, E.SUBMIT, E.ACCEPT, ("t1", "0.7"))
    with pytest.raises(OrderOverfill):
        state.apply_fill("t2", D("100"), D("0.4"), D("0.1"), "USDT")
    assert state.filled_quantity == D("0.7")
    assert state.trade_ids == {"t1"}
    assert state.fees == {"BTC": D(0)}
    assert state.status is S.PARTIALLY_FILLED


def test_average_price_and_fees_are_exact():
    """0.1 @ 100.01 and 0.3 @ 100.05: (10.001 + 30.015) / 0.4 = 100.04 exactly."""
    state = order("0.4")
    run(state, E.SUBMIT, E.ACCEPT)
    state.apply_fill("a", D("100.01"), D("0.1"), D("0.0001"), "BTC")
    state.apply_fill("b", D("100.05"), D("0.3"), D("0.030015"), "USDT")
    assert state.average_fill_price == D("100.04")
    assert state.fees == {"BTC": D("0.0001"), "USDT": D("0.030015")}
    assert state.status is S.FILLED


def test_no_average_before_a_fill():
    assert order().average_fill_price is None


@given(
    st.lists(
        st.tuples(st.integers(0, 6), st.integers(1, 10**6), st.integers(1, 300)),
        min_size=1,
        max_size=20,
    )
)
def test_fills_add_up_whatever_the_duplicates(fills):
    """Trade ids repeat at random; each id counts once, with its first report."""
    quantity = D(10**4)
    state = order(str(quantity))
    run(state, E.SUBMIT, E.ACCEPT)
    booked: dict[int, tuple[Fraction, Fraction]] = {}
    for trade, price_units, amount in fills:
        price, fresh = D(price_units).scaleb(-2), trade not in booked
        if fresh and sum(a for _, a in booked.values()) + amount > quantity:
            with pytest.raises(OrderOverfill):
                state.apply_fill(f"t{trade}", price, D(amount), D(0), "BTC")
            continue
        assert state.apply_fill(f"t{trade}", price, D(amount), D(0), "BTC") is fresh
        if fresh:
            booked[trade] = (Fraction(price), Fraction(amount))
    filled = sum(a for _, a in booked.values())
    assert state.filled_quantity == filled
    notional = sum(p * a for p, a in booked.values())
    assert state.filled_notional == notional
    if filled:
        # exact when the quotient is a finite decimal, else correct to 50 digits
        error = abs(Fraction(state.average_fill_price) - notional / filled)
        assert error <= notional / filled / 10**49
    assert state.status is (S.FILLED if filled == quantity else S.PARTIALLY_FILLED)
    assert state.trade_ids == {f"t{t}" for t in booked}


def test_every_status_has_an_api_status():
    assert set(API_STATUS) == set(OrderStatus)
    assert set(API_STATUS.values()) == {
        "pending",
        "open",
        "partially_filled",
        "filled",
        "cancelled",
        "rejected",
        "expired",
    }
    assert API_STATUS[S.PENDING_CANCEL] == "open"
    assert API_STATUS[S.DENIED] == "rejected"
