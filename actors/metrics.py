"""Prometheus metrics of the trading actors, and the `MetricsActor` that keeps them.

The metric objects live on a `CollectorRegistry` the daemon makes and passes in
(`ActorMetrics(registry, directory)`), never on prometheus_client's global registry: tests
build isolated registries, and two daemons in one test process never collide. Counters
that follow events (orders, fills, restarts, bot status) are fed by the `MetricsActor` from
the bus, off the hot path; timings no event carries (venue calls, journal commits) are
observed where they happen; depths (mailboxes, journal backlog) and the feeds' counts are
read when Prometheus scrapes.

Labels carry only values traderd made or the operator configured (account, feed and actor
names, bot UUIDs, asset codes) and codes from a bounded set: never user input.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pykka
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from actors.bot import BOT_STATUSES, BotProfit, GetBotProfit
from actors.bus import SYSTEM_TOPIC, EventBus
from actors.directory import ActorDirectory
from actors.messages import ActorGaveUp, ActorRestarted, Tick
from actors.reply import ActorReply
from actors.scheduler import Scheduler, Timer
from actors.supervised import SupervisedActor
from actors.topics import BOTS, ORDERS
from trading.events import (
    BotStatusChanged,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
)
from trading.messages import Command

if TYPE_CHECKING:
    from actors.feed import FeedSubscriptions

logger = logging.getLogger(__name__)

POLL = "metrics-poll"
BOT_PREFIX = "bot:"
FEED_PREFIX = "feed:"
OTHER = "OTHER"

# Seconds: a paper venue answers in microseconds, a real exchange in tens of milliseconds.
LATENCY_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)

_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,47}")


class BoundedCodes:
    """Exchange and risk codes as label values: upper snake case only, and at most `limit`
    distinct ones; anything else is `OTHER`. A venue that put text or ids in its codes
    must not blow up the number of series. Used from the metrics actor's thread only."""

    def __init__(self, limit: int = 64) -> None:
        self.limit = limit
        self._seen: set[str] = set()

    def __call__(self, code: str | None) -> str:
        if code in self._seen:
            return code  # type: ignore[return-value]
        if not code or not _CODE.fullmatch(code) or len(self._seen) >= self.limit:
            return OTHER
        self._seen.add(code)
        return code


class TickToOrder:
    """Times from a ticker to the venue's acceptance of an order sent in answer to it.

    The bot calls `started` (with the ticker's `ts_event`) for each order it sends while
    handling a ticker; the metrics actor calls `accepted` with the acceptance's `ts_init`,
    or `forget` when the order was refused. Bots and the metrics actor run on different
    threads, hence the lock; only orders take it, never a plain tick. At most `limit`
    orders wait (the oldest are dropped), so an acceptance that never comes leaks nothing.
    """

    def __init__(self, histogram: Histogram, limit: int = 10_000) -> None:
        self.histogram = histogram
        self.limit = limit
        self._lock = threading.Lock()
        self._started: dict[str, int] = {}

    def started(self, client_order_id: str, ticker_ts_ns: int) -> None:
        with self._lock:
            if len(self._started) >= self.limit:
                self._started.pop(next(iter(self._started)))
            self._started[client_order_id] = ticker_ts_ns

    def accepted(self, client_order_id: str, accepted_ts_ns: int) -> None:
        with self._lock:
            started = self._started.pop(client_order_id, None)
        if started is not None and accepted_ts_ns >= started:
            self.histogram.observe((accepted_ts_ns - started) / 1e9)

    def forget(self, client_order_id: str) -> None:
        with self._lock:
            self._started.pop(client_order_id, None)

    def __len__(self) -> int:
        return len(self._started)


