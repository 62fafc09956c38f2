"""The `ExchangeActor`: one per exchange account; the only thread that touches its venue.

A `SubmitOrder` becomes `OrderSubmitted`. For a venue that outlives the daemon (a real
exchange), the journal commits it before this actor hands the order over (`PersistThen`):
no crash can leave an order on the exchange that the journal does not know. The paper
venue lives and dies with the daemon, and the journal commits events in the order they
are told, so its orders go on at once: after a crash, the journal and the paper venue
rebuilt from it agree. Every event the venue answers with is journaled and published.

At start (and after a restart) the actor first asks the journal to flush, then rebuilds
the venue from the account's journaled events and reconciles the orders the journal holds
open with what the venue knows. Until then it queues the commands it receives; the boot
waits for `AwaitReady` before it starts any bot.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

import pykka

from actors.bot import PauseBot
from actors.bus import EventBus
from actors.directory import ActorDirectory
from actors.feed import SubscribeMarketData
from actors.metrics import ActorMetrics, venue_timer
from actors.messages import (
    AccountBalances,
    ExchangeStatus,
    Flush,
    GetAccountBalances,
    GetExchangeStatus,
    GetMarkets,
    PersistThen,
    Tick,
)
from actors.reply import ActorReply, Reply
from actors.supervised import SupervisedActor
from actors.topics import account_topic, publish_order_event
from storage.journal_store import JournalStore
from trading.events import BalanceUpdated, CancelOrder, OrderSubmitted, SubmitOrder, ends_order
from trading.messages import Command, Event
from trading.venues.base import Balance, Venue

logger = logging.getLogger(__name__)

JOURNAL = "journal"
POLL = "venue-poll"
BREAKER_GAUGE = {"closed": 0, "half_open": 1, "open": 2}
ZERO_BALANCE = Balance(Decimal(0), Decimal(0))
RESTORE_BACKOFF_MAX_S = 5.0


@dataclass(frozen=True)
class RestoreFromJournal(Command):
    """The journal flushed (or failed to: `error`); the venue can be rebuilt now."""

    error: str | None = None


@dataclass(frozen=True)
class SendOrder(Command):
    """The journal committed `order`'s submission: it may go to the venue now."""

    order: OrderSubmitted


@dataclass(frozen=True)
class Reconciled(Command):
    """The reconciliation's corrections are committed."""


@dataclass(frozen=True)
class AwaitReady(Command):
    """Answered with the account id once the venue is restored and reconciled. With
    `or_failure`, a failed restore attempt answers it first, with None: the caller wants
    to know soon that the exchange is not answering (the actor keeps trying)."""

    reply: Reply
    or_failure: bool = False


def journaled_balances(events: list[Event]) -> dict[str, Balance]:
    """The last balance of each asset the journal holds."""
    return {e.asset: Balance(e.free, e.locked) for e in events if isinstance(e, BalanceUpdated)}


def open_client_order_ids(events: list[Event]) -> list[str]:
    """The orders the journal holds open: submitted and not yet finished, in order."""
    open_ids: dict[str, None] = {}
    for event in events:
        if isinstance(event, OrderSubmitted):
            open_ids[event.client_order_id] = None
        elif ends_order(event):
            open_ids.pop(event.client_order_id, None)
    return list(open_ids)


