"""Exchange candles from the ccxt feeds: real `ccxt.binance` / ccxt.pro against the fake
Binance (REST `klines` with candles the test sets, the `<symbol>@kline_1m` stream), through
the real feed actor, its conflating outboxes and the paper venue."""

from __future__ import annotations

import queue
import threading
from decimal import Decimal
from typing import Any


from actors.conflation import MarketDataReady
from actors.feed import FeedSubscriptions, MarketFeedActor, SubscribeMarketData, feed_source
from actors.messages import FeedCandles, GetAccountBalances, GetFeedCandles
from actors.reply import FutureReply
from actors.risk import exchange_name
from actors.stream_thread import LatestQuote
from actors.supervised import SupervisedActor
from actors.supervisor import ChildSpec
from config.schema import CcxtPollFeedConfig, CcxtStreamFeedConfig
from tests.actors.trading_stack import ACCOUNT, TradingStack
from tests.actors.test_feed_ccxt_stream import feed_config as stream_feed_config
from tests.fake_exchange.binance_ws import FakeBinanceStreams
from tests.waiting import eventually
from trading.events import LIMIT, OrderFilled, SubmitOrder
from trading.feeds.live_candles import CandleBatch, CandleHistory, CandleReach
from trading.market_data import Candle, TickerUpdated
from trading.markets import Side
from trading.venues.ccxt_venue.ticker_source import CcxtPollSource
from trading.venues.paper_markets import paper_market

D = Decimal
SYMBOL = "XRP/USDT"
T0 = 1_704_067_200_000  # a minute's open, epoch ms
MINUTE = 60_000


def candle(t: int, o: str, h: str, low: str, c: str, v: str = "0") -> Candle:
    return Candle(t, D(o), D(h), D(low), D(c), D(v))