class ActorMetrics:
    """Every actor-side metric of one daemon, registered on `registry`.

    One instance is shared by the actors that observe something (journal, exchanges,
    feeds, bots) and by the `MetricsActor`; it outlives their restarts, so counters stay
    monotonic when an actor comes back.
    """

    def __init__(self, registry: CollectorRegistry, directory: ActorDirectory | None = None) -> None:
        self.registry = registry

        def counter(name: str, doc: str, labels: Iterable[str] = ()) -> Counter:
            return Counter(name, doc, list(labels), registry=registry)

        def gauge(name: str, doc: str, labels: Iterable[str] = ()) -> Gauge:
            return Gauge(name, doc, list(labels), registry=registry)

        def histogram(name: str, doc: str, labels: Iterable[str] = (), buckets: tuple[float, ...] = LATENCY_BUCKETS) -> Histogram:
            return Histogram(name, doc, list(labels), registry=registry, buckets=buckets)

        self.orders_submitted = counter("traderd_orders_submitted", "Orders handed to a venue.", ["account"])
        self.orders_filled = counter("traderd_orders_filled", "Orders filled in full.", ["account"])
        self.orders_rejected = counter(
            "traderd_orders_rejected", "Orders the venue refused, by its code.", ["account", "reason"]
        )
        self.orders_canceled = counter("traderd_orders_canceled", "Orders canceled on the venue.", ["account"])
        self.orders_denied = counter(
            "traderd_orders_denied", "Orders the risk checks refused, by their code.", ["account", "reason"]
        )
        self.fills = counter("traderd_fills", "Executions (trades), partial or full.", ["account"])
        self.fees = counter("traderd_fees", "Fees paid, in the fee's currency.", ["account", "currency"])
        self.bots = gauge("traderd_bots", "Bots by status.", ["status"])
        self.bot_grid_profit = gauge(
            "traderd_bot_grid_profit", "A bot's profit from completed grid cycles, in its quote currency.",
            ["bot_id", "currency"],
        )
        self.bot_total_profit = gauge(
            "traderd_bot_total_profit", "A bot's current value less its investment, in its quote currency.",
            ["bot_id", "currency"],
        )
        self.venue_latency = histogram(
            "traderd_venue_request_duration_seconds", "Time of the exchange actor's calls into its venue.",
            ["account", "method"],
        )
        self.venue_errors = counter(
            "traderd_venue_request_errors", "Venue calls that raised, by exception class.",
            ["account", "method", "error"],
        )
        self.tick_to_order = TickToOrder(histogram(
            "traderd_tick_to_order_seconds",
            "From a ticker's event time to the venue's acceptance of an order a bot sent in answer to it.",
        ))
        self.actor_restarts = counter("traderd_actor_restarts", "Restarts of a supervised actor.", ["actor"])
        self.actor_give_ups = counter(
            "traderd_actor_give_ups", "Supervised actors left stopped after too many failures.", ["actor"]
        )
        self.journal_batch = histogram(
            "traderd_journal_batch_events", "Events per journal commit.", buckets=BATCH_BUCKETS
        )
        self.journal_commit = histogram(
            "traderd_journal_commit_duration_seconds", "Time of one journal commit (a batch)."
        )
        self.journal_failures = counter(
            "traderd_journal_commit_failures", "Journal commits the database refused (retried later)."
        )
        self.journal_backlog = gauge("traderd_journal_backlog_events", "Events the journal holds uncommitted.")
        self.circuit_breaker = gauge(
            "traderd_circuit_breaker_state", "An exchange account's circuit breaker: 0 closed, 1 half open, 2 open.",
            ["account"],
        )
        self.reasons = BoundedCodes()
        self._feeds: dict[str, FeedSubscriptions] = {}
        registry.register(_ScrapeTimeCollector(self, directory))

    def watch_feed(self, name: str, subscriptions: FeedSubscriptions) -> None:
        """Count `subscriptions` under the feed `name` (idempotent: a restarted feed calls
        it again with the same subscriptions)."""
        self._feeds[name.removeprefix(FEED_PREFIX)] = subscriptions

    def feeds(self) -> list[tuple[str, FeedSubscriptions]]:
        return sorted(self._feeds.items())


class _ScrapeTimeCollector(Collector):
    """What is cheaper to read when Prometheus asks than to keep up to date: mailbox
    depths (`qsize()` is thread-safe) and the feeds' counts."""

    def __init__(self, metrics: ActorMetrics, directory: ActorDirectory | None) -> None:
        self.metrics = metrics
        self.directory = directory

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "traderd_actor_mailbox_depth", "Messages waiting in each supervised actor's mailbox.", labels=["actor"]
        )
        if self.directory is not None:
            for name, ref in self.directory.snapshot():
                depth.add_metric([name], ref.actor_inbox.qsize())
        yield depth
        received = CounterMetricFamily(
            "traderd_market_data_received", "Prices each feed received from its source.", labels=["feed"]
        )
        conflated = CounterMetricFamily(
            "traderd_market_data_conflated",
            "Prices merged into an undelivered one for a slow subscriber (latest wins).", labels=["feed"],
        )
        for feed, subscriptions in self.metrics.feeds():
            received.add_metric([feed], subscriptions.received)
            conflated.add_metric([feed], subscriptions.conflated)
        yield received
        yield conflated


# -- the actor -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BotProfitReported(Command):
    """A bot's answer to `GetBotProfit` (or the error it failed with)."""

    result: Any