class ExchangeActor(SupervisedActor):
    """Owns one account's venue; see the module docstring."""

    def __init__(
        self,
        *,
        name: str,
        account_id: str,
        venue_factory: Callable[[], Venue],
        store: JournalStore,
        feed_names: tuple[str, ...] = (),
        bus: EventBus,
        directory: ActorDirectory,
        metrics: ActorMetrics | None = None,
        scheduler: Any = None,
        supervisor: pykka.ActorRef[Any] | None = None,
    ) -> None:
        super().__init__(name=name, supervisor=supervisor)
        self.account_id = account_id
        self.metrics = metrics
        self.scheduler = scheduler  # ticks the polls of a venue that has `poll` (a real exchange)
        self._poll_timer: Any = None
        self._restore_attempts = 0
        self._bot_ids: set[str] = set()  # bots that traded here: paused if the keys are refused
        self._auth_reported = False
        self._venue_timer = venue_timer(metrics, account_id)
        self.venue_factory = venue_factory
        self.feed_names = tuple(dict.fromkeys(feed_names))
        self.store = store
        self.bus = bus
        self.directory = directory
        self.venue: Venue | None = None
        self._waiting: list[Any] = []
        self._ready_replies: list[AwaitReady] = []
        self._persisting: dict[str, CancelOrder | None] = {}
        """External orders the journal is committing before they are sent, and a cancel
        that came for one meanwhile."""
        self._balances: dict[str, Balance] = {}
        self._symbol_of: dict[str, str] = {}  # client order id -> symbol, to know which assets moved

    def on_start(self) -> None:
        super().on_start()
        self._journal(Flush(reply=ActorReply(self.actor_ref, _restore_message)))

    def on_restore_from_journal(self, message: RestoreFromJournal) -> None:
        if message.error is not None:
            # The journal could not flush (database down): restoring now could miss
            # events, so fail and let the supervisor try again with backoff.
            raise RuntimeError(f"cannot restore {self.account_id}: {message.error}")
        events = self.store.read_all_events(account_id=self.account_id)
        venue = self.venue_factory()
        try:
            self._venue_call("restore", venue.restore, events)
        except Exception as error:
            self._not_ready_yet()
            if not self._restore_later(venue, error):
                raise
            return
        self._restore_attempts = 0
        self.venue = venue
        # A real exchange's balances: what the journal last said, not what was just
        # fetched, so a change the daemon did not live to journal (a kill right after an
        # order) is journaled below. A paper venue's come from the journal already.
        self._balances = journaled_balances(events) if venue.is_external else dict(venue.balances())
        self._symbol_of = {e.client_order_id: e.symbol for e in events if isinstance(e, OrderSubmitted)}
        self._bot_ids = {e.bot_id for e in events if isinstance(e, OrderSubmitted) and e.bot_id is not None}
        open_ids = open_client_order_ids(events)
        corrections = self._venue_call("reconcile", venue.reconcile, open_ids)
        logger.info(
            "%s restored from %d events: %d orders open, %d corrected by reconciliation",
            self.account_id, len(events), len(open_ids), len(corrections),
        )
        self._emit(corrections)
        self._report_balances(set(venue.balances()) | set(self._balances))
        # Ready once the corrections are committed, so bots that restore next see them.
        self._journal(PersistThen(events=(), notify=self.actor_ref, then=Reconciled()))

    def _restore_later(self, venue: Venue, error: Exception) -> bool:
        """A real exchange unreachable at start (5xx, 429, timeouts): try the restore again
        with backoff in this actor, so the boot's `AwaitReady` stays answered; failing
        would restart the actor and drop it."""
        is_transient = getattr(venue, "is_transient", None)
        if self.scheduler is None or is_transient is None or not is_transient(error):
            return False
        self._restore_attempts += 1
        delay = min(RESTORE_BACKOFF_MAX_S, 0.2 * 2 ** min(self._restore_attempts, 8))
        logger.warning("%s: restore failed (%s: %s), trying again in %.1f s",
                       self.account_id, type(error).__name__, error, delay)
        self.scheduler.tell_later(delay, self.actor_ref, RestoreFromJournal())
        return True

    def on_reconciled(self, message: Reconciled) -> None:
        poll_interval = getattr(self.venue, "poll_interval_s", None)
        if self.scheduler is not None and poll_interval is not None and self._poll_timer is None:
            self._poll_timer = self.scheduler.tell_every(poll_interval, self.actor_ref, lambda: Tick(timer=POLL))
        for feed in self.feed_names:  # the paper venue matches resting orders on prices
            self.directory.tell(feed, SubscribeMarketData(ref=self.actor_ref))
        waiting, self._waiting = self._waiting, []
        for command in waiting:
            self.on_receive(command)
        for waiting in self._ready_replies:
            waiting.reply.set_result(self.account_id)
        self._ready_replies.clear()

    def on_await_ready(self, command: AwaitReady) -> None:
        if self.venue is not None and not self._waiting:
            command.reply.set_result(self.account_id)
        else:
            self._ready_replies.append(command)

    def _not_ready_yet(self) -> None:
        """A restore attempt failed: answer those who asked to hear of it."""
        for waiting in [w for w in self._ready_replies if w.or_failure]:
            waiting.reply.set_result(None)
            self._ready_replies.remove(waiting)

    def on_stop(self) -> None:
        if self._poll_timer is not None:
            self._poll_timer.cancel()

    def on_tick(self, tick: Tick) -> None:
        """Poll a real exchange: fills, order fates, balances (every account asset whose
        balance changed is journaled)."""
        if tick.timer != POLL or self.venue is None or self._waiting:
            return
        self._emit(self._venue_call("poll", self.venue.poll))  # type: ignore[attr-defined]
        self._report_balances(set(self.venue.balances()) | set(self._balances))
        status = self._venue_status()
        if self.metrics is not None and status.get("breaker") in BREAKER_GAUGE:
            self.metrics.circuit_breaker.labels(self.account_id).set(BREAKER_GAUGE[status["breaker"]])
        if status.get("auth_error") and not self._auth_reported:
            self._auth_reported = True
            self._pause_bots(status["auth_error"])

    def on_get_exchange_status(self, query: GetExchangeStatus) -> None:
        status = self._venue_status()
        query.reply.set_result(ExchangeStatus(
            account_id=self.account_id,
            ready=self.venue is not None and not self._waiting,
            queued_commands=len(self._waiting),
            circuit_breaker=status.get("breaker"),
            consecutive_failures=status.get("consecutive_failures", 0),
            times_opened=status.get("times_opened", 0),
            last_error=status.get("last_error"),
            auth_error=status.get("auth_error"),
        ))

    def on_get_markets(self, query: GetMarkets) -> None:
        markets = getattr(self.venue, "markets", None)
        if self.venue is None or markets is None:
            query.reply.set_exception(RuntimeError(f"{self.account_id} has no markets to tell (yet)"))
            return
        query.reply.set_result(markets())

    def on_get_account_balances(self, query: GetAccountBalances) -> None:
        if self.venue is None:
            query.reply.set_exception(RuntimeError(f"{self.account_id} is not restored yet"))
            return
        last_prices = getattr(self.venue, "last_prices", None)
        query.reply.set_result(AccountBalances(
            account_id=self.account_id,
            balances={asset: (balance.free, balance.locked) for asset, balance in self.venue.balances().items()},
            last_prices=dict(last_prices()) if last_prices is not None else {},
        ))

    # -- the order path -----------------------------------------------------------------

    def on_submit_order(self, command: SubmitOrder) -> None:
        if self.venue is None:
            self._waiting.append(command)
            return
        order = OrderSubmitted.of(command)
        if self.venue.is_external:
            self._persisting[order.client_order_id] = None
            self._journal(PersistThen(events=(order,), notify=self.actor_ref, then=SendOrder(order=order)))
        else:
            self._journal(order)
            self.on_send_order(SendOrder(order=order))

    def on_send_order(self, message: SendOrder) -> None:
        assert self.venue is not None
        self._symbol_of[message.order.client_order_id] = message.order.symbol
        if message.order.bot_id is not None:
            self._bot_ids.add(message.order.bot_id)
        publish_order_event(self.bus, message.order)
        self._emit(self._venue_call("submit", self.venue.submit, message.order))
        cancel = self._persisting.pop(message.order.client_order_id, None)
        if cancel is not None:  # it was cancelled while the journal committed it
            self.on_cancel_order(cancel)

    def on_cancel_order(self, command: CancelOrder) -> None:
        if self.venue is None:
            self._waiting.append(command)
            return
        if command.client_order_id in self._persisting:  # not sent yet: cancel it once it is
            self._persisting[command.client_order_id] = command
            return
        self._emit(self._venue_call("cancel", self.venue.cancel, command))

    def on_market_data_ready(self, message: Any) -> None:
        if self.venue is None:
            message.outbox.take()  # nothing rests before the restore; prices move on
            return
        for ticker in message.outbox.take():
            self._emit(self._venue_call("on_ticker", self.venue.on_ticker, ticker))

    # -- helpers ------------------------------------------------------------------------

    def _venue_status(self) -> dict[str, Any]:
        status = getattr(self.venue, "status", None)
        return status() if status is not None else {}

    def _pause_bots(self, error: str) -> None:
        """The exchange refused the keys: every bot that trades here pauses (its orders
        stay) until someone fixes the keys and resumes it."""
        logger.error("%s: %s; pausing its bots %s", self.account_id, error, sorted(self._bot_ids))
        for bot_id in sorted(self._bot_ids):
            self.directory.tell(f"bot:{bot_id}", PauseBot(bot_id=bot_id, reason=f"{self.account_id}: {error}"))

    def _venue_call(self, method: str, function: Callable[..., Any], *args: Any) -> Any:
        """Every call into the venue goes through here, timed when metrics are on."""
        if self._venue_timer is None:
            return function(*args)
        return self._venue_timer.call(method, function, *args)

    def _emit(self, events: list[Event]) -> None:
        if not events:
            return
        symbols = set()
        for event in events:
            self._journal(event)
            publish_order_event(self.bus, event)
            symbol = self._symbol_of.get(event.client_order_id)
            if symbol is not None:
                symbols.add(symbol)
            if ends_order(event):
                self._symbol_of.pop(event.client_order_id, None)
        self._report_balances({asset for symbol in symbols for asset in symbol.split("/")})

    def _report_balances(self, assets: set[str]) -> None:
        """Journal the balances of `assets` that changed (only those: an account may hold
        a thousand assets, and an order moves two)."""
        assert self.venue is not None
        for asset in sorted(assets):
            balance = self.venue.balance(asset)
            if self._balances.get(asset, ZERO_BALANCE) != balance:
                self._balances[asset] = balance
                update = BalanceUpdated(
                    account_id=self.account_id, asset=asset, free=balance.free, locked=balance.locked
                )
                self._journal(update)
                self.bus.publish(account_topic(self.account_id), update)

    def _journal(self, message: Any) -> None:
        if not self.directory.tell(JOURNAL, message):
            # Without a journal nothing may happen: failing hands the problem to the
            # supervisor, and the restarted actor restores from what was committed.
            raise RuntimeError("the journal is not running")


def _restore_message(result: Any) -> RestoreFromJournal:
    if isinstance(result, BaseException):
        return RestoreFromJournal(error=str(result))
    return RestoreFromJournal()
