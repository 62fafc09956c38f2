"""Latest-wins delivery: a slow subscriber gets fewer, wider updates, never a backlog."""

from __future__ import annotations

import queue
import random
import threading
import time
from decimal import Decimal
from typing import Any

from actors.conflation import ConflatingOutbox, MarketDataReady
from actors.supervised import SupervisedActor
from tests.actors.helpers import Recorder, next_message
from trading.market_data import TickerUpdated

D = Decimal


def ticker(price: Decimal, symbol: str = "XRP/USDT") -> TickerUpdated:
    return TickerUpdated(symbol=symbol, last=price, low=price, high=price)


class SlowSubscriber(SupervisedActor):
    """Dawdles on each notification, then takes; reports what it saw."""

    def __init__(self, *, taken: queue.Queue[Any], delay_s: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.taken = taken
        self.delay_s = delay_s

    def on_market_data_ready(self, message: MarketDataReady) -> None:
        waiting_behind = self.actor_inbox.qsize()  # other notifications queued behind this one
        time.sleep(self.delay_s)
        self.taken.put((waiting_behind, message.outbox.take()))


def test_a_slow_subscriber_gets_few_notifications_spanning_every_price_it_missed():
    taken: queue.Queue[Any] = queue.Queue()
    subscriber = SlowSubscriber.start(name="slow", taken=taken, delay_s=0.005)
    outbox = ConflatingOutbox(subscriber)
    values = list(range(1000, 2000))
    random.Random(4).shuffle(values)
    prices = [D(v) / 1000 for v in values]  # distinct, in no order: extremes move around

    deepest_mailbox = 0
    for i, price in enumerate(prices):
        assert outbox.offer(ticker(price))
        deepest_mailbox = max(deepest_mailbox, subscriber.actor_inbox.qsize())
        if i % 50 == 49:
            time.sleep(0.01)  # let the subscriber take a few times on the way

    batches = []
    while not batches or batches[-1][-1].last != prices[-1]:
        waiting_behind, tickers = taken.get(timeout=5)
        assert waiting_behind == 0
        assert len(tickers) == 1
        batches.append(tickers)

    assert deepest_mailbox <= 1
    assert 2 <= len(batches) < 100
    assert outbox.offered == 1000
    assert outbox.delivered == len(batches)
    assert outbox.conflated == 1000 - len(batches)
    previous_end = -1
    for (taken_ticker,) in batches:
        end = prices.index(taken_ticker.last)
        missed = prices[previous_end + 1 : end + 1]
        assert taken_ticker.low == min(missed)
        assert taken_ticker.high == max(missed)
        previous_end = end
    assert previous_end == len(prices) - 1


def test_two_symbols_conflate_independently_under_one_notification():
    received: queue.Queue[Any] = queue.Queue()
    subscriber = Recorder.start(name="recorder", received=received)
    outbox = ConflatingOutbox(subscriber)

    for xrp, eth in [("1.10", "0.050"), ("1.30", "0.049"), ("1.20", "0.052"), ("1.25", "0.051")]:
        outbox.offer(ticker(D(xrp), "XRP/USDT"))
        outbox.offer(ticker(D(eth), "ETH/BTC"))

    notification = next_message(received, MarketDataReady)
    assert notification.outbox is outbox
    time.sleep(0.05)
    assert received.empty()  # eight offers, one notification
    by_symbol = {t.symbol: t for t in outbox.take()}
    assert (by_symbol["XRP/USDT"].last, by_symbol["XRP/USDT"].low, by_symbol["XRP/USDT"].high) == (
        D("1.25"), D("1.10"), D("1.30"),
    )
    assert (by_symbol["ETH/BTC"].last, by_symbol["ETH/BTC"].low, by_symbol["ETH/BTC"].high) == (
        D("0.051"), D("0.049"), D("0.052"),
    )
    assert outbox.take() == []

    outbox.offer(ticker(D("1.5")))  # taken: the next offer notifies again, with a fresh range
    next_message(received, MarketDataReady)
    (fresh,) = outbox.take()
    assert (fresh.last, fresh.low, fresh.high) == (D("1.5"), D("1.5"), D("1.5"))


def test_offering_to_a_dead_subscriber_returns_false_and_closes():
    received: queue.Queue[Any] = queue.Queue()
    subscriber = Recorder.start(name="recorder", received=received)
    outbox = ConflatingOutbox(subscriber)
    assert outbox.offer(ticker(D("1")))
    subscriber.stop(block=True)

    # A notification is pending, unread: the outbox still notices the death.
    assert outbox.offer(ticker(D("2"))) is False
    assert outbox.closed
    assert outbox.offer(ticker(D("3"))) is False
    assert outbox.take() == []


def test_a_dead_subscriber_is_noticed_on_the_first_offer():
    subscriber = Recorder.start(name="recorder", received=queue.Queue())
    subscriber.stop(block=True)
    outbox = ConflatingOutbox(subscriber)
    assert outbox.offer(ticker(D("1"))) is False
    assert outbox.closed


def test_concurrent_offers_and_takes_lose_nothing():
    subscriber = Recorder.start(name="recorder", received=queue.Queue())
    outbox = ConflatingOutbox(subscriber)
    symbols = ["A/B", "C/D", "E/F", "G/H"]
    done = threading.Event()
    taken: list[TickerUpdated] = []

    def offer_all(symbol: str) -> None:
        for i in range(1, 2501):
            outbox.offer(ticker(D(i), symbol))

    def take_until_done() -> None:
        while not done.is_set():
            taken.extend(outbox.take())

    taker = threading.Thread(target=take_until_done)
    taker.start()
    offerers = [threading.Thread(target=offer_all, args=(symbol,)) for symbol in symbols]
    for thread in offerers:
        thread.start()
    for thread in offerers:
        thread.join()
    done.set()
    taker.join()
    taken.extend(outbox.take())

    assert outbox.offered == 10_000
    assert outbox.delivered == len(taken)
    assert outbox.delivered + outbox.conflated == 10_000
    for symbol in symbols:
        mine = [t for t in taken if t.symbol == symbol]
        assert [t.last for t in mine] == sorted(t.last for t in mine)  # in order, per symbol
        assert mine[0].low == D(1)
        for before, after in zip(mine, mine[1:]):
            assert after.low == before.last + 1  # each take spans the prices since the last
        assert mine[-1].last == D(2500)
