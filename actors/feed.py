"""The `MarketFeedActor`: one per configured feed; paces a source's prices and hands them,
conflated, to every subscriber.

A source is a re-iterable of `(delay_s, price)` steps (`trading.feeds`). The actor keeps
exactly one scheduler timer pending, for its next step, so however it is restarted it
never runs two timelines at once; it cancels that timer when it stops or fails. Each price
becomes a `TickerUpdated` (last = low = high = the price, `ts_event` from the injected
clock) offered to each subscriber's `ConflatingOutbox`; subscribers get `MarketDataReady`.

A restarted feed starts its source again from the beginning (a replay from the first
candle, a random walk from its start price and seed): market data is not journaled, and a
bot only needs prices to move on from wherever they are. Its subscribers survive the
restart when the daemon passes the same `FeedSubscriptions` to every incarnation (the
supervisor reuses a child's keyword arguments); without it they must subscribe again.
When a source without `loop` runs out, the actor stays up, silent: stopping would look
like a crash to the supervisor, which would start the replay again.

A `PolledSource` (`ccxt_poll`: a venue's REST ticker) is asked for its latest quote, on this
actor's thread, each time its poll is due, and says when the next one is; a failed poll
emits nothing and the feed goes on.

A `StreamedSource` (`ccxt_stream`: a venue's websocket ticker) runs in an asyncio loop on a
thread this actor starts in `on_start` and stops (closing the source's client) in
`on_release`; its quotes come back as `StreamQuoteReady`, latest wins (`actors/stream_thread`).

A ccxt feed (polled or streamed) also answers `GetOrderBook` from its exchange, on a book
worker thread of its own that `on_release` ends, so a slow exchange never holds up prices;
the last book is kept a second (`actors/order_books`). Other feeds refuse it.

Both ccxt sources also bring the exchange's 1m candles (`trading.feeds.live_candles`):
after each poll, or with a stream's quotes. The actor keeps the recent ones for the klines
API (`GetFeedCandles`) and trades on the prices each one newly reached: the next ticker's
`low`/`high` are widened to them (at the latest `last`), so a paper order between two
polled prices fills on the candle's low, and the conflating outboxes merge that range as
they merge any other (a candle never queues). A backfill is kept, never traded on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable

import pykka

from actors.conflation import ConflatingOutbox
from actors.messages import FeedCandles, FeedStatus, GetFeedCandles, GetFeedStatus, GetOrderBook, Tick
from actors.order_books import OrderBookDesk
from actors.scheduler import Scheduler, Timer
from actors.stream_thread import LatestQuote, StreamQuoteReady, StreamThread
from actors.supervised import SupervisedActor
from config.schema import CcxtPollFeedConfig, CcxtStreamFeedConfig, FeedConfig, RandomWalkFeedConfig, ReplayFeedConfig
from trading.clock import SYSTEM_CLOCK, Clock
from trading.feeds import FeedStep
from trading.feeds.candles import CandleReplay, read_candles
from trading.feeds.live_candles import CandleBatch, CandleHistory, CandleReach, PolledCandles
from trading.feeds.polled import PolledSource, Quote
from trading.feeds.random_walk import RandomWalk
from trading.feeds.streamed import StreamedSource
from trading.market_data import TickerUpdated
from trading.messages import Command
from trading.money import to_decimal

if TYPE_CHECKING:
    from actors.metrics import ActorMetrics

logger = logging.getLogger(__name__)

FEED_STEP = "feed-step"

FeedSource = Iterable[FeedStep]
"""Re-iterable `(delay_s, price)` steps; each `iter()` starts from the beginning."""


@dataclass(frozen=True)
class SubscribeMarketData(Command):
    """Deliver this feed's prices to `ref` (through `MarketDataReady`); idempotent. A new
    subscriber is offered the latest price at once, if the feed has one."""

    ref: pykka.ActorRef[Any]


@dataclass(frozen=True)
class UnsubscribeMarketData(Command):
    """Stop delivering to `ref`; whatever was pending for it is dropped."""

    ref: pykka.ActorRef[Any]


@dataclass(frozen=True)
class PublishPrice(Command):
    """Emit `price` now, outside the source's pace (tests and benchmarks). The ticker's
    `correlation_id` is this command's, so a benchmark can follow it downstream."""

    price: Decimal


