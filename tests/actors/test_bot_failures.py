"""A bot whose strategy raises is restarted; one that keeps failing goes to `error`, and
the other bot keeps trading. Real actors, a real database, the paper exchange."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from actors.messages import ActorGaveUp, ActorRestarted
from actors.supervisor import RestartPolicy
from storage.models import BotRow
from tests.actors.trading_stack import TradingStack
from trading.events import OrderFilled
from trading.grid.geometry import GridParams
from trading.market_data import TickerUpdated
from trading.strategies.grid import GridStrategy
from trading.venues.paper_markets import paper_market

D = Decimal
XRP = paper_market("XRP/USDT", maker_fee=D("0.001"), taker_fee=D("0.001"))
GRID = GridParams(lower_price=D("1.00"), upper_price=D("1.20"), grid_count=20, order_amount=D("20"))


class ExplodingGrid(GridStrategy):
    """A grid with a bug that fires on every price."""

    def on_ticker(self, ticker: TickerUpdated) -> None:
        raise ZeroDivisionError("the strategy divided by zero")


def test_a_failing_bot_is_restarted_then_given_up_while_the_other_trades(engine, scheduler, bus):
    policy = RestartPolicy(max_restarts=2, window_s=60, backoff_initial_s=0.05, backoff_max_s=0.2)
    stack = TradingStack(engine, scheduler, bus, markets={"XRP/USDT": XRP},
                         balances={"USDT": D("10000")}, policy=policy)
    feed = stack.add_feed("XRP/USDT")
    good = stack.add_bot("good", "XRP/USDT", lambda context: GridStrategy(context, GRID), feed)
    bad = stack.add_bot("bad", "XRP/USDT", lambda context: ExplodingGrid(context, GRID), feed)

    def events_of(kind):
        return [e for e in stack.store.read_all_events() if isinstance(e, kind)]

    prices = ["1.105", "1.094", "1.117", "1.082", "1.121", "1.079"]
    step = 0
    def keep_prices_moving() -> bool:
        nonlocal step
        stack.publish(feed, prices[step % len(prices)])
        step += 1
        return any(e.name == f"bot:{bad}" for e in events_of(ActorGaveUp))

    assert stack.wait_until(keep_prices_moving, timeout=20), "the failing bot was never given up"

    restarts = [e for e in events_of(ActorRestarted) if e.name == f"bot:{bad}"]
    assert len(restarts) == policy.max_restarts
    assert all(e.error == "ZeroDivisionError: the strategy divided by zero" for e in restarts)
    with engine.connect() as connection:
        status = dict(connection.execute(select(BotRow.id, BotRow.status)).all())
        message = connection.execute(select(BotRow.error_message).where(BotRow.id == bad)).scalar_one()
    assert status[bad] == "error"
    assert message == "ZeroDivisionError: the strategy divided by zero"
    assert status[good] == "running"

    fills_before = len([e for e in events_of(OrderFilled) if e.bot_id == good])
    assert stack.wait_until(lambda: keep_prices_moving() and len(
        [e for e in events_of(OrderFilled) if e.bot_id == good]) > fills_before + 1, timeout=20), \
        "the good bot stopped trading when the bad one was given up"
