"""The `RelayActor`: hands the events WebSocket clients may see to the IOLoop, in bursts.

It listens to the bus (orders, bots, system, and each account's topic) and to the feeds'
conflating outboxes, so a relay that falls behind holds one price per symbol, never a
backlog. It keeps what it receives in a batch and hands the batch to `outlet` (a plain
callable from the API side, which maps, serialises and makes one `add_callback` per burst)
whenever its mailbox is empty, so a burst of a hundred fills costs the loop one callback.

After a bot's fill it asks that bot for its profit (`GetBotProfit` with an `ActorReply`:
no blocking), at most one question per bot at a time, and relays the answer too.

It also relays what the API's read model of bots needs (`BOT_VIEW`: the bots' `BotFigures`
and the journal's `BotsCommitted`); the WebSocket side ignores those.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pykka

from actors.bot import BotProfit, GetBotProfit
from actors.bus import SYSTEM_TOPIC, EventBus
from actors.directory import ActorDirectory
from actors.feed import SubscribeMarketData, UnsubscribeMarketData
from actors.messages import BotFigures, BotsCommitted
from actors.reply import ActorReply
from actors.supervised import SupervisedActor
from actors.topics import BOT_VIEW, BOTS, ORDERS, account_topic
from trading.events import OrderFilled
from trading.market_data import TickerUpdated
from trading.messages import Command, Event

logger = logging.getLogger(__name__)

MAX_BATCH = 2000
"""Hand over at least this often, even if the mailbox never empties."""


@dataclass(frozen=True)
class WatchAccount(Command):
    """Relay the balance updates of `account_id` too (an account added after boot)."""

    account_id: str


@dataclass(frozen=True)
class BotProfitAnswered(Command):
    """Bot `bot_id`'s answer to the relay's `GetBotProfit` (a `BotProfit`, or the error)."""

    bot_id: str
    result: Any


class RelayActor(SupervisedActor):
    """See the module docstring. `outlet(batch)` is called on this actor's thread."""

    def __init__(
        self,
        *,
        name: str,
        bus: EventBus,
        directory: ActorDirectory,
        outlet: Callable[[Sequence[Any]], None],
        feed_names: Iterable[str] = (),
        account_ids: Iterable[str] = (),
        supervisor: pykka.ActorRef[Any] | None = None,
    ) -> None:
        super().__init__(name=name, supervisor=supervisor)
        self.bus = bus
        self.directory = directory
        self.outlet = outlet
        self.feed_names = tuple(feed_names)
        self._accounts = set(account_ids)
        self._batch: list[Any] = []
        self._asking: set[str] = set()  # bots with a profit question pending
        self._ask_again: set[str] = set()  # bots that filled again meanwhile

    def on_start(self) -> None:
        super().on_start()
        for topic in (ORDERS, BOTS, BOT_VIEW, SYSTEM_TOPIC):
            self.bus.subscribe(topic, self.actor_ref)
        for account_id in self._accounts:
            self.bus.subscribe(account_topic(account_id), self.actor_ref)
        for feed in self.feed_names:
            self.directory.tell(feed, SubscribeMarketData(ref=self.actor_ref))

    def on_release(self) -> None:
        self.bus.unsubscribe_all(self.actor_ref)
        for feed in self.feed_names:
            self.directory.tell(feed, UnsubscribeMarketData(ref=self.actor_ref))

    def on_receive(self, message: Any) -> Any:
        if self._handler_for(type(message)) is not None:
            super().on_receive(message)
        elif isinstance(message, Event):
            self._relay(message)
        if self._batch and (len(self._batch) >= MAX_BATCH or self.actor_inbox.empty()):
            batch, self._batch = self._batch, []
            self.outlet(batch)
        return None

    # -- messages -----------------------------------------------------------------------

    def on_market_data_ready(self, message: Any) -> None:
        self._batch.extend(message.outbox.take())

    def on_ticker_updated(self, ticker: TickerUpdated) -> None:
        """Prices come conflated through the outbox; one told on the bus is dropped."""

    def on_order_filled(self, event: OrderFilled) -> None:
        self._relay(event)
        if event.bot_id is not None:
            self._ask_profit(event.bot_id)

    def on_bot_status_changed(self, event: Any) -> None:
        self._relay(event)
        self._asking.discard(event.bot_id)  # a restarted bot never answers the old question

    def on_bot_profit_answered(self, message: BotProfitAnswered) -> None:
        self._asking.discard(message.bot_id)
        if isinstance(message.result, BotProfit):
            self._batch.append(message.result)
        # else the bot failed to answer; its supervisor hears of it
        if message.bot_id in self._ask_again:
            self._ask_again.discard(message.bot_id)
            self._ask_profit(message.bot_id)

    def on_bot_figures(self, figures: BotFigures) -> None:
        self._batch.append(figures)

    def on_bots_committed(self, notice: BotsCommitted) -> None:
        self._batch.append(notice)

    def on_watch_account(self, command: WatchAccount) -> None:
        self._watch(command.account_id)

    # -- helpers ------------------------------------------------------------------------

    def _relay(self, event: Event) -> None:
        account_id = getattr(event, "account_id", None)
        if account_id is not None and account_id not in self._accounts:
            self._watch(account_id)  # an account first seen in an order event
        self._batch.append(event)

    def _watch(self, account_id: str) -> None:
        if account_id not in self._accounts:
            self._accounts.add(account_id)
            self.bus.subscribe(account_topic(account_id), self.actor_ref)

    def _ask_profit(self, bot_id: str) -> None:
        if bot_id in self._asking:
            self._ask_again.add(bot_id)
            return
        question = GetBotProfit(reply=ActorReply(self.actor_ref, functools.partial(BotProfitAnswered, bot_id)))
        if self.directory.tell(f"bot:{bot_id}", question):
            self._asking.add(bot_id)

