"""Keys the exchange stops accepting pause the account's bots, with the reason shown."""

from __future__ import annotations

from decimal import Decimal

from actors.messages import GetMarkets
from actors.reply import FutureReply
from actors.risk import exchange_name
from tests.actors.trading_stack import ACCOUNT, TradingStack
from tests.fake_exchange.fixtures import settings_for
from trading.events import BotStatusChanged, OrderAccepted
from trading.grid.geometry import GridParams
from trading.strategies.grid import GridStrategy
from trading.venues.ccxt_venue import CcxtVenue

D = Decimal
GRID = GridParams(lower_price=D("1.00"), upper_price=D("1.20"), grid_count=10, order_amount=D("20"))


def test_refused_keys_pause_the_bots_with_the_exchanges_reason(engine, scheduler, bus, fake_binance):
    settings = settings_for(fake_binance)
    stack = TradingStack(engine, scheduler, bus, markets={}, balances={}, bots=[("grid", "XRP/USDT")],
                         venue_factory=lambda: CcxtVenue(ACCOUNT, settings))
    markets = FutureReply()
    stack.directory.tell(exchange_name(ACCOUNT), GetMarkets(reply=markets))
    stack.markets.update(markets.wait(10))
    feed = stack.add_feed("XRP/USDT")
    fake_binance.set_price("XRPUSDT", "1.1000")
    bot = stack.add_bot("grid", "XRP/USDT", lambda context: GridStrategy(context, GRID), feed)
    stack.publish(feed, "1.1000")

    def events(kind):
        return [e for e in stack.store.read_all_events(bot_id=bot) if isinstance(e, kind)]

    assert stack.wait_until(lambda: len(events(OrderAccepted)) >= 8)
    # The secret was rotated on the exchange: every signature is refused now (-1022). (A key
    # refused after it once worked, -2015, ccxt reads as a temporary ban: DDoSProtection,
    # which backs off instead; CCXT.md.)
    fake_binance.api_secret = "a-secret-rotated-on-the-exchange"

    def paused():
        return [e for e in events(BotStatusChanged) if e.status == "paused"]

    assert stack.wait_until(paused)
    message = paused()[-1].error_message
    assert message is not None and message.startswith(f"{ACCOUNT}: authentication failed")