class MetricsActor(SupervisedActor):
    """Turns order, bot and supervision events into counters, and polls the bots' profit.

    Profit moves with every price, so rather than have bots report on each ticker (the hot
    path), this actor asks every bot in the directory every `poll_interval_s`. The answers
    carry the bot's status too, so a restarted metrics actor knows every bot again.
    """

    def __init__(
        self,
        *,
        name: str,
        metrics: ActorMetrics,
        bus: EventBus,
        directory: ActorDirectory,
        scheduler: Scheduler,
        poll_interval_s: float = 5.0,
        supervisor: pykka.ActorRef[Any] | None = None,
    ) -> None:
        super().__init__(name=name, supervisor=supervisor)
        self.metrics = metrics
        self.bus = bus
        self.directory = directory
        self.scheduler = scheduler
        self.poll_interval_s = poll_interval_s
        self._timer: Timer | None = None
        self._status: dict[str, str] = {}

    def on_start(self) -> None:
        super().on_start()
        for topic in (ORDERS, BOTS, SYSTEM_TOPIC):
            self.bus.subscribe(topic, self.actor_ref)
        self._timer = self.scheduler.tell_every(self.poll_interval_s, self.actor_ref, lambda: Tick(timer=POLL))
        self._count_statuses()

    def on_release(self) -> None:
        self.bus.unsubscribe_all(self.actor_ref)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def on_receive(self, message: Any) -> Any:
        # The topics carry more than metrics count (system notices, say): ignore quietly.
        if self._handler_for(type(message)) is None:
            return None
        return super().on_receive(message)

    # -- orders ---------------------------------------------------------------------------

    def on_order_submitted(self, event: OrderSubmitted) -> None:
        self.metrics.orders_submitted.labels(event.account_id).inc()

    def on_order_accepted(self, event: OrderAccepted) -> None:
        self.metrics.tick_to_order.accepted(event.client_order_id, event.ts_init)

    def on_order_rejected(self, event: OrderRejected) -> None:
        self.metrics.tick_to_order.forget(event.client_order_id)
        self.metrics.orders_rejected.labels(event.account_id, self.metrics.reasons(event.code)).inc()

    def on_order_denied(self, event: OrderDenied) -> None:
        self.metrics.tick_to_order.forget(event.client_order_id)
        self.metrics.orders_denied.labels(event.account_id, self.metrics.reasons(event.code)).inc()

    def on_order_canceled(self, event: OrderCanceled) -> None:
        self.metrics.orders_canceled.labels(event.account_id).inc()

    def on_order_filled(self, event: OrderFilled) -> None:
        self.metrics.fills.labels(event.account_id).inc()
        if event.fee > 0:  # a maker rebate (negative fee) is no fee paid; counters only grow
            self.metrics.fees.labels(event.account_id, event.fee_currency).inc(float(event.fee))
        if event.order_completed:
            self.metrics.orders_filled.labels(event.account_id).inc()

    # -- bots and supervision -----------------------------------------------------------------

    def on_bot_status_changed(self, event: BotStatusChanged) -> None:
        self._set_status(event.bot_id, event.status)

    def on_actor_restarted(self, event: ActorRestarted) -> None:
        self.metrics.actor_restarts.labels(event.name).inc()

    def on_actor_gave_up(self, event: ActorGaveUp) -> None:
        self.metrics.actor_give_ups.labels(event.name).inc()
        if event.name.startswith(BOT_PREFIX):
            self._set_status(event.name.removeprefix(BOT_PREFIX), "error")

    def on_tick(self, tick: Tick) -> None:
        if tick.timer != POLL:
            return
        for name, _ in self.directory.snapshot():
            if name.startswith(BOT_PREFIX):
                self.directory.tell(name, GetBotProfit(reply=ActorReply(self.actor_ref, BotProfitReported)))

    def on_bot_profit_reported(self, message: BotProfitReported) -> None:
        profit = message.result
        if not isinstance(profit, BotProfit):
            return  # the bot failed to answer; its supervisor hears of it
        self._set_status(profit.bot_id, profit.status)
        if profit.grid_profit is not None and profit.total_profit is not None:
            self.metrics.bot_grid_profit.labels(profit.bot_id, profit.currency).set(_float(profit.grid_profit))
            self.metrics.bot_total_profit.labels(profit.bot_id, profit.currency).set(_float(profit.total_profit))

    def _set_status(self, bot_id: str, status: str) -> None:
        if self._status.get(bot_id) != status:
            self._status[bot_id] = status
            self._count_statuses()

    def _count_statuses(self) -> None:
        counts = dict.fromkeys(BOT_STATUSES, 0)
        for status in self._status.values():
            if status in counts:
                counts[status] += 1
        for status, count in counts.items():
            self.metrics.bots.labels(status).set(count)


def _float(value: Decimal) -> float:
    """Metrics are floats (DESIGN.md: floats only in plotting and metrics output)."""
    return float(value)


def venue_timer(metrics: ActorMetrics | None, account_id: str) -> VenueTimer | None:
    return None if metrics is None else VenueTimer(metrics, account_id)


class VenueTimer:
    """Times an exchange actor's calls into its venue and counts the ones that raise.

    The label children are looked up once per method: `on_ticker` runs on every price."""

    def __init__(self, metrics: ActorMetrics, account_id: str) -> None:
        self.metrics = metrics
        self.account_id = account_id
        self._latency: dict[str, Any] = {}

    def call(self, method: str, function: Any, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args)
        except Exception as error:
            self.metrics.venue_errors.labels(self.account_id, method, type(error).__name__).inc()
            raise
        finally:
            latency = self._latency.get(method)
            if latency is None:
                latency = self._latency[method] = self.metrics.venue_latency.labels(self.account_id, method)
            latency.observe(time.perf_counter() - started)
