"""The market feed actor with real actors and a real scheduler."""

from __future__ import annotations

import queue
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from actors.conflation import MarketDataReady
from actors.feed import (
    FeedSubscriptions,
    MarketFeedActor,
    PublishPrice,
    SubscribeMarketData,
    UnsubscribeMarketData,
    feed_source,
    price_list_source,
)
from actors.reply import FutureReply
from actors.scheduler import Scheduler
from actors.supervised import SupervisedActor
from actors.supervisor import ChildSpec, RestartPolicy, StartChild, Supervisor
from tests.actors.helpers import Recorder, next_message
from config.schema import RandomWalkFeedConfig, ReplayFeedConfig
from trading.clock import ManualClock
from trading.market_data import TickerUpdated

D = Decimal
SYMBOL = "XRP/USDT"


class Subscriber(SupervisedActor):
    """Takes its market data as soon as it is told, and puts each ticker on a queue."""

    def __init__(self, *, received: queue.Queue[TickerUpdated], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.received = received

    def on_market_data_ready(self, message: MarketDataReady) -> None:
        for ticker in message.outbox.take():
            self.received.put(ticker)


class RecordingScheduler(Scheduler):
    """The real scheduler, keeping every one-shot timer it hands out."""

    def __init__(self) -> None:
        super().__init__(name="test-scheduler")
        self.timers: list[Any] = []

    def tell_later(self, delay_s: float, ref: Any, message: Any) -> Any:
        timer = super().tell_later(delay_s, ref, message)
        self.timers.append(timer)
        return timer

    def timers_for(self, ref: Any) -> list[Any]:
        return [timer for timer in self.timers if timer.ref is ref]


@pytest.fixture
def scheduler():
    scheduler = RecordingScheduler()
    scheduler.start()
    yield scheduler
    scheduler.stop()


def subscriber(name: str = "subscriber") -> tuple[Any, queue.Queue[TickerUpdated]]:
    received: queue.Queue[TickerUpdated] = queue.Queue()
    return Subscriber.start(name=name, received=received), received


def start_feed(scheduler, source, **kwargs: Any):
    return MarketFeedActor.start(name="feed:xrp", scheduler=scheduler, source=source, symbol=SYMBOL, **kwargs)


def receive_until(received: queue.Queue[TickerUpdated], last: Decimal, timeout: float = 5.0) -> list[Decimal]:
    """The prices received up to and including `last`."""
    prices = []
    deadline = time.monotonic() + timeout
    while not prices or prices[-1] != last:
        prices.append(received.get(timeout=max(deadline - time.monotonic(), 0.001)).last)
    return prices


def assert_nothing_received(received: queue.Queue[TickerUpdated], within: float = 0.2) -> None:
    try:
        ticker = received.get(timeout=within)
    except queue.Empty:
        return
    raise AssertionError(f"unexpected {ticker}")


def test_a_subscriber_receives_the_prices_in_order(scheduler):
    prices = [D("1.0"), D("1.1"), D("0.9"), D("1.2"), D("1.15")]
    feed = start_feed(scheduler, price_list_source(prices, interval_s=0.03))
    ref, received = subscriber()
    feed.tell(SubscribeMarketData(ref=ref))

    tickers = [received.get(timeout=5) for _ in prices]

    assert [t.last for t in tickers] == prices
    assert all(t.symbol == SYMBOL and t.low == t.last == t.high for t in tickers)
    assert [t.ts_event for t in tickers] == sorted(t.ts_event for t in tickers)
    stats = feed.proxy()
    assert stats.events_emitted.get() == 5
    assert stats.last_event_ns.get() == tickers[-1].ts_event
    assert stats.conflated.get() == 0


def test_unsubscribing_stops_delivery_and_subscribing_twice_is_once(scheduler):
    feed = start_feed(scheduler, price_list_source([]))
    first, first_received = subscriber("first")
    second, second_received = subscriber("second")
    feed.tell(SubscribeMarketData(ref=first))
    feed.tell(SubscribeMarketData(ref=first))
    feed.tell(SubscribeMarketData(ref=second))

    feed.tell(PublishPrice(price=D("1")))
    assert receive_until(first_received, D("1")) == [D("1")]
    assert receive_until(second_received, D("1")) == [D("1")]
    feed.tell(SubscribeMarketData(ref=first))  # already subscribed: not offered 1 again
    assert_nothing_received(first_received)  # one subscription, one delivery
    assert feed.proxy().subscriber_count.get() == 2

    feed.tell(UnsubscribeMarketData(ref=first))
    feed.tell(PublishPrice(price=D("2")))
    assert receive_until(second_received, D("2")) == [D("2")]
    assert_nothing_received(first_received)
    assert feed.proxy().subscriber_count.get() == 1


def test_unsubscribing_drops_what_was_pending(scheduler):
    feed = start_feed(scheduler, price_list_source([]))
    received: queue.Queue[Any] = queue.Queue()
    recorder = Recorder.start(name="recorder", received=received)  # never takes
    feed.tell(SubscribeMarketData(ref=recorder))
    feed.tell(PublishPrice(price=D("1")))
    notification = next_message(received, MarketDataReady)

    feed.tell(UnsubscribeMarketData(ref=recorder))
    assert feed.proxy().subscriber_count.get() == 0

    assert notification.outbox.take() == []


def test_a_new_subscriber_gets_the_latest_price_at_once(scheduler):
    feed = start_feed(scheduler, price_list_source(["1.5", "1.6"], interval_s=30))
    time.sleep(0.1)  # 1.5 is out; 1.6 is half a minute away
    ref, received = subscriber()
    feed.tell(SubscribeMarketData(ref=ref))
    assert received.get(timeout=5).last == D("1.5")


def test_a_dead_subscriber_is_dropped(scheduler):
    feed = start_feed(scheduler, price_list_source([]))
    ref, _ = subscriber()
    feed.tell(SubscribeMarketData(ref=ref))
    ref.stop(block=True)
    feed.tell(PublishPrice(price=D("1")))
    assert feed.proxy().subscriber_count.get() == 0


def test_a_fast_replay_delivers_the_candle_path(scheduler, tmp_path: Path):
    path = tmp_path / "candles.csv"
    path.write_text(
        "timestamp_ms,open,high,low,close,volume\n"
        "0,1.10,1.20,1.05,1.15,10\n"  # up: open, low, high, close
        "300000,1.15,1.17,1.00,1.02,10\n"  # down: open, high, low, close
        "600000,1.02,1.08,1.01,1.07,10\n",
        encoding="utf-8",
    )
    # 5-minute candles at 2500x: a candle in 0.12 s, its points 0.03 s apart.
    config = ReplayFeedConfig(id="xrp", source="replay", symbol=SYMBOL, path=path, speed=2500)
    started = time.monotonic()
    feed = start_feed(scheduler, feed_source(config))
    ref, received = subscriber()
    feed.tell(SubscribeMarketData(ref=ref))

    prices = receive_until(received, D("1.07"))
    elapsed = time.monotonic() - started

    assert prices == [D(p) for p in (
        "1.10", "1.05", "1.20", "1.15",
        "1.15", "1.17", "1.00", "1.02",
        "1.02", "1.01", "1.08", "1.07",
    )]
    assert elapsed >= 11 * 0.03  # paced, not dumped
    assert_nothing_received(received)  # no loop: the replay ended
    assert len(scheduler.timers_for(feed)) == 12  # one timer per step, none after the end


def test_a_random_walk_feed_delivers_its_walk(scheduler):
    config = RandomWalkFeedConfig(
        id="walk", source="random_walk", symbol=SYMBOL, start_price=D("2"), interval_s=0.02, seed=5,
    )
    feed = start_feed(scheduler, feed_source(config))
    ref, received = subscriber()
    feed.tell(SubscribeMarketData(ref=ref))

    prices = [received.get(timeout=5).last for _ in range(5)]

    assert prices[0] == D("2")
    assert len(set(prices)) > 1


def test_publish_price_arrives_with_the_clocks_time_and_its_correlation_id(scheduler):
    clock = ManualClock(start_ns=1_700_000_000_000_000_000)
    feed = start_feed(scheduler, price_list_source([]), clock=clock)
    ref, received = subscriber()
    feed.tell(SubscribeMarketData(ref=ref))

    command = PublishPrice(price=D("1.2345"))
    feed.tell(command)
    ticker = received.get(timeout=5)

    assert (ticker.symbol, ticker.last, ticker.low, ticker.high) == (SYMBOL, D("1.2345"), D("1.2345"), D("1.2345"))
    assert ticker.ts_event == 1_700_000_000_000_000_000
    assert ticker.correlation_id == command.message_id


def test_the_feed_stops_cleanly_and_leaves_no_timer(scheduler):
    feed = start_feed(scheduler, price_list_source(["1", "2"], interval_s=30))
    ref, received = subscriber()
    feed.tell(SubscribeMarketData(ref=ref))
    assert received.get(timeout=5).last == D("1")
    pending = scheduler.timers_for(feed)[-1]  # "2", half a minute away
    assert not pending.cancelled

    assert feed.stop(block=True, timeout=5) is True

    assert not feed.is_alive()
    assert pending.cancelled
    assert len(scheduler.timers_for(feed)) == 2  # one timer at a time: "1", then "2"


def test_a_restarted_feed_replays_from_the_start_to_the_same_subscribers(scheduler, bus):
    supervisor = Supervisor.start(
        name="root", scheduler=scheduler, bus=bus, sweep_interval_s=0.05,
        policy=RestartPolicy(max_restarts=3, window_s=30, backoff_initial_s=0.05, backoff_max_s=1.0),
    )
    prices = [D(p) for p in ("1", "2", "3", "4", "5", "6")]
    spec = ChildSpec(
        name="feed:xrp",
        actor_class=MarketFeedActor,
        kwargs={
            "scheduler": scheduler,
            "source": price_list_source(prices, interval_s=0.05),
            "symbol": SYMBOL,
            "subscriptions": FeedSubscriptions(),
        },
    )
    reply = FutureReply()
    supervisor.tell(StartChild(spec=spec, reply=reply))
    first = reply.wait(5)
    ref, received = subscriber()
    first.tell(SubscribeMarketData(ref=ref))
    assert receive_until(received, D("2")) == [D("1"), D("2")]

    first.tell(SubscribeMarketData(ref=None))  # a bad message: the feed crashes (on purpose)

    after_crash = receive_until(received, D("6"))
    restart = after_crash.index(D("1"))
    assert after_crash[restart:] == prices  # from the start, to the subscriber it had
    assert not first.is_alive()


def test_a_failing_feed_cancels_its_pending_step(scheduler):
    feed = start_feed(scheduler, price_list_source(["1", "2"], interval_s=30))
    deadline = time.monotonic() + 5
    while not scheduler.timers_for(feed)[1:] and time.monotonic() < deadline:
        time.sleep(0.01)  # wait for "1" to go out and "2" to be scheduled
    pending = scheduler.timers_for(feed)[-1]

    feed.tell(SubscribeMarketData(ref=None))  # a bad message: the feed crashes (on purpose)
    # Pykka marks the actor dead just before it calls on_failure: wait for both.
    while (feed.is_alive() or not pending.cancelled) and time.monotonic() < deadline:
        time.sleep(0.01)

    assert not feed.is_alive()
    assert pending.cancelled  # at once, not when it would have fired half a minute later
