"""The `RiskActor`: every order passes its checks before it may leave the daemon.

For now two limits: the notional of one order, and the number of orders open at once on
an account (Binance refuses more than 200 per symbol, and a runaway bot should be stopped
well before). A refused order becomes `OrderDenied`, journaled and told to its bot.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

import pykka

from actors.bus import EventBus
from actors.directory import ActorDirectory
from actors.messages import CancelOrderAndReply, SubmitOrderAndReply
from actors.reply import Reply
from actors.supervised import SupervisedActor
from actors.topics import ORDERS, publish_order_event
from trading.events import (
    MARKET,
    CancelOrder,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    SubmitOrder,
    ends_order,
)
from trading.messages import Event

logger = logging.getLogger(__name__)

RISK = "risk"
JOURNAL = "journal"


def exchange_name(account_id: str) -> str:
    return f"exchange:{account_id}"


@dataclass(frozen=True)
class RiskLimits:
    """None means no limit."""

    max_order_notional: Decimal | None = None
    max_open_orders: int | None = None


class RiskActor(SupervisedActor):
    """Checks each `SubmitOrder` and forwards it to its account's exchange actor."""

    def __init__(
        self,
        *,
        name: str,
        limits: RiskLimits,
        bus: EventBus,
        directory: ActorDirectory,
        load_open_orders: Callable[[], dict[str, set[str]]] | None = None,
        supervisor: pykka.ActorRef[Any] | None = None,
    ) -> None:
        super().__init__(name=name, supervisor=supervisor)
        self.limits = limits
        self.bus = bus
        self.directory = directory
        self._load_open_orders = load_open_orders
        # Client ids per account that were let through and are not finished yet.
        self.open_orders: dict[str, set[str]] = {}
        # Replies awaiting an order's outcome (API orders and cancels), by client id.
        self._replies: dict[str, list[tuple[Reply, Callable[[Event], bool]]]] = {}

    def on_start(self) -> None:
        super().on_start()
        self.bus.subscribe(ORDERS, self.actor_ref)
        if self._load_open_orders is not None:
            # After a restart the count comes from the orders the journal holds open.
            self.open_orders = self._load_open_orders()

    def on_release(self) -> None:
        self.bus.unsubscribe_all(self.actor_ref)

    def on_submit_order(self, command: SubmitOrder) -> None:
        problem = self._check(command)
        if problem is None and not self.directory.tell(exchange_name(command.account_id), command):
            problem = ("EXCHANGE_UNAVAILABLE", f"no exchange actor for account {command.account_id}")
        if problem is not None:
            code, reason = problem
            logger.warning("order %s denied: %s", command.client_order_id, reason)
            self._deny(command, code, reason)
            return
        self.open_orders.setdefault(command.account_id, set()).add(command.client_order_id)

    def on_cancel_order(self, command: CancelOrder) -> None:
        """Passed on unchecked. A bot's cancels come this way, behind its submissions, so a
        cancel can never reach the exchange actor before the order it cancels."""
        if not self.directory.tell(exchange_name(command.account_id), command):
            logger.warning("cancel of %s not sent: no exchange actor for account %s",
                           command.client_order_id, command.account_id)

    def on_submit_order_and_reply(self, message: SubmitOrderAndReply) -> None:
        order = message.order
        self._await(order.client_order_id, message.reply, _market_outcome if order.order_type == MARKET else _limit_outcome)
        self.on_submit_order(order)

    def on_cancel_order_and_reply(self, message: CancelOrderAndReply) -> None:
        cancel = message.cancel
        if not self.directory.tell(exchange_name(cancel.account_id), cancel):
            message.reply.set_exception(RuntimeError(f"no exchange actor for account {cancel.account_id}"))
            return
        self._await(cancel.client_order_id, message.reply, _cancel_outcome)

    def _await(self, client_order_id: str, reply: Reply, decides: Callable[[Event], bool]) -> None:
        self._replies.setdefault(client_order_id, []).append((reply, decides))

    def _answer(self, event: Any) -> None:
        """Settle the replies this order event decides (the order events all pass here)."""
        waiting = self._replies.get(event.client_order_id)
        if not waiting:
            return
        over = ends_order(event)  # nothing more will come for this order
        still = []
        for reply, decides in waiting:
            if over or decides(event):
                reply.set_result(event)
            else:
                still.append((reply, decides))
        if still:
            self._replies[event.client_order_id] = still
        else:
            del self._replies[event.client_order_id]

    def _check(self, command: SubmitOrder) -> tuple[str, str] | None:
        limits = self.limits
        if limits.max_order_notional is not None and command.price is not None:
            notional = command.price * command.quantity
            if notional > limits.max_order_notional:
                return ("RISK_LIMIT_BREACHED", f"notional {notional} exceeds max_order_notional {limits.max_order_notional}")
        open_count = len(self.open_orders.get(command.account_id, ()))
        if limits.max_open_orders is not None and open_count >= limits.max_open_orders:
            return ("RISK_LIMIT_BREACHED", f"{open_count} orders open on {command.account_id}; max_open_orders is {limits.max_open_orders}")
        return None

    def _deny(self, command: SubmitOrder, code: str, reason: str) -> None:
        denied = OrderDenied(
            account_id=command.account_id,
            bot_id=command.bot_id,
            client_order_id=command.client_order_id,
            code=code,
            reason=reason,
            correlation_id=command.message_id,
        )
        self.directory.tell(JOURNAL, denied)
        publish_order_event(self.bus, denied)

    # Order events from the exchanges (bus topic "orders") close the count.

    def on_order_rejected(self, event: OrderRejected) -> None:
        self._finished(event)
        self._answer(event)

    def on_order_canceled(self, event: OrderCanceled) -> None:
        self._finished(event)
        self._answer(event)

    def on_order_filled(self, event: OrderFilled) -> None:
        if event.order_completed:
            self._finished(event)
        self._answer(event)

    def on_order_denied(self, event: OrderDenied) -> None:
        self._finished(event)
        self._answer(event)

    def on_order_submitted(self, event: OrderSubmitted) -> None:
        return None  # counted when it passed the checks

    def on_order_accepted(self, event: Event) -> None:
        self._answer(event)  # still open: nothing to count

    def _finished(self, event: Any) -> None:
        self.open_orders.get(event.account_id, set()).discard(event.client_order_id)


def _limit_outcome(event: Event) -> bool:
    """A limit order is decided once the exchange accepted (it rests) or it ended."""
    return isinstance(event, OrderAccepted) or ends_order(event)


def _market_outcome(event: Event) -> bool:
    return ends_order(event)


_cancel_outcome = _market_outcome  # a cancel is decided when the order ends