# -- sources ------------------------------------------------------------------------------


class PacedPrices:
    """Prices at a fixed pace: the first at once, each next one `interval_s` later."""

    def __init__(self, prices: Iterable[Decimal], interval_s: float) -> None:
        if interval_s < 0:
            raise ValueError(f"interval must not be negative, got {interval_s}")
        self.prices = prices
        self.interval_s = interval_s

    def __iter__(self) -> Iterator[FeedStep]:
        delay_s = 0.0
        for price in self.prices:
            yield delay_s, price
            delay_s = self.interval_s


def replay_source(config: ReplayFeedConfig) -> CandleReplay:
    """The config's candle file replayed; the file is read and checked now, at boot."""
    return CandleReplay(read_candles(config.path), speed=config.speed, loop=config.loop)


def random_walk_source(config: RandomWalkFeedConfig) -> PacedPrices:
    """A seeded random walk, one price every `interval_s`."""
    walk = RandomWalk(config.start_price, config.volatility, config.seed)
    return PacedPrices(walk, config.interval_s)


def price_list_source(prices: Iterable[Decimal | str], interval_s: float = 0.0) -> PacedPrices:
    """Given prices, in order, then silence (tests and benchmarks)."""
    return PacedPrices(tuple(to_decimal(price) for price in prices), interval_s)


def ccxt_poll_source(config: CcxtPollFeedConfig) -> PolledSource:
    """The config's exchange ticker, polled every `interval_s` (ccxt is imported only here)."""
    from trading.venues.ccxt_venue.ticker_source import CcxtPollSource

    return CcxtPollSource(
        exchange=config.exchange, symbol=config.symbol, interval_s=config.interval_s,
        max_backoff_s=config.max_backoff_s, timeout_s=config.timeout_s,
        sandbox=config.sandbox, urls=config.urls, candles=config.candles,
        candle_interval_s=config.candle_interval_s,
    )


def ccxt_stream_source(config: CcxtStreamFeedConfig) -> StreamedSource:
    """The config's exchange ticker, streamed by ccxt.pro (imported only here)."""
    from trading.venues.ccxt_venue.stream_source import CcxtStreamSource

    return CcxtStreamSource(
        exchange=config.exchange, symbol=config.symbol, reconnect_s=config.reconnect_s,
        max_backoff_s=config.max_backoff_s, timeout_s=config.timeout_s,
        sandbox=config.sandbox, urls=config.urls, candles=config.candles,
    )


def feed_source(config: FeedConfig) -> FeedSource | PolledSource | StreamedSource:
    """The source a `[[feeds]]` entry describes."""
    if isinstance(config, ReplayFeedConfig):
        return replay_source(config)
    if isinstance(config, CcxtPollFeedConfig):
        return ccxt_poll_source(config)
    if isinstance(config, CcxtStreamFeedConfig):
        return ccxt_stream_source(config)
    return random_walk_source(config)


# -- subscriptions ------------------------------------------------------------------------


class FeedSubscriptions:
    """A feed's subscribers and their outboxes, keyed by actor URN.

    Kept outside the actor so that they outlive it: pass one instance in the feed's child
    spec and a restarted feed delivers to the same subscribers. Only the feed actor alive
    at the time changes it; the lock, taken only when a subscriber comes or goes, lets a
    metrics scrape read `conflated` from another thread without seeing it go down.
    """

    def __init__(self) -> None:
        self._outboxes: dict[str, ConflatingOutbox] = {}
        self._retired_conflated = 0
        self._lock = threading.Lock()
        self.received = 0  # prices offered, whatever the number of subscribers

    def add(self, ref: pykka.ActorRef[Any]) -> ConflatingOutbox | None:
        """A new outbox for `ref`, or None if it is subscribed already."""
        if ref.actor_urn in self._outboxes:
            return None
        with self._lock:
            outbox = self._outboxes[ref.actor_urn] = ConflatingOutbox(ref)
        return outbox

    def remove(self, ref: pykka.ActorRef[Any]) -> None:
        with self._lock:
            outbox = self._outboxes.pop(ref.actor_urn, None)
            if outbox is not None:
                outbox.close()
                self._retired_conflated += outbox.conflated

    def offer(self, ticker: TickerUpdated) -> None:
        """Offer `ticker` to every subscriber, dropping the dead ones."""
        self.received += 1
        for outbox in list(self._outboxes.values()):
            if not outbox.offer(ticker):
                logger.info("dropping market data subscriber %s: it is dead", outbox.subscriber)
                self.remove(outbox.subscriber)

    def __len__(self) -> int:
        return len(self._outboxes)

    @property
    def conflated(self) -> int:
        """Updates merged away so far, over every outbox this feed has had."""
        with self._lock:
            return self._retired_conflated + sum(o.conflated for o in self._outboxes.values())


