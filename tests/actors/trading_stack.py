"""The daemon's trading actors, in-process: journal, risk, a paper exchange, feeds, bots.

The same actors and specs the daemon boots, on a real database, with feeds that move
only when a test publishes a price.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from actors.bot import BotActor
from actors.bus import EventBus
from actors.directory import ActorDirectory
from actors.exchange import AwaitReady, ExchangeActor
from actors.feed import FeedSubscriptions, MarketFeedActor, PublishPrice, SubscribeMarketData, price_list_source
from actors.journal import EventStore, JournalActor
from actors.messages import Flush
from actors.metrics import ActorMetrics, MetricsActor
from actors.reply import FutureReply
from actors.risk import RiskActor, RiskLimits, exchange_name
from actors.scheduler import Scheduler
from actors.supervisor import ChildSpec, RestartPolicy, StartChild, Supervisor
from storage import order_projections  # noqa: F401  (registers the projectors)
from storage.config_sync import ConfigAccount, ConfigBot, bot_tag, sync_config_objects
from storage.journal_store import JournalStore
from trading.clock import SYSTEM_CLOCK
from trading.markets import Market
from trading.strategies.base import Strategy, StrategyContext
from trading.venues.paper import PaperVenue

ACCOUNT = "paper"


class TradingStack:
    def __init__(
        self,
        engine: Engine,
        scheduler: Scheduler,
        bus: EventBus,
        *,
        markets: Mapping[str, Market],
        balances: Mapping[str, Decimal],
        policy: RestartPolicy = RestartPolicy(),
        risk: RiskLimits = RiskLimits(),
        bots: Sequence[tuple[str, str]] = (),
        journal_writer: EventStore | None = None,
        metrics: ActorMetrics | None = None,
        metrics_poll_s: float = 0.05,
        directory: ActorDirectory | None = None,
        venue_factory: Callable[[], Any] | None = None,
    ) -> None:
        """`bots` are (key, symbol) pairs whose rows are written now, before the journal
        runs, as the daemon does with config bots; `add_bot` starts them later.
        `journal_writer` is what the journal appends to (the daemon's writer process, say);
        by default the journal writes from its own thread. With `metrics`, every actor
        counts into it and a `MetricsActor` (polling bots every `metrics_poll_s`) runs.
        `venue_factory` replaces the paper venue (a `CcxtVenue` on the fake exchange, say);
        its exchange actor polls it on `scheduler`."""
        self.engine = engine
        self.scheduler = scheduler
        self.bus = bus
        self.markets = dict(markets)
        self.metrics = metrics
        self.directory = directory if directory is not None else ActorDirectory()
        self.store = JournalStore(engine)
        self.bot_rows = {key: _bot_row(key, symbol) for key, symbol in bots}
        sync_config_objects(engine, [ConfigAccount(id=ACCOUNT, exchange="paper")], list(self.bot_rows.values()))
        self.root = Supervisor.start(
            name="supervisor", scheduler=scheduler, bus=bus, policy=policy,
            directory=self.directory, sweep_interval_s=0.05,
        )
        self.start(ChildSpec("journal", JournalActor, {
            "store": journal_writer or self.store, "scheduler": scheduler, "batch_size": 500, "flush_interval_ms": 20, "bus": bus,
            "metrics": metrics,
        }))
        if metrics is not None:
            self.start(ChildSpec("metrics", MetricsActor, {
                "metrics": metrics, "bus": bus, "directory": self.directory, "scheduler": scheduler,
                "poll_interval_s": metrics_poll_s,
            }))
        self.start(ChildSpec("risk", RiskActor, {"limits": risk, "bus": bus, "directory": self.directory}))
        exchange = self.start(ChildSpec(exchange_name(ACCOUNT), ExchangeActor, {
            "account_id": ACCOUNT,
            "venue_factory": venue_factory or (lambda: PaperVenue(ACCOUNT, self.markets, dict(balances), SYSTEM_CLOCK)),
            "store": self.store, "bus": bus, "directory": self.directory, "metrics": metrics,
            "scheduler": scheduler,
        }))
        ready = FutureReply()
        exchange.tell(AwaitReady(reply=ready))
        ready.wait(10)

    def start(self, spec: ChildSpec) -> Any:
        reply = FutureReply()
        self.root.tell(StartChild(spec=spec, reply=reply))
        return reply.wait(10)

    def add_feed(self, symbol: str) -> str:
        name = f"feed:{symbol}"
        self.start(ChildSpec(name, MarketFeedActor, {
            "scheduler": self.scheduler, "source": price_list_source([]), "symbol": symbol,
            "subscriptions": FeedSubscriptions(), "metrics": self.metrics,
        }))
        self.directory.tell(name, SubscribeMarketData(ref=self.directory.get(exchange_name(ACCOUNT))))
        return name

    def add_bot(self, key: str, symbol: str, factory: Callable[[StrategyContext], Strategy], feed: str) -> str:
        bot = self.bot_rows.get(key)
        if bot is None:  # a bot added while the journal runs: fine in tests that write little
            bot = self.bot_rows[key] = _bot_row(key, symbol)
            sync_config_objects(self.engine, [ConfigAccount(id=ACCOUNT, exchange="paper")], [bot])
        self.start(ChildSpec(f"bot:{bot.id}", BotActor, {
            "bot_id": bot.id, "tag": bot_tag(bot.id), "account_id": ACCOUNT, "market": self.markets[symbol],
            "strategy_factory": factory, "feed_name": feed, "clock": SYSTEM_CLOCK,
            "store": self.store, "bus": self.bus, "directory": self.directory, "metrics": self.metrics,
        }))
        return bot.id

    def publish(self, feed: str, price: Decimal | str) -> None:
        self.directory.tell(feed, PublishPrice(price=Decimal(price)))

    def flush(self) -> None:
        reply = FutureReply()
        self.directory.tell("journal", Flush(reply=reply))
        reply.wait(10)

    def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.flush()
            if condition():
                return True
            time.sleep(0.05)
        return False


def _bot_row(key: str, symbol: str) -> ConfigBot:
    return ConfigBot(config_key=key, account_id=ACCOUNT, name=key, strategy="grid", symbol=symbol, config_json="{}")
