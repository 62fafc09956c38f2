"""A live account whose exchange is down when the daemon starts becomes ready once it is back.

The exchange actor's restore loads markets and balances from the exchange; a 503 or 429
then must not fail the actor (a restarted actor would drop the boot's `AwaitReady`, and
the boot would time out): it tries again with backoff and answers when restored.
"""

from __future__ import annotations

import time

import pykka

from actors.messages import GetMarkets
from actors.reply import FutureReply
from actors.risk import exchange_name
from tests.actors.trading_stack import ACCOUNT, TradingStack
from tests.fake_exchange.fixtures import settings_for
from storage.journal_store import JournalStore
from trading.events import BalanceUpdated
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


def test_a_balance_change_the_daemon_did_not_live_to_journal_is_journaled_at_restore(engine, scheduler, bus,
                                                                                    fake_binance):
    """A kill right after an order reached the exchange leaves the journal's balances
    behind the exchange's; the next restore must journal the difference, not take the
    fetched balances as already known (it once did, and the journal stayed wrong)."""
    settings = settings_for(fake_binance)

    def start() -> TradingStack:
        return TradingStack(engine, scheduler, bus, markets={}, balances={},
                            venue_factory=lambda: CcxtVenue(ACCOUNT, settings))

    def journaled() -> dict[str, tuple]:
        return {e.asset: (e.free, e.locked) for e in JournalStore(engine).read_all_events(account_id=ACCOUNT)
                if isinstance(e, BalanceUpdated)}

    stack = start()
    assert stack.wait_until(lambda: journaled().get("USDT") == fake_binance.engine.balance("USDT"))
    pykka.ActorRegistry.stop_all(block=True, timeout=5)  # the daemon is gone
    fake_binance.set_price("XRPUSDT", "1.1000")
    fake_binance.engine.place({"symbol": "XRPUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                               "quantity": "10", "price": "1.0000", "newClientOrderId": "elsewhere-1"})
    locked = fake_binance.engine.balance("USDT")
    assert locked[1] > 0 and journaled()["USDT"] != locked

    stack = start()
    assert stack.wait_until(lambda: journaled()["USDT"] == locked), journaled()
