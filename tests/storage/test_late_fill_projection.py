"""The `orders` read table agrees with the order state table (`trading/orders.py`): a fill
after a LOST rejection is booked, and the order stays REJECTED unless the fill completes it."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Engine, select

from storage import order_projections
from storage.config_sync import ConfigAccount, sync_config_objects
from storage.journal_store import JournalStore
from storage.models import FillRow, OrderRow
from trading.events import LIMIT, OrderFilled, OrderRejected, OrderSubmitted
from trading.markets import Side

D = Decimal
CID = "td-lost-000001"


def fill(trade_id: str, quantity: str, completed: bool) -> OrderFilled:
    return OrderFilled(account_id="paper", bot_id=None, client_order_id=CID, trade_id=trade_id, symbol="BTC/USDT",
                       side=Side.BUY, price=D("100"), quantity=D(quantity), fee=D("0.01"), fee_currency="USDT",
                       is_maker=True, order_completed=completed)


def test_a_late_fill_after_a_lost_rejection_is_booked_and_keeps_it_rejected(engine: Engine) -> None:
    assert order_projections.order_filled  # imported to register the projectors
    sync_config_objects(engine, [ConfigAccount(id="paper", exchange="paper")], [])
    journal = JournalStore(engine)
    journal.append([
        OrderSubmitted(account_id="paper", bot_id=None, client_order_id=CID, symbol="BTC/USDT", side=Side.BUY,
                       order_type=LIMIT, quantity=D("1"), price=D("100")),
        OrderRejected(account_id="paper", bot_id=None, client_order_id=CID, code="LOST", reason="not found"),
        fill("t1", "0.4", False),
    ])
    with engine.connect() as connection:
        status, filled = connection.execute(
            select(OrderRow.status, OrderRow.filled_quantity).where(OrderRow.client_order_id == CID)).one()
        assert (status, D(filled)) == ("REJECTED", D("0.4"))
    journal.append([fill("t2", "0.6", True)])
    with engine.connect() as connection:
        assert connection.execute(select(OrderRow.status).where(OrderRow.client_order_id == CID)).scalar() == "FILLED"
        assert len(connection.execute(select(FillRow.trade_id)).all()) == 2
