"""Messages only actors use: timers, supervision and journal control.

Domain commands and events live in `trading/`; these are the plumbing between actors.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from actors.reply import Reply
from trading.events import CancelOrder, SubmitOrder
from trading.market_data import Candle
from trading.messages import Command, Event


@dataclass(frozen=True)
class Tick(Command):
    """A nudge from the scheduler; `timer` names which periodic job it is for."""

    timer: str


@dataclass(frozen=True)
class ChildFailed(Event):
    """A supervised child raised in `on_receive`; told to its supervisor by the child."""

    name: str
    actor_urn: str
    error: str


@dataclass(frozen=True)
class RestartChild(Command):
    """The supervisor's own reminder, after a backoff delay, to start a child again."""

    name: str
    generation: int


@dataclass(frozen=True)
class ActorRestarted(Event):
    """A child was started again after a failure."""

    name: str
    restarts: int
    error: str


@dataclass(frozen=True)
class ActorGaveUp(Event):
    """A child failed too often in its window and is left stopped."""

    name: str
    restarts: int
    error: str


@dataclass(frozen=True)
class GetSupervisionTree(Command):
    """Query: the supervisor answers with a tuple of `ChildStatus`."""

    reply: Reply


@dataclass(frozen=True)
class ChildStatus:
    """One child as its supervisor sees it."""

    name: str
    state: str
    restarts: int
    mailbox_depth: int
    last_error: str | None


@dataclass(frozen=True)
class Flush(Command):
    """Ask the journal to commit what it holds; it answers with the last event row id."""

    reply: Reply | None = None


@dataclass(frozen=True)
class PersistThen(Command):
    """Journal `events`; once they are committed, tell `then` to `notify` (an ActorRef).

    The exchange actor sends an order only after its `OrderSubmitted` is committed, so
    no crash can leave an order on the exchange that the journal does not know.
    """

    events: tuple[Event, ...]
    notify: Any
    then: Any


@dataclass(frozen=True)
class GetExchangeStatus(Command):
    """Query: an exchange actor answers with an `ExchangeStatus` at once (never waits)."""

    reply: Reply


@dataclass(frozen=True)
class ExchangeStatus:
    """Whether an exchange account can trade: its venue restored and reconciled."""

    account_id: str
    ready: bool
    queued_commands: int
    circuit_breaker: str | None = None
    """"closed", "half_open" or "open"; None for a venue without one (paper)."""
    consecutive_failures: int = 0
    times_opened: int = 0
    last_error: str | None = None
    auth_error: str | None = None
    """Set when the exchange refused the account's keys: its bots are paused."""


@dataclass(frozen=True)
class GetMarkets(Command):
    """Query: an exchange actor answers with its venue's markets ({symbol: Market}) once
    restored (an error before that). Live accounts' markets come from the exchange."""

    reply: Reply


@dataclass(frozen=True)
class GetAccountBalances(Command):
    """Query: an exchange actor answers with an `AccountBalances` once its venue is
    restored (an error before that)."""

    reply: Reply


@dataclass(frozen=True)
class AccountBalances:
    """An account's balances as its venue holds them, and the last price of each symbol
    the venue has seen (for valuing holdings)."""

    account_id: str
    balances: dict[str, tuple[Decimal, Decimal]]
    """asset -> (free, locked)"""
    last_prices: dict[str, Decimal]


@dataclass(frozen=True)
class GetFeedStatus(Command):
    """Query: a feed actor answers with a `FeedStatus`."""

    reply: Reply


@dataclass(frozen=True)
class FeedStatus:
    """A feed's output so far; `last_event_ns` is None before its first price."""

    symbol: str
    events_emitted: int
    last_event_ns: int | None
    subscribers: int
    last_price: Decimal | None = None
    exchange: str | None = None
    """The exchange whose public data the feed reads (a `ccxt_poll` or `ccxt_stream`
    feed), the one it fetches order books from; None for a replay or a random walk."""


@dataclass(frozen=True)
class GetOrderBook(Command):
    """Query: a feed actor answers with its symbol's `trading.feeds.order_book.OrderBook`,
    at most `depth` levels a side, or fails the reply with an `OrderBookError` (no exchange
    behind the feed, or the exchange down or refusing)."""

    depth: int
    reply: Reply


@dataclass(frozen=True)
class GetFeedCandles(Command):
    """Query: a feed actor answers with `FeedCandles` (its exchange's recent 1m candles)."""

    reply: Reply


@dataclass(frozen=True)
class FeedCandles:
    """A ccxt feed's recent 1m candles, oldest first, the newest possibly still open;
    empty for a feed without live candles (replay, random walk)."""

    symbol: str
    candles: tuple[Candle, ...] = ()


@dataclass(frozen=True)
class GetJournalStatus(Command):
    """Query: the journal answers with a `JournalStatus`."""

    reply: Reply


@dataclass(frozen=True)
class JournalStatus:
    """Events the journal holds but has not committed yet, and why, if it is failing."""

    backlog: int
    last_event_id: int
    failed_flushes: int
    last_error: str | None


# -- bots (issue 4: the API's live view of a bot) -----------------------------------------


@dataclass(frozen=True)
class GetBotState(Command):
    """Query: a bot actor answers at once with a `BotState`."""

    reply: Reply


@dataclass(frozen=True)
class BotState:
    """A bot as its actor sees it now. `performance` has API.md's performance fields
    (exact Decimals; empty before the strategy runs); `price` is the last price it knows."""

    bot_id: str
    status: str
    error_message: str | None
    price: Any
    performance: dict[str, Any]
    seq: int = 0
    """The `BotFigures.seq` this state matches: the API keeps the newer of the two."""
    actor: str = ""
    """The answering actor's urn (a restarted bot counts `seq` from 0 again)."""


FIGURE_FIELDS = ("grid_profit", "floating_pnl", "total_profit", "profit_percent", "total_trades", "investment_amount")
"""The performance fields a bot's summary (`GET /bots/{id}`) shows; none depends on the clock."""


@dataclass(frozen=True)
class BotFigures:
    """A running bot's summary figures, published on `actors.topics.BOT_VIEW` whenever they
    change (status, price, fills), so the API answers `GET /bots/{id}` from memory. `seq`
    grows with each publication of one actor; `performance` holds `FIGURE_FIELDS` only."""

    bot_id: str
    actor: str
    """The publishing actor's urn: a restarted or replaced bot counts `seq` from 0 again."""
    seq: int
    status: str
    error_message: str | None
    price: Any
    performance: dict[str, Any]


@dataclass(frozen=True)
class BotsCommitted:
    """The journal committed events that change these bots' rows or fills (status,
    definition, fills, a give-up): the API's read model reloads them. Also sent by the
    daemon after it writes config bots' rows itself (SIGHUP)."""

    bot_ids: frozenset[str]


@dataclass(frozen=True)
class SubmitOrderAndReply(Command):
    """`order` through the risk checks like any `SubmitOrder` (the API's manual orders);
    the risk actor settles `reply` with the event that decides it: `OrderDenied`,
    `OrderRejected`, `OrderAccepted` for a limit order, or for a market order the fill
    or cancel that ends it."""

    order: SubmitOrder
    reply: Reply


@dataclass(frozen=True)
class CancelOrderAndReply(Command):
    """`cancel` to its account's exchange actor; `reply` is settled with the event that
    ends the order (`OrderCanceled`, a completing `OrderFilled`) or `OrderRejected`."""

    cancel: CancelOrder
    reply: Reply
