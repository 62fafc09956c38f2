"""Issue 5's acceptance: a grid bot trades end to end against the fake Binance.

The daemon's actors in-process (journal, risk, exchange, feed, bot) with a `CcxtVenue`
whose real ccxt client talks HTTP to the fake server on 127.0.0.1. The test moves the
price on the server and on the feed alike; afterwards the journal and the server's own
record agree order by order: client ids and precision on the wire, each fill once with
the fee the server charged, and the balances.
"""

from __future__ import annotations

from decimal import Decimal

from actors.messages import GetMarkets
from actors.reply import FutureReply
from actors.risk import exchange_name
from tests.actors.trading_stack import ACCOUNT, TradingStack
from tests.fake_exchange.fixtures import settings_for
from trading.events import BalanceUpdated, OrderAccepted, OrderFilled, OrderSubmitted
from trading.grid.geometry import GridParams
from trading.strategies.grid import GridStrategy
from trading.venues.ccxt_venue import CcxtVenue

D = Decimal
GRID = GridParams(lower_price=D("1.00"), upper_price=D("1.20"), grid_count=10, order_amount=D("20"))
PRICES = ["1.0950", "1.0790", "1.0590", "1.0410", "1.0650", "1.0990", "1.1230", "1.1010", "1.0770", "1.1190"]


def test_a_grid_bot_trades_against_the_fake_binance(engine, scheduler, bus, fake_binance):
    settings = settings_for(fake_binance)
    # The bot's row is written now, before the journal runs (SQLite allows one writer).
    stack = TradingStack(engine, scheduler, bus, markets={}, balances={}, bots=[("grid", "XRP/USDT")],
                         venue_factory=lambda: CcxtVenue(ACCOUNT, settings))
    markets = FutureReply()
    stack.directory.tell(exchange_name(ACCOUNT), GetMarkets(reply=markets))
    stack.markets.update(markets.wait(10))
    assert stack.markets["XRP/USDT"].tick_size == D("0.0001")

    feed = stack.add_feed("XRP/USDT")
    fake_binance.set_price("XRPUSDT", "1.1000")
    bot = stack.add_bot("grid", "XRP/USDT", lambda context: GridStrategy(context, GRID), feed)
    stack.publish(feed, "1.1000")

    def journal(kind):
        return [e for e in stack.store.read_all_events(account_id=ACCOUNT) if isinstance(e, kind)]

    assert stack.wait_until(lambda: len(journal(OrderAccepted)) >= 8)
    for price in PRICES:
        trades_before = len(fake_binance.trades)
        fake_binance.set_price("XRPUSDT", price)
        stack.publish(feed, price)
        assert stack.wait_until(lambda: len(journal(OrderFilled)) >= len(fake_binance.trades) > 0)
        assert len(fake_binance.trades) >= trades_before

    def settled():
        """Nothing in flight: every journaled order reached the server, every one resting
        there was accepted in the journal, every trade booked."""
        on_server = {o["clientOrderId"] for o in fake_binance.orders}
        server_open = {o["clientOrderId"] for o in fake_binance.orders if o["status"] == "NEW"}
        accepted = {e.client_order_id for e in journal(OrderAccepted)}
        submitted = {e.client_order_id for e in journal(OrderSubmitted)}
        return (submitted <= on_server and server_open <= accepted
                and len(journal(OrderFilled)) == len(fake_binance.trades))

    assert stack.wait_until(settled)
    assert len(fake_binance.trades) >= 6, "the walk should have filled grid orders both ways"

    # Orders: one on the server per journaled submission, under its client id, exact on the wire.
    submitted = {e.client_order_id: e for e in journal(OrderSubmitted)}
    server_orders = {o["clientOrderId"]: o for o in fake_binance.orders}
    assert fake_binance.engine.duplicates == []
    assert set(server_orders) == set(submitted)
    for cid, order in submitted.items():
        assert cid.startswith("td-") and order.bot_id == bot
        wire = server_orders[cid]["wire"]
        assert wire["newClientOrderId"] == cid
        assert D(wire["quantity"]) == order.quantity
        if order.price is not None:
            assert D(wire["price"]) == order.price
            assert order.price % D("0.0001") == 0

    # Fills: each server trade journaled once, with the server's price, quantity and fee.
    fills = {f.trade_id: f for f in journal(OrderFilled)}
    assert len(fills) == len(journal(OrderFilled)) == len(fake_binance.trades)
    for trade in fake_binance.trades:
        fill = fills[f"XRPUSDT-{trade['id']}"]
        assert fill.client_order_id == trade["clientOrderId"]
        assert (fill.price, fill.quantity, fill.fee, fill.fee_currency, fill.is_maker) == (
            trade["price"], trade["qty"], trade["commission"], trade["commissionAsset"], trade["isMaker"])

    # Balances: the last journaled balance of each asset is the server's.
    def balances_match():
        last = {}
        for update in journal(BalanceUpdated):
            last[update.asset] = (update.free, update.locked)
        return all(last.get(asset) == fake_binance.engine.balance(asset) for asset in ("USDT", "XRP"))

    assert stack.wait_until(balances_match)
