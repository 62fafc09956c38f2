"""Domain commands and events of the order path and of bots.

Commands are imperative and flow bot -> risk -> exchange; events are past tense and flow
back to the bot, to the journal and (later) to WebSocket clients. Every event that names
an order carries its `client_order_id`, the key that recovery matches the journal and the
exchange by; order events carry `account_id` and `bot_id` so the journal can find them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from trading.markets import Side
from trading.messages import Command, Event

LIMIT = "limit"
MARKET = "market"


# -- commands ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SubmitOrder(Command):
    """Place an order. `price` is None for market orders; `grid_index` is the interval a
    grid order belongs to. For a market buy, `quote_amount` may be given instead of a
    quantity (spend this much quote)."""

    account_id: str
    bot_id: str | None
    client_order_id: str
    symbol: str
    side: Side
    order_type: str
    quantity: Decimal
    price: Decimal | None = None
    grid_index: int | None = None


@dataclass(frozen=True)
class CancelOrder(Command):
    account_id: str
    bot_id: str | None
    client_order_id: str
    symbol: str


# -- order events -------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderSubmitted(Event):
    """The order is about to leave for the exchange. Journaled, and committed, before it
    does: after a crash, the journal knows every order the exchange may have."""

    commit_at_once: ClassVar[bool] = True

    account_id: str
    bot_id: str | None
    client_order_id: str
    symbol: str
    side: Side
    order_type: str
    quantity: Decimal
    price: Decimal | None = None
    grid_index: int | None = None

    @classmethod
    def of(cls, command: SubmitOrder, **headers: Any) -> OrderSubmitted:
        """The submission of `command`, correlated with it; `headers` may set timestamps."""
        return cls(
            account_id=command.account_id,
            bot_id=command.bot_id,
            client_order_id=command.client_order_id,
            symbol=command.symbol,
            side=command.side,
            order_type=command.order_type,
            quantity=command.quantity,
            price=command.price,
            grid_index=command.grid_index,
            correlation_id=command.message_id,
            **headers,
        )


@dataclass(frozen=True)
class OrderDenied(Event):
    """The risk checks refused the order; it never left the daemon."""

    account_id: str
    bot_id: str | None
    client_order_id: str
    code: str
    reason: str


@dataclass(frozen=True)
class OrderAccepted(Event):
    account_id: str
    bot_id: str | None
    client_order_id: str
    exchange_order_id: str


@dataclass(frozen=True)
class OrderRejected(Event):
    """The exchange refused the order (market rules, balance), or does not know it after
    a restart (`code` "NOT_FOUND"): either way nothing of it rests."""

    account_id: str
    bot_id: str | None
    client_order_id: str
    code: str
    reason: str


@dataclass(frozen=True)
class OrderCanceled(Event):
    account_id: str
    bot_id: str | None
    client_order_id: str


@dataclass(frozen=True)
class OrderFilled(Event):
    """One execution. `trade_id` is unique per account; a repeated one is ignored."""

    commit_at_once: ClassVar[bool] = True

    account_id: str
    bot_id: str | None
    client_order_id: str
    trade_id: str
    symbol: str
    side: Side
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_currency: str
    is_maker: bool
    order_completed: bool


@dataclass(frozen=True)
class ForeignOrderFound(Event):
    """Reconciliation found an open order with a traderd client id on the exchange that
    the journal lacks: reported for a human to look at, never adopted."""

    account_id: str
    bot_id: str | None
    client_order_id: str
    symbol: str
    exchange_order_id: str


# -- bot events ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BotStatusChanged(Event):
    """A bot moved to `status` (stopped, starting, running, paused, stopping, error)."""

    bot_id: str
    status: str
    error_message: str | None = None


@dataclass(frozen=True)
class BalanceUpdated(Event):
    """An asset's balance on an account after a change (the paper venue reports these)."""

    account_id: str
    asset: str
    free: Decimal
    locked: Decimal


# -- manual orders (API) --------------------------------------------------------------------


@dataclass(frozen=True)
class ManualOrderRequested(Event):
    """A user placed an order by hand (`POST /orders`). Committed before the order goes to
    the risk checks: it is who asked, and the journaled sequence of the account's manual
    client order ids (`td-<tag>-<sequence>`), so a restart never reuses one."""

    commit_at_once: ClassVar[bool] = True

    account_id: str
    user_id: str
    client_order_id: str
    sequence: int
    symbol: str
    side: Side
    order_type: str
    quantity: Decimal
    price: Decimal | None = None


def ends_order(event: Event) -> bool:
    """Whether `event` leaves its order with nothing resting: refused, canceled, or filled
    in full."""
    return isinstance(event, (OrderRejected, OrderCanceled, OrderDenied)) or (
        isinstance(event, OrderFilled) and event.order_completed
    )
