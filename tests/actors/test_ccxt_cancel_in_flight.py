"""A cancel that comes right behind its order is applied to it, never refused.

A stopping bot cancels every order it has asked for, and one of them may still be on
its way: in the risk actor's mailbox, or in the journal, which must commit an order for a
real exchange before it is sent. The cancel once overtook it (bots told the exchange
actor directly) or found the exchange actor not knowing it yet, and was journaled as the
order's rejection while the order went on to rest on the exchange, unknown to the bot.
"""

from __future__ import annotations

from decimal import Decimal

from actors.risk import RISK
from tests.actors.trading_stack import ACCOUNT, TradingStack
from tests.fake_exchange.fixtures import settings_for
from trading.events import LIMIT, CancelOrder, OrderCanceled, OrderRejected, SubmitOrder
from trading.markets import Side
from trading.venues.ccxt_venue import CcxtVenue


def test_a_cancel_right_behind_its_order_cancels_it_on_the_exchange(engine, scheduler, bus, fake_binance):
    settings = settings_for(fake_binance)
    stack = TradingStack(engine, scheduler, bus, markets={}, balances={},
                         venue_factory=lambda: CcxtVenue(ACCOUNT, settings))
    fake_binance.set_price("XRPUSDT", "1.1000")
    ids = [f"td-cafe0001-{n:06d}" for n in range(1, 4)]
    for client_order_id in ids:  # as a bot sends them: both through the risk actor, back to back
        stack.directory.tell(RISK, SubmitOrder(
            account_id=ACCOUNT, bot_id=None, client_order_id=client_order_id, symbol="XRP/USDT",
            side=Side.BUY, order_type=LIMIT, quantity=Decimal("10"), price=Decimal("1.0000"),
        ))
        stack.directory.tell(RISK, CancelOrder(account_id=ACCOUNT, bot_id=None, client_order_id=client_order_id,
                                               symbol="XRP/USDT"))

    def journal(kind):
        return {e.client_order_id for e in stack.store.read_all_events(account_id=ACCOUNT) if isinstance(e, kind)}

    assert stack.wait_until(lambda: journal(OrderCanceled) == set(ids))
    assert journal(OrderRejected) == set()
    resting = [o["clientOrderId"] for o in fake_binance.orders if o["status"] in ("NEW", "PARTIALLY_FILLED")]
    assert resting == [], f"orders left resting on the exchange: {resting}"
