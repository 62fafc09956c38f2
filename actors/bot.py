"""The `BotActor`: one per bot; hosts its strategy and speaks for it.

At start (and after a restart) it subscribes to its bus topic, asks the journal to flush,
and replays the bot's journaled events through a fresh strategy: that rebuilds the grid,
the orders it has open and the client order id sequence exactly. Events that arrive while
it restores are kept and applied after, once each. Then it resumes the status it had.

Prices arrive conflated (`MarketDataReady`: the latest price, with the range since the
last one), so a slow bot never builds a backlog. Each price and each order event is
followed by `strategy.decide()`, whose orders go to the risk actor and whose cancels go
straight to the exchange actor.

After any message that changed its figures (status, price, fills) it publishes a
`BotFigures` on `BOT_VIEW`: the API's read model of bots answers from those, never by
asking the actor.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable

import pykka

from actors.bus import EventBus
from actors.directory import ActorDirectory
from actors.feed import SubscribeMarketData
from actors.messages import FIGURE_FIELDS, BotFigures, BotState, Flush, GetBotState
from actors.reply import ActorReply, Reply
from actors.risk import JOURNAL, RISK, exchange_name
from actors.supervised import SupervisedActor
from actors.topics import BOT_VIEW, BOTS, bot_topic
from storage.journal_store import JournalStore
from trading.clock import Clock
from trading.events import BotStatusChanged, CancelOrder, OrderDenied, OrderSubmitted, SubmitOrder
from trading.markets import Market
from trading.messages import Command, Event
from trading.strategies.base import Strategy, StrategyContext

if TYPE_CHECKING:
    from actors.metrics import ActorMetrics

logger = logging.getLogger(__name__)

STOPPED, STARTING, RUNNING, PAUSED, STOPPING, ERROR = (
    "stopped", "starting", "running", "paused", "stopping", "error",
)
BOT_STATUSES = (STOPPED, STARTING, RUNNING, PAUSED, STOPPING, ERROR)


@dataclass(frozen=True)
class StopPolicy:
    """What a stop does with the bot's orders and base, unless the stop command says."""

    cancel_orders: bool = True
    sell_base: bool = False


@dataclass(frozen=True)
class RestoreBot(Command):
    """The journal flushed (or could not: `error`); the bot may replay its events now."""

    error: str | None = None


@dataclass(frozen=True)
class StartBot(Command):
    bot_id: str


@dataclass(frozen=True)
class StopBot(Command):
    bot_id: str
    cancel_orders: bool | None = None
    sell_base: bool | None = None


@dataclass(frozen=True)
class PauseBot(Command):
    """Keep the orders; make no new decisions until resumed. `reason` is shown as the bot's
    error_message (the exchange refused the account's keys, say) until it is resumed."""

    bot_id: str
    reason: str | None = None


@dataclass(frozen=True)
class ResumeBot(Command):
    bot_id: str


@dataclass(frozen=True)
class GetBotProfit(Command):
    """Query: the bot answers at once with a `BotProfit` (for metrics)."""

    reply: Reply


@dataclass(frozen=True)
class BotProfit:
    """A bot's status and profit in its quote currency; no profit before its strategy runs."""

    bot_id: str
    status: str
    currency: str
    grid_profit: Decimal | None
    total_profit: Decimal | None


def client_order_id(tag: str, sequence: int) -> str:
    """`td-<tag>-<sequence>`: short, and within every exchange's length and alphabet."""
    return f"td-{tag}-{sequence:06d}"


def sequence_of(tag: str, client_order_id_: str) -> int | None:
    match = re.fullmatch(rf"td-{re.escape(tag)}-(\d+)", client_order_id_)
    return int(match.group(1)) if match else None