class Subscriber(SupervisedActor):
    """Puts each ticker it takes on `received`; waits for `gate` before taking, if given
    (a slow subscriber, whose outbox conflates)."""

    def __init__(self, *, received: queue.Queue[TickerUpdated], gate: threading.Event | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.received = received
        self.gate = gate

    def on_market_data_ready(self, message: MarketDataReady) -> None:
        if self.gate is not None:
            self.gate.wait(10)
        for ticker in message.outbox.take():
            self.received.put(ticker)


def feed_candles(feed: Any) -> tuple[Candle, ...]:
    reply = FutureReply()
    feed.tell(GetFeedCandles(reply=reply))
    answer: FeedCandles = reply.wait(10)
    return answer.candles


def poll_config(rest: Any, **changes: Any) -> CcxtPollFeedConfig:
    fields: dict[str, Any] = {
        "id": "xrp", "source": "ccxt_poll", "exchange": "binance", "symbol": SYMBOL,
        "interval_s": 0.1, "max_backoff_s": 0.4, "timeout_s": 2.0, "urls": {"all": rest.url},
        "candle_interval_s": 0.1,
    }
    fields.update(changes)
    return CcxtPollFeedConfig.model_validate(fields)


def start_feed(scheduler: Any, config: Any, gate: threading.Event | None = None):
    source = feed_source(config)
    feed = MarketFeedActor.start(name="feed:xrp", scheduler=scheduler, source=source, symbol=SYMBOL)
    received: queue.Queue[TickerUpdated] = queue.Queue()
    feed.tell(SubscribeMarketData(ref=Subscriber.start(name="subscriber", received=received, gate=gate)))
    return feed, source, received


def next_ticker(received: queue.Queue[TickerUpdated], wanted: Any, timeout: float = 10.0) -> TickerUpdated:
    while True:
        ticker = received.get(timeout=timeout)
        if wanted(ticker):
            return ticker


# -- ccxt_poll ----------------------------------------------------------------------------


def test_a_poll_source_delivers_each_new_or_changed_candle_once(fake_binance):
    engine = fake_binance.engine
    engine.set_candle("XRPUSDT", T0, "1.1000", "1.1200", "1.0900", "1.1100", "1234.5")
    engine.set_candle("XRPUSDT", T0 + MINUTE, "1.1100", "1.1100", "1.1000", "1.1000", "10")
    source = feed_source(poll_config(fake_binance))
    assert isinstance(source, CcxtPollSource)
    source.candle_interval_s = 0  # candles with every poll here; the interval has its own test

    def poll() -> list[CandleBatch]:
        quote, _ = source.poll()
        assert quote is not None, source.last_error
        return source.take_candles()

    backfill, = poll()
    assert backfill.backfill and backfill.candles == (
        candle(T0, "1.1", "1.12", "1.09", "1.11", "1234.5"), candle(T0 + MINUTE, "1.11", "1.11", "1.1", "1.1", "10"),
    )
    assert all(type(v) is Decimal for c in backfill.candles for v in (c.open, c.high, c.low, c.close, c.volume))
    assert poll() == []  # nothing changed: nothing again

    engine.set_candle("XRPUSDT", T0 + MINUTE, "1.1100", "1.1100", "1.0500", "1.0800", "25")
    assert poll() == [CandleBatch((candle(T0 + MINUTE, "1.11", "1.11", "1.05", "1.08", "25"),))]
    assert poll() == []

    engine.set_candle("XRPUSDT", T0 + 2 * MINUTE, "1.0800", "1.1500", "1.0800", "1.1400", "5")
    assert poll() == [CandleBatch((candle(T0 + 2 * MINUTE, "1.08", "1.15", "1.08", "1.14", "5"),))]
    assert poll() == []
    # After the backfill, each poll asks from the newest candle it has on.
    asked = [r.params for r in fake_binance.requests_to("GET", "/api/v3/klines")]
    assert "startTime" not in asked[0] and asked[0]["limit"] == "500"
    assert {a["startTime"] for a in asked[1:]} == {str(T0 + MINUTE), str(T0 + 2 * MINUTE)}
    assert {a["limit"] for a in asked[1:]} == {"100"}
    assert source.errors == 0


def test_candles_are_polled_every_candle_interval_not_with_every_ticker(fake_binance):
    """Each candle poll costs the exchange's rate limit about what a ticker poll does, and a
    live account on the same IP shares that limit."""
    now = [1000.0]
    config = poll_config(fake_binance, candle_interval_s=15)
    source = CcxtPollSource(exchange="binance", symbol=SYMBOL, interval_s=0.1, urls=config.urls,
                            candle_interval_s=config.candle_interval_s, monotonic=lambda: now[0])

    def klines_asked() -> int:
        return len(fake_binance.requests_to("GET", "/api/v3/klines"))

    for _ in range(5):  # the backfill, then tickers only for 14 s
        assert source.poll()[0] is not None, source.last_error
        now[0] += 3.5
    assert (klines_asked(), len(fake_binance.requests_to("GET", "/api/v3/ticker/24hr"))) == (1, 5)
    assert source.poll()[0] is not None  # 17.5 s after the backfill
    assert klines_asked() == 2


def test_a_poll_feed_trades_on_what_the_candles_reached_and_keeps_them(scheduler, fake_binance):
    engine = fake_binance.engine
    engine.set_candle("XRPUSDT", T0, "1.1000", "1.1000", "1.1000", "1.1000")
    feed, source, received = start_feed(scheduler, poll_config(fake_binance))
    next_ticker(received, lambda t: t.last == D("1.1"))
    eventually(lambda: len(feed_candles(feed)) == 1, what="the backfill")

    engine.set_candle("XRPUSDT", T0, "1.1000", "1.1000", "1.0420", "1.1000", "7.5")
    dipped = next_ticker(received, lambda t: t.low < t.last)
    assert (dipped.last, dipped.low, dipped.high) == (D("1.1"), D("1.042"), D("1.1"))
    engine.set_candle("XRPUSDT", T0 + MINUTE, "1.1000", "1.1800", "1.0900", "1.1000")
    spiked = next_ticker(received, lambda t: t.high > t.last)
    assert (spiked.last, spiked.low, spiked.high) == (D("1.1"), D("1.09"), D("1.18"))

    # The candles reached those prices once: later polls carry the last price alone.
    for _ in range(5):
        later = received.get(timeout=10)
        assert later.low == later.high == later.last == D("1.1")
    assert feed_candles(feed) == (
        candle(T0, "1.1", "1.1", "1.042", "1.1", "7.5"), candle(T0 + MINUTE, "1.1", "1.18", "1.09", "1.1"),
    )
    assert source.errors == 0 and feed.is_alive()


def test_a_resting_paper_buy_between_the_last_price_and_a_candle_low_fills(engine, scheduler, bus, fake_binance):
    """The polled last price never reaches the buy; the candle's low between two polls does."""
    binance = fake_binance.engine
    binance.set_candle("XRPUSDT", T0, "1.1000", "1.1000", "1.1000", "1.1000")
    stack = TradingStack(engine, scheduler, bus, markets={SYMBOL: paper_market(SYMBOL, D("0.001"), D("0.001"))},
                         balances={"USDT": D("1000")})
    stack.start(ChildSpec("feed:xrp", MarketFeedActor, {
        "scheduler": scheduler, "source": feed_source(poll_config(fake_binance)), "symbol": SYMBOL,
        "subscriptions": FeedSubscriptions(),
    }))
    exchange = stack.directory.get(exchange_name(ACCOUNT))
    stack.directory.tell("feed:xrp", SubscribeMarketData(ref=exchange))

    def last_price() -> Decimal | None:
        reply = FutureReply()
        exchange.tell(GetAccountBalances(reply=reply))
        return reply.wait(10).last_prices.get(SYMBOL)

    eventually(lambda: last_price() == D("1.1"), what="the paper venue's first price")
    exchange.tell(SubmitOrder(account_id=ACCOUNT, bot_id=None, client_order_id="td-test-000001", symbol=SYMBOL,
                              side=Side.BUY, order_type=LIMIT, quantity=D("10"), price=D("1.05")))

    def fills() -> list[OrderFilled]:
        return [e for e in stack.store.read_all_events(account_id=ACCOUNT) if isinstance(e, OrderFilled)]

    assert not stack.wait_until(lambda: bool(fills()), timeout=1.0)  # 1.1 polled again and again

    binance.set_candle("XRPUSDT", T0, "1.1000", "1.1000", "1.0400", "1.1000")  # dipped between polls
    assert stack.wait_until(lambda: bool(fills()))
    fill, = fills()
    assert (fill.client_order_id, fill.price, fill.quantity) == ("td-test-000001", D("1.05"), D("10"))
    assert last_price() == D("1.1")  # the ticker never went there


def test_a_slow_subscriber_gets_the_candle_range_merged_not_queued(scheduler, fake_binance):
    engine = fake_binance.engine
    engine.set_candle("XRPUSDT", T0, "1.1000", "1.1000", "1.1000", "1.1000")
    gate = threading.Event()
    feed, source, received = start_feed(scheduler, poll_config(fake_binance), gate=gate)
    eventually(lambda: len(feed_candles(feed)) == 1, what="the backfill")

    engine.set_candle("XRPUSDT", T0, "1.1000", "1.1000", "1.0300", "1.1000")
    eventually(lambda: feed_candles(feed)[-1].low == D("1.03"), what="the dip polled")
    engine.set_candle("XRPUSDT", T0 + MINUTE, "1.1000", "1.2100", "1.1000", "1.1000")
    eventually(lambda: len(feed_candles(feed)) == 2, what="the spike polled")
    polls = source.polls
    eventually(lambda: source.polls >= polls + 3, what="more polls")

    gate.set()  # the subscriber was busy since the first price: all of it waited as one ticker
    merged = received.get(timeout=10)
    assert (merged.last, merged.low, merged.high) == (D("1.1"), D("1.03"), D("1.21"))
    subscriptions: FeedSubscriptions = feed.proxy().subscriptions.get()
    assert subscriptions.conflated >= 3  # the polls' tickers, merged rather than queued
    assert feed.is_alive()


# -- ccxt_stream --------------------------------------------------------------------------


def stream_config(rest: Any, streams: FakeBinanceStreams, **changes: Any) -> CcxtStreamFeedConfig:
    return stream_feed_config(rest, streams, **{"candles": True, **changes})


def test_a_stream_feed_delivers_kline_candles_and_reconnects(scheduler, fake_binance, streams):
    fake_binance.engine.set_candle("XRPUSDT", T0 - MINUTE, "1.0900", "1.1000", "1.0800", "1.1000", "3")
    streams.set_price("XRPUSDT", "1.1000")
    streams.set_candle("XRPUSDT", T0, "1.1000", "1.1000", "1.1000", "1.1000", "1")
    feed, source, received = start_feed(scheduler, stream_config(fake_binance, streams))
    next_ticker(received, lambda t: t.last == D("1.1"))
    eventually(lambda: len(feed_candles(feed)) == 2, what="the backfill and the streamed candle")
    assert feed_candles(feed)[0] == candle(T0 - MINUTE, "1.09", "1.1", "1.08", "1.1", "3")  # from REST

    streams.set_candle("XRPUSDT", T0, "1.1000", "1.1000", "1.0610", "1.0900", "2.5")
    dipped = next_ticker(received, lambda t: t.low < t.last)
    assert (dipped.low, dipped.high) == (D("1.061"), D("1.1"))
    assert feed_candles(feed)[-1] == candle(T0, "1.1", "1.1", "1.061", "1.09", "2.5")
    assert sorted(sum(streams.subscribe_requests, [])) == ["xrpusdt@kline_1m", "xrpusdt@ticker"]
    # The server pushes the open candle again with every pulse; each version arrives once.
    eventually(lambda: source.candles_received >= 2)
    received_before = source.candles_received
    threading.Event().wait(0.5)
    assert source.candles_received == received_before

    streams.refuse_for(0.6)
    streams.drop_connections()
    eventually(lambda: source.errors >= 2, what="failed reconnects")
    streams.set_candle("XRPUSDT", T0 + MINUTE, "1.0900", "1.1300", "1.0900", "1.1200", "4")
    spiked = next_ticker(received, lambda t: t.high == D("1.13"))
    assert spiked.low <= spiked.last <= spiked.high
    assert feed_candles(feed)[-1] == candle(T0 + MINUTE, "1.09", "1.13", "1.09", "1.12", "4")
    assert source.candle_backoff.failures == 0 and feed.is_alive()
    assert streams.subscribe_requests.count(["xrpusdt@kline_1m"]) >= 2  # subscribed again

    feed.stop()
    eventually(lambda: streams.subscribed() == 0, what="both websockets closing")


# -- the pure parts -----------------------------------------------------------------------


def test_candle_reach_gives_each_price_range_once():
    reach = CandleReach()
    reach.prime([candle(T0, "10", "11", "9", "10")])
    assert reach.reached(candle(T0, "10", "11", "9", "10.5")) is None  # only the close moved
    assert reach.reached(candle(T0, "10", "11", "8", "8.5")) == (D("8"), D("9"))
    assert reach.reached(candle(T0, "10", "12", "8", "12")) == (D("11"), D("12"))
    assert reach.reached(candle(T0, "10", "13", "7", "12")) == (D("7"), D("13"))
    assert reach.reached(candle(T0 + MINUTE, "12", "12.5", "11.5", "12")) == (D("11.5"), D("12.5"))


def test_candle_history_keeps_the_newest_versions_bounded():
    history = CandleHistory(limit=3)
    history.add(candle(T0 + i * MINUTE, "1", "1", "1", "1") for i in range(5))
    history.add([candle(T0 + 4 * MINUTE, "1", "2", "1", "2")])
    assert [c.open_time_ms for c in history.candles()] == [T0 + 2 * MINUTE, T0 + 3 * MINUTE, T0 + 4 * MINUTE]
    assert history.candles()[-1].high == D("2")


def test_streamed_candles_wait_for_the_actor_as_their_newest_versions():
    told: list[Any] = []

    class Ref:
        def tell(self, message: Any) -> None:
            told.append(message)

    latest = LatestQuote(Ref())  # type: ignore[arg-type]
    latest.offer(CandleBatch((candle(T0, "1", "1", "0.9", "1"),)))
    latest.offer(CandleBatch((candle(T0, "1", "1", "0.8", "1"), candle(T0 + MINUTE, "1", "1.1", "1", "1"))))
    assert len(told) == 1  # one notification for both
    assert latest.take() is None
    assert latest.take_candles() == [CandleBatch((candle(T0, "1", "1", "0.8", "1"), candle(T0 + MINUTE, "1", "1.1", "1", "1")))]
    assert latest.take_candles() == []


def test_failing_candles_never_cost_a_poll_its_price(fake_binance):
    """The candles are extra: when the exchange refuses them the ticker still arrives, the
    poll does not back off, and the candles are tried again after their own backoff."""
    now = [1000.0]
    source = CcxtPollSource(exchange="binance", symbol=SYMBOL, interval_s=0.1, max_backoff_s=4.0,
                            urls={"all": fake_binance.url}, candle_interval_s=1.0, monotonic=lambda: now[0])
    fake_binance.faults.only_paths = ("/api/v3/klines",)
    fake_binance.faults.kinds = ("503",)
    fake_binance.faults.failure_rate = 1.0
    fake_binance.engine.set_candle("XRPUSDT", T0, "1.1000", "1.1200", "1.0900", "1.1100", "5")

    for _ in range(3):
        quote, delay = source.poll()
        assert quote is not None and delay == 0.1, source.last_error
        now[0] += 0.5
    klines = fake_binance.requests_to("GET", "/api/v3/klines")
    assert len(klines) == 2 and source.candle_backoff.failures == 2  # at 0 s and at 1 s, not every poll
    assert source.take_candles() == []

    fake_binance.faults.failure_rate = 0.0
    now[0] += 5.0
    assert source.poll()[0] is not None
    backfill, = source.take_candles()
    assert backfill.backfill and backfill.candles[0].low == D("1.09")
    assert source.candle_backoff.failures == 0


def test_a_candle_poll_told_to_slow_down_waits_as_long_as_the_exchange_says(fake_binance):
    """A 429's Retry-After outlasts the candles' own backoff; the ticker polls on, error-free."""
    now = [1000.0]
    source = CcxtPollSource(exchange="binance", symbol=SYMBOL, interval_s=0.1, max_backoff_s=4.0,
                            urls={"all": fake_binance.url}, candle_interval_s=1.0, monotonic=lambda: now[0])
    fake_binance.faults.only_paths = ("/api/v3/klines",)
    fake_binance.fail(1.0, ("429",), retry_after_s=30)

    def klines_asked() -> int:
        return len(fake_binance.requests_to("GET", "/api/v3/klines"))

    for _ in range(6):  # at 0 s, then every 5 s up to 25 s
        assert source.poll()[0] is not None, source.last_error
        now[0] += 5.0
    assert klines_asked() == 1 and source.candle_backoff.failures == 1
    now[0] += 1.0  # 31 s after the 429
    source.poll()
    assert klines_asked() == 2
    assert source.errors == 0 and source.backoff.failures == 0  # the candles' failures are their own
