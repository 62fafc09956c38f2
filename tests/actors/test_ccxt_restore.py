"""A live account whose exchange is down when the daemon starts becomes ready once it is back.

The exchange actor's restore loads markets and balances from the exchange; a 503 or 429
then must not fail the actor (a restarted actor would drop the boot's `AwaitReady`, and
the boot would time out): it tries again with backoff and answers when restored.
"""

from __future__ import annotations

import time

from actors.messages import GetMarkets
from actors.reply import FutureReply
from actors.risk import exchange_name
from tests.actors.trading_stack import ACCOUNT, TradingStack
from tests.fake_exchange.fixtures import settings_for
from trading.venues.ccxt_venue import CcxtVenue


def test_an_exchange_down_at_start_is_restored_when_it_answers_again(engine, scheduler, bus, fake_binance):
    settings = settings_for(fake_binance)
    fake_binance.outage(2.0)
    started = time.monotonic()
    stack = TradingStack(engine, scheduler, bus, markets={}, balances={},
                         venue_factory=lambda: CcxtVenue(ACCOUNT, settings))
    assert time.monotonic() - started >= 1.5, "ready before the exchange came back"
    assert fake_binance.faults.counts.get("outage", 0) >= 2, "the restore should have been tried again"
    markets = FutureReply()
    stack.directory.tell(exchange_name(ACCOUNT), GetMarkets(reply=markets))
    assert "XRP/USDT" in markets.wait(10)
