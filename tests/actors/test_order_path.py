"""The order path with real actors: risk limits, and reconciliation after a crash."""

from __future__ import annotations

from decimal import Decimal

from actors.risk import RiskLimits
from storage.journal_store import JournalStore
from tests.actors.trading_stack import ACCOUNT, TradingStack
from trading.events import LIMIT, OrderAccepted, OrderDenied, OrderRejected, OrderSubmitted
from trading.grid.geometry import GridParams
from trading.markets import Side
from trading.strategies.grid import GridStrategy
from trading.venues.paper_markets import paper_market

D = Decimal
XRP = paper_market("XRP/USDT", maker_fee=D("0.001"), taker_fee=D("0.001"))
GRID = GridParams(lower_price=D("1.00"), upper_price=D("1.20"), grid_count=10, order_amount=D("20"))


def test_max_open_orders_denies_what_is_over_the_limit(engine, scheduler, bus):
    stack = TradingStack(engine, scheduler, bus, markets={"XRP/USDT": XRP},
                         balances={"USDT": D("10000")}, risk=RiskLimits(max_open_orders=4))
    feed = stack.add_feed("XRP/USDT")
    bot = stack.add_bot("capped", "XRP/USDT", lambda context: GridStrategy(context, GRID), feed)
    stack.publish(feed, "1.101")

    def events(kind):
        return [e for e in stack.store.read_all_events(bot_id=bot) if isinstance(e, kind)]

    def accepted_limits():
        limits = {e.client_order_id for e in events(OrderSubmitted) if e.order_type == LIMIT}
        return [e for e in events(OrderAccepted) if e.client_order_id in limits]

    # The risk actor journals its denial itself, so it may land before the exchange's
    # acceptances of the orders it let through: wait for both.
    assert stack.wait_until(lambda: len(events(OrderDenied)) > 0 and len(accepted_limits()) >= 4)
    # The initial market buy filled at once and no longer counts; four limits rest.
    stack.flush()
    assert len(accepted_limits()) == 4
    denied = events(OrderDenied)[0]
    assert denied.code == "RISK_LIMIT_BREACHED" and "max_open_orders is 4" in denied.reason


def test_an_order_the_venue_never_saw_is_rejected_at_reconciliation(engine, scheduler, bus):
    # A crash between journaling an order and the venue taking it leaves this behind.
    from storage.config_sync import ConfigAccount, sync_config_objects

    sync_config_objects(engine, [ConfigAccount(id=ACCOUNT, exchange="paper")], [])
    lost = OrderSubmitted(account_id=ACCOUNT, bot_id=None, client_order_id="td-lost-000001",
                          symbol="XRP/USDT", side=Side.BUY, order_type=LIMIT,
                          quantity=D("10"), price=D("1.05"))
    JournalStore(engine).append([lost])

    stack = TradingStack(engine, scheduler, bus, markets={"XRP/USDT": XRP}, balances={"USDT": D("100")})
    stack.flush()
    rejected = [e for e in stack.store.read_all_events(account_id=ACCOUNT) if isinstance(e, OrderRejected)]
    assert [(e.client_order_id, e.code) for e in rejected] == [("td-lost-000001", "NOT_FOUND")]
