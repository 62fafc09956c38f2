"""The `RelayActor` hands events over in bursts, follows accounts it first sees in order
events, and asks a bot for its profit after its fills; the `RelayOutlet` wakes the loop
once per burst and conflates prices."""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal as D

from actors.directory import ActorDirectory
from actors.relay import RelayActor, WatchAccount
from actors.supervisor import ChildSpec
from actors.topics import ORDERS, account_topic
from api.ws.outlet import RelayOutlet
from tests.actors.trading_stack import TradingStack
from trading.events import BalanceUpdated, OrderAccepted, OrderFilled
from trading.grid.geometry import GridParams
from trading.market_data import TickerUpdated
from trading.markets import Side
from trading.strategies.grid import GridStrategy
from trading.venues.paper_markets import paper_market


class Recorder:
    """An outlet that records each batch; the first call blocks until `release()`."""

    def __init__(self) -> None:
        self.batches: list[list] = []
        self.first_call = threading.Event()
        self._release = threading.Event()
        self._changed = threading.Condition()

    def __call__(self, batch) -> None:
        if not self.first_call.is_set():
            self.first_call.set()
            self._release.wait(10)
        with self._changed:
            self.batches.append(list(batch))
            self._changed.notify_all()

    def release(self) -> None:
        self._release.set()

    def wait_for(self, count: int) -> list:
        """Every item once `count` items arrived (fails after 10 s)."""
        with self._changed:
            assert self._changed.wait_for(lambda: sum(map(len, self.batches)) >= count, 10), self.batches
            return [item for batch in self.batches for item in batch]


def accepted(n: int, account: str = "paper") -> OrderAccepted:
    return OrderAccepted(account_id=account, bot_id=None, client_order_id=f"c-{n}", exchange_order_id=f"x-{n}")


def test_a_burst_reaches_the_outlet_in_one_batch(bus):
    recorder = Recorder()
    RelayActor.start(name="relay", bus=bus, directory=ActorDirectory(), outlet=recorder)
    bus.publish(ORDERS, accepted(0))
    assert recorder.first_call.wait(10)
    for n in range(1, 101):  # they queue in the mailbox while the relay is busy
        bus.publish(ORDERS, accepted(n))
    recorder.release()
    items = recorder.wait_for(101)
    assert [item.client_order_id for item in items] == [f"c-{n}" for n in range(101)]
    assert [len(batch) for batch in recorder.batches] == [1, 100]


def test_accounts_are_followed_once_seen_or_named(bus):
    recorder = Recorder()
    recorder.release()
    relay = RelayActor.start(name="relay", bus=bus, directory=ActorDirectory(), outlet=recorder, account_ids=("a",))
    relay.tell(WatchAccount(account_id="b"))
    bus.publish(ORDERS, accepted(1, account="c"))  # the first sight of account c
    recorder.wait_for(1)
    for account in ("a", "b", "c", "d"):
        bus.publish(account_topic(account), BalanceUpdated(account_id=account, asset="USDT", free=D(1), locked=D(0)))
    bus.publish(ORDERS, accepted(2))  # a marker behind the balances
    items = recorder.wait_for(5)
    assert [(type(i).__name__, i.account_id) for i in items[1:]] == [
        ("BalanceUpdated", "a"), ("BalanceUpdated", "b"), ("BalanceUpdated", "c"), ("OrderAccepted", "paper"),
    ]


def test_a_bot_fill_is_followed_by_the_bots_profit(engine, scheduler, bus):
    xrp = paper_market("XRP/USDT", maker_fee=D("0.001"), taker_fee=D("0.001"))
    grid = GridParams(lower_price=D("1.00"), upper_price=D("1.20"), grid_count=10, order_amount=D("20"))
    stack = TradingStack(engine, scheduler, bus, markets={"XRP/USDT": xrp}, balances={"USDT": D("10000")})
    feed = stack.add_feed("XRP/USDT")
    recorder = Recorder()
    recorder.release()
    stack.start(ChildSpec("relay", RelayActor, {"bus": bus, "directory": stack.directory, "outlet": recorder, "feed_names": (feed,)}))
    bot_id = stack.add_bot("g", "XRP/USDT", lambda context: GridStrategy(context, grid), feed)
    stack.publish(feed, "1.101")

    def seen(predicate) -> bool:
        with recorder._changed:
            return recorder._changed.wait_for(
                lambda: any(predicate(item) for batch in recorder.batches for item in batch), 10
            )

    assert seen(lambda i: isinstance(i, TickerUpdated) and i.last == D("1.101"))
    assert seen(lambda i: isinstance(i, OrderFilled) and i.bot_id == bot_id and i.side is Side.BUY)
    assert seen(lambda i: type(i).__name__ == "BotProfit" and i.bot_id == bot_id and i.total_profit is not None)


def test_the_outlet_wakes_the_loop_once_per_burst_and_keeps_one_price_per_symbol():
    loop = asyncio.new_event_loop()
    outlet = RelayOutlet()
    drained: list[list] = []

    async def attach() -> None:
        outlet.attach(drained.append)

    loop.run_until_complete(attach())

    def relay_thread() -> None:  # pushes while the loop is not running
        for n in range(10):
            ticker = TickerUpdated(symbol="XRP/USDT", last=D(n), low=D(n), high=D(n), ts_event=1_767_225_605_000_000_000 + n)
            outlet.push([accepted(n), ticker])

    thread = threading.Thread(target=relay_thread)
    thread.start()
    thread.join()
    loop.run_until_complete(asyncio.sleep(0.01))
    loop.close()
    assert len(drained) == 1  # one wake-up for the lot
    channels = [(out.channel, out.kind) for out in drained[0]]
    klines = [f"kline:XRP-USDT:{interval}" for interval in ("1m", "5m", "15m", "1h", "4h", "1d")]
    assert channels == [("orders", "orders")] * 10 + [("market:XRP-USDT", "market"), ("all_markets", "all_markets")] + [
        (name, "kline") for name in klines
    ]
    assert b'"last":"9"' in drained[0][10].payload
    assert outlet.conflated == 18 + 6 * 9
    assert outlet.latest("market:XRP-USDT") is drained[0][10]
    # One candle per interval, in progress, closing at the last of the ten prices.
    assert all(b'"c":"9"' in out.payload for out in drained[0][12:])