# -- the actor ----------------------------------------------------------------------------


class MarketFeedActor(SupervisedActor):
    """Plays a source for one symbol and delivers it, conflated, to its subscribers."""

    def __init__(
        self,
        *,
        name: str,
        scheduler: Scheduler,
        source: FeedSource | PolledSource | StreamedSource,
        symbol: str,
        clock: Clock = SYSTEM_CLOCK,
        subscriptions: FeedSubscriptions | None = None,
        supervisor: pykka.ActorRef[Any] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        metrics: ActorMetrics | None = None,
    ) -> None:
        super().__init__(name=name, supervisor=supervisor)
        self.metrics = metrics
        self.polled = isinstance(source, PolledSource)
        self.streamed = isinstance(source, StreamedSource)
        if not self.polled and not self.streamed and iter(source) is source:  # type: ignore[arg-type]
            raise TypeError("a feed source must be re-iterable (a restart iterates it again)")
        self.scheduler = scheduler
        self.source = source
        self.symbol = symbol
        self.clock = clock
        self.subscriptions = subscriptions if subscriptions is not None else FeedSubscriptions()
        self._monotonic = monotonic
        self._steps: Iterator[FeedStep] = iter(())
        self._next_price: Decimal | None = None
        self._due = 0.0
        self._timer: Timer | None = None
        self._latest: TickerUpdated | None = None
        self._stream: StreamThread | None = None
        self.candles = CandleHistory()
        self._candle_reach = CandleReach()
        self.events_emitted = 0
        self.last_event_ns: int | None = None
        self.order_books = OrderBookDesk(source, symbol, monotonic)

    @property
    def conflated(self) -> int:
        """Price updates merged away for slow subscribers (see `ConflatingOutbox`)."""
        return self.subscriptions.conflated

    @property
    def subscriber_count(self) -> int:
        return len(self.subscriptions)

    def on_start(self) -> None:
        super().on_start()
        if self.metrics is not None:
            self.metrics.watch_feed(self.name, self.subscriptions)
        self._due = self._monotonic()
        if self.streamed:
            self._stream = StreamThread(self.source, LatestQuote(self.actor_ref), f"{self.name}-stream")  # type: ignore[arg-type]
            self._stream.start()
            return
        if self.polled:
            if isinstance(self.source, PolledCandles):
                self.source.restart_candles()  # this incarnation's history starts with a backfill
            self._set_timer(0.0)  # the first poll runs as a message, not inside on_start
            return
        self._steps = iter(self.source)  # type: ignore[arg-type]
        self._schedule_next_step()

    def on_release(self) -> None:
        self._cancel_timer()
        self.order_books.close()
        if self._stream is not None:
            self._stream.stop()
            self._stream = None

    # -- messages -----------------------------------------------------------------------

    def on_tick(self, tick: Tick) -> None:
        self._timer = None
        if self.polled:
            self._poll_source()
            return
        price, self._next_price = self._next_price, None
        if price is not None:
            self._emit(price, correlation_id=None)
        self._schedule_next_step()

    def on_stream_quote_ready(self, message: StreamQuoteReady) -> None:
        quote = message.latest.take()
        reach = self._take_candles(message.latest.take_candles())
        if self._stream is None:
            return
        if quote is not None:
            self._emit(quote.last, correlation_id=None, quote=quote, reach=reach)
        elif reach is not None:
            self._emit_reach(reach)

    def on_subscribe_market_data(self, command: SubscribeMarketData) -> None:
        outbox = self.subscriptions.add(command.ref)
        if outbox is not None and self._latest is not None and not outbox.offer(self._latest):
            self.subscriptions.remove(command.ref)

    def on_unsubscribe_market_data(self, command: UnsubscribeMarketData) -> None:
        self.subscriptions.remove(command.ref)

    def on_publish_price(self, command: PublishPrice) -> None:
        self._emit(command.price, correlation_id=command.correlation_id or command.message_id)

    def on_get_feed_candles(self, query: GetFeedCandles) -> None:
        query.reply.set_result(FeedCandles(symbol=self.symbol, candles=self.candles.candles()))

    def on_get_feed_status(self, query: GetFeedStatus) -> None:
        query.reply.set_result(FeedStatus(
            symbol=self.symbol,
            events_emitted=self.events_emitted,
            last_event_ns=self.last_event_ns,
            subscribers=self.subscriber_count,
            last_price=self._latest.last if self._latest is not None else None,
            exchange=self.order_books.exchange,
        ))

    def on_get_order_book(self, query: GetOrderBook) -> None:
        self.order_books.answer(query)

    # -- helpers ------------------------------------------------------------------------

    def _emit(
        self, price: Decimal, correlation_id: str | None, quote: Quote | None = None,
        reach: tuple[Decimal, Decimal] | None = None,
    ) -> None:
        """One ticker at `price`; its low/high span `reach` too (prices candles reached)."""
        now_ns = self.clock.now_ns()
        low, high = (price, price) if reach is None else (min(price, reach[0]), max(price, reach[1]))
        ticker = TickerUpdated(
            symbol=self.symbol, last=price, low=low, high=high,
            bid=quote.bid if quote is not None else None,
            ask=quote.ask if quote is not None else None,
            ts_event=now_ns, correlation_id=correlation_id,
        )
        self._latest = ticker
        self.events_emitted += 1
        self.last_event_ns = now_ns
        self.subscriptions.offer(ticker)

    def _emit_reach(self, reach: tuple[Decimal, Decimal]) -> None:
        """Candles reached new prices with no new quote: the latest price again, widened."""
        latest = self._latest
        last = latest.last if latest is not None else self.candles.candles()[-1].close
        quote = Quote(last, latest.bid, latest.ask) if latest is not None else None
        self._emit(last, correlation_id=None, quote=quote, reach=reach)

    def _take_candles(self, batches: list[CandleBatch]) -> tuple[Decimal, Decimal] | None:
        """Keep the candles for the klines API; the range of prices they newly reached
        (None if none: a backfill, or versions that only changed close or volume)."""
        low: Decimal | None = None
        high: Decimal | None = None
        for batch in batches:
            self.candles.add(batch.candles)
            if batch.backfill:
                self._candle_reach.prime(batch.candles)
                continue
            for candle in batch.candles:
                reached = self._candle_reach.reached(candle)
                if reached is not None:
                    low = reached[0] if low is None else min(low, reached[0])
                    high = reached[1] if high is None else max(high, reached[1])
        return None if low is None or high is None else (low, high)

    def _schedule_next_step(self) -> None:
        """Take the source's next step and set the one timer for it.

        Steps are timed from when the previous one was due, not from when it ran, so the
        pace does not drift; a feed that fell behind goes on from now rather than
        catching up in a burst.
        """
        step = next(self._steps, None)
        if step is None:
            logger.info("%s: the source has no more prices after %d", self.name, self.events_emitted)
            return
        delay_s, self._next_price = step
        self._set_timer(delay_s)

    def _poll_source(self) -> None:
        """Ask the polled source now (its venue call blocks this actor only) and set the
        timer for the next poll; a failed poll emits nothing."""
        quote, delay_s = self.source.poll()  # type: ignore[union-attr]
        if isinstance(self.source, PolledCandles):
            reach = self._take_candles(self.source.take_candles())
        else:
            reach = None
        if quote is not None:
            self._emit(quote.last, correlation_id=None, quote=quote, reach=reach)
        self._set_timer(delay_s)

    def _set_timer(self, delay_s: float) -> None:
        """The one timer, `delay_s` after the previous step was due (or now, if late)."""
        now = self._monotonic()
        self._due = max(self._due + delay_s, now)
        # Thread boundary: the scheduler's thread tells the Tick back into this mailbox.
        self._timer = self.scheduler.tell_later(
            self._due - now, self.actor_ref, Tick(timer=FEED_STEP)
        )

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