class BotActor(SupervisedActor):
    """See the module docstring."""

    def __init__(
        self,
        *,
        name: str,
        bot_id: str,
        tag: str,
        account_id: str,
        market: Market,
        strategy_factory: Callable[[StrategyContext], Strategy],
        feed_name: str,
        clock: Clock,
        store: JournalStore,
        bus: EventBus,
        directory: ActorDirectory,
        auto_start: bool = True,
        stop_policy: StopPolicy = StopPolicy(),
        metrics: ActorMetrics | None = None,
        supervisor: pykka.ActorRef[Any] | None = None,
    ) -> None:
        super().__init__(name=name, supervisor=supervisor)
        self.metrics = metrics
        self._ticker_ts: int | None = None  # the ticker being answered, for tick-to-order
        self.bot_id = bot_id
        self.tag = tag
        self.account_id = account_id
        self.market = market
        self.strategy_factory = strategy_factory
        self.feed_name = feed_name
        self.clock = clock
        self.store = store
        self.bus = bus
        self.directory = directory
        self.auto_start = auto_start
        self.stop_policy = stop_policy
        self.status = STARTING
        self.error_message: str | None = None
        self.strategy: Strategy | None = None
        self._sequence = 0
        self._seen: set[str] = set()
        self._early: list[Event] | None = []  # events that arrive while restoring
        self._figures_dirty = False
        self._figures_seq = 0
        self._figures_last: tuple[Any, ...] | None = None

    def on_receive(self, message: Any) -> Any:
        result = super().on_receive(message)
        if self._figures_dirty:
            self._publish_figures()
        return result

    # -- life cycle ---------------------------------------------------------------------

    def on_start(self) -> None:
        super().on_start()
        self.bus.subscribe(bot_topic(self.bot_id), self.actor_ref)
        self._tell(JOURNAL, Flush(reply=ActorReply(self.actor_ref, _restore_message)))

    def on_release(self) -> None:
        self.bus.unsubscribe_all(self.actor_ref)

    def on_restore_bot(self, message: RestoreBot) -> None:
        if message.error is not None:
            raise RuntimeError(f"cannot restore bot {self.bot_id}: {message.error}")
        self.strategy = self.strategy_factory(self._context())
        last_status: str | None = None
        for event in self.store.read_all_events(bot_id=self.bot_id):
            if isinstance(event, BotStatusChanged):
                last_status = event.status
            self._fold(event)
        early, self._early = self._early or [], None
        for event in early:
            self._fold(event)
        logger.info("bot %s restored (%d client orders so far)", self.bot_id, self._sequence)
        if last_status == STOPPING:
            # A stop the restart interrupted: finish it (the strategy re-sends only the
            # cancels still due, and never a second sale).
            self._subscribe_to_prices()
            self._begin_stop(
                cancel_orders=self.stop_policy.cancel_orders,
                sell_base=self.stop_policy.sell_base,
                reason="finishing a stop interrupted by a restart",
            )
        elif last_status in (RUNNING, STARTING) or (last_status is None and self.auto_start):
            self._run()
        elif last_status == PAUSED:
            self._set_status(PAUSED)
            self._subscribe_to_prices()
        else:
            self._set_status(STOPPED)

    def _fold(self, event: Event) -> None:
        """Apply one event to the strategy (each message id once)."""
        if event.message_id in self._seen:
            return
        self._seen.add(event.message_id)
        self._figures_dirty = True
        if isinstance(event, OrderSubmitted):
            sequence = sequence_of(self.tag, event.client_order_id)
            if sequence is not None:
                self._sequence = max(self._sequence, sequence)
        assert self.strategy is not None
        self.strategy.apply(event)

    # -- commands -----------------------------------------------------------------------

    def on_start_bot(self, command: StartBot) -> None:
        if self.status in (STOPPED, ERROR):
            self._run()

    def on_stop_bot(self, command: StopBot) -> None:
        if self.status in (RUNNING, PAUSED, STARTING):
            cancel = self.stop_policy.cancel_orders if command.cancel_orders is None else command.cancel_orders
            sell = self.stop_policy.sell_base if command.sell_base is None else command.sell_base
            self._begin_stop(cancel_orders=cancel, sell_base=sell, reason="stopped by request")

    def on_pause_bot(self, command: PauseBot) -> None:
        if self.status == RUNNING:
            self._set_status(PAUSED, command.reason)

    def on_resume_bot(self, command: ResumeBot) -> None:
        if self.status == PAUSED:
            self._set_status(RUNNING)
            self._act()

    # -- market data and order events --------------------------------------------------

    def on_market_data_ready(self, message: Any) -> None:
        tickers = message.outbox.take()
        if self.strategy is None or self.status not in (RUNNING, PAUSED, STOPPING) or not tickers:
            return
        ticker = tickers[-1]
        if self.strategy.stopped and self.status == RUNNING:
            for event in self.strategy.begin_run(ticker.last):
                self._tell(JOURNAL, event)
                self._fold(event)
        self.strategy.on_ticker(ticker)
        self._figures_dirty = True
        if self.status == RUNNING and self.strategy.stop_reason is not None:
            self._begin_stop(
                cancel_orders=True,
                sell_base=self.stop_policy.sell_base,
                reason=self.strategy.stop_reason,
            )
            return
        self._ticker_ts = ticker.ts_event
        try:
            self._act()
        finally:
            self._ticker_ts = None

    def on_get_bot_profit(self, query: GetBotProfit) -> None:
        profit = self.strategy.performance() if self.strategy is not None else {}
        query.reply.set_result(BotProfit(
            bot_id=self.bot_id, status=self.status, currency=self.market.quote,
            grid_profit=profit.get("grid_profit"), total_profit=profit.get("total_profit"),
        ))

    def on_get_bot_state(self, query: GetBotState) -> None:
        strategy = self.strategy
        query.reply.set_result(BotState(
            bot_id=self.bot_id, status=self.status, error_message=self.error_message,
            price=getattr(strategy, "last_price", None),  # a grid's; other strategies may not say
            performance=strategy.performance() if strategy is not None else {},
            seq=self._figures_seq, actor=self.actor_urn,
        ))

    def _on_order_event(self, event: Event) -> None:
        if self._early is not None:
            self._early.append(event)
            return
        self._fold(event)
        self._act()

    on_order_submitted = _on_order_event
    on_order_accepted = _on_order_event
    on_order_rejected = _on_order_event
    on_order_denied = _on_order_event
    on_order_canceled = _on_order_event
    on_order_filled = _on_order_event

    # -- helpers ------------------------------------------------------------------------

    def _run(self) -> None:
        self._set_status(RUNNING)
        self._subscribe_to_prices()
        self._act()

    def _act(self) -> None:
        assert self.strategy is not None
        if self.status == RUNNING:
            self._send(self.strategy.decide())
        elif self.status == STOPPING and self.strategy.stopped:
            self._set_status(STOPPED)

    def _begin_stop(self, *, cancel_orders: bool, sell_base: bool, reason: str) -> None:
        assert self.strategy is not None
        logger.info("bot %s stopping: %s", self.bot_id, reason)
        self._set_status(STOPPING)
        self._send(self.strategy.stop(cancel_orders=cancel_orders, sell_base=sell_base, reason=reason))
        self._act()

    def _send(self, commands: list[Command]) -> None:
        for command in commands:
            if isinstance(command, SubmitOrder):
                if self._ticker_ts is not None and self.metrics is not None:
                    self.metrics.tick_to_order.started(command.client_order_id, self._ticker_ts)
                if not self.directory.tell(RISK, command):
                    self._fold(OrderDenied(
                        account_id=command.account_id, bot_id=self.bot_id,
                        client_order_id=command.client_order_id,
                        code="RISK_UNAVAILABLE", reason="the risk actor is not running",
                    ))
            elif isinstance(command, CancelOrder):
                # Through the risk actor, behind the order it cancels (straight on if it is down).
                if not self.directory.tell(RISK, command):
                    self.directory.tell(exchange_name(self.account_id), command)
            else:
                raise TypeError(f"a strategy sent {type(command).__name__}, which a bot cannot send")

    def _subscribe_to_prices(self) -> None:
        self._tell(self.feed_name, SubscribeMarketData(ref=self.actor_ref))

    def _set_status(self, status: str, error_message: str | None = None) -> None:
        if status == self.status and error_message == self.error_message:
            return
        self.status = status
        self.error_message = error_message
        self._figures_dirty = True
        event = BotStatusChanged(bot_id=self.bot_id, status=status, error_message=error_message)
        self._tell(JOURNAL, event)
        self.bus.publish(bot_topic(self.bot_id), event)
        self.bus.publish(BOTS, event)

    def _publish_figures(self) -> None:
        """Publish the figures if they differ from the last ones published."""
        self._figures_dirty = False
        strategy = self.strategy
        if strategy is None:
            return
        performance = strategy.performance()
        figures = {name: performance[name] for name in FIGURE_FIELDS if name in performance}
        price = getattr(strategy, "last_price", None)
        current = (self.status, self.error_message, price, tuple(figures.values()))
        if current == self._figures_last:
            return
        self._figures_last = current
        self._figures_seq += 1
        self.bus.publish(BOT_VIEW, BotFigures(
            bot_id=self.bot_id, actor=self.actor_urn, seq=self._figures_seq, status=self.status,
            error_message=self.error_message, price=price, performance=figures,
        ))

    def _context(self) -> StrategyContext:
        return StrategyContext(
            bot_id=self.bot_id,
            account_id=self.account_id,
            symbol=self.market.symbol,
            market=self.market,
            clock=self.clock,
            new_client_order_id=self._next_client_order_id,
        )

    def _next_client_order_id(self) -> str:
        self._sequence += 1
        return client_order_id(self.tag, self._sequence)

    def _tell(self, name: str, message: Any) -> None:
        if not self.directory.tell(name, message):
            raise RuntimeError(f"{name} is not running")

    def on_bot_status_changed(self, event: BotStatusChanged) -> None:
        return None  # its own, echoed by the bus


def _restore_message(result: Any) -> RestoreBot:
    if isinstance(result, BaseException):
        return RestoreBot(error=str(result))
    return RestoreBot()
