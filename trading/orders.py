"""Orders: Nautilus' status set, the state machine as a table, and one order's fill book.

Exchanges report the same thing twice (a REST response and a WebSocket stream) and out of
order (a fill that raced a cancel arrives after the cancel). The table absorbs both: a
report that repeats the current state changes nothing, a late acknowledgement never moves
an order backwards, and a fill is applied whenever the exchange says it happened.
"""

from __future__ import annotations

import enum
from decimal import Decimal, localcontext

from trading.markets import Side
from trading.money import MONEY_CONTEXT


class OrderStatus(enum.Enum):
    INITIALIZED = "INITIALIZED"
    DENIED = "DENIED"
    SUBMITTED = "SUBMITTED"
    ACCEPTED = "ACCEPTED"
    PENDING_CANCEL = "PENDING_CANCEL"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


class OrderEventKind(enum.Enum):
    """What happened to an order; FILL covers partial and full fills alike."""

    DENY = "DENY"
    SUBMIT = "SUBMIT"
    ACCEPT = "ACCEPT"
    REJECT = "REJECT"
    CANCEL_REQUEST = "CANCEL_REQUEST"
    CANCEL = "CANCEL"
    EXPIRE = "EXPIRE"
    FILL = "FILL"


_S = OrderStatus
_E = OrderEventKind

TRANSITIONS: dict[tuple[OrderStatus, OrderEventKind], OrderStatus] = {
    # Before the order leaves: the risk check denies it, or it is sent.
    (_S.INITIALIZED, _E.DENY): _S.DENIED,
    (_S.INITIALIZED, _E.SUBMIT): _S.SUBMITTED,
    # Sent, not yet acknowledged. A fill or a cancel may beat the acknowledgement.
    (_S.SUBMITTED, _E.ACCEPT): _S.ACCEPTED,
    (_S.SUBMITTED, _E.REJECT): _S.REJECTED,
    (_S.SUBMITTED, _E.CANCEL_REQUEST): _S.PENDING_CANCEL,
    (_S.SUBMITTED, _E.CANCEL): _S.CANCELED,
    (_S.SUBMITTED, _E.EXPIRE): _S.EXPIRED,
    (_S.SUBMITTED, _E.FILL): _S.PARTIALLY_FILLED,
    # Resting on the book.
    (_S.ACCEPTED, _E.ACCEPT): _S.ACCEPTED,
    (_S.ACCEPTED, _E.CANCEL_REQUEST): _S.PENDING_CANCEL,
    (_S.ACCEPTED, _E.CANCEL): _S.CANCELED,
    (_S.ACCEPTED, _E.EXPIRE): _S.EXPIRED,
    (_S.ACCEPTED, _E.FILL): _S.PARTIALLY_FILLED,
    # Cancel sent. Fills keep coming until the exchange has cancelled; a partial fill
    # shows as PARTIALLY_FILLED (Nautilus' rule) and the cancel still lands as CANCEL.
    (_S.PENDING_CANCEL, _E.ACCEPT): _S.PENDING_CANCEL,
    (_S.PENDING_CANCEL, _E.CANCEL_REQUEST): _S.PENDING_CANCEL,
    (_S.PENDING_CANCEL, _E.CANCEL): _S.CANCELED,
    (_S.PENDING_CANCEL, _E.EXPIRE): _S.EXPIRED,
    (_S.PENDING_CANCEL, _E.REJECT): _S.REJECTED,
    (_S.PENDING_CANCEL, _E.FILL): _S.PARTIALLY_FILLED,
    # Partly filled, the rest still resting.
    (_S.PARTIALLY_FILLED, _E.ACCEPT): _S.PARTIALLY_FILLED,
    (_S.PARTIALLY_FILLED, _E.CANCEL_REQUEST): _S.PENDING_CANCEL,
    (_S.PARTIALLY_FILLED, _E.CANCEL): _S.CANCELED,
    (_S.PARTIALLY_FILLED, _E.EXPIRE): _S.EXPIRED,
    (_S.PARTIALLY_FILLED, _E.FILL): _S.PARTIALLY_FILLED,
    # Closed. A fill that raced the cancel or the expiry is still booked, and the order
    # stays closed: the exchange reports it "canceled" with filled > 0 (ccxt too), nothing
    # of it rests any more, and PARTIALLY_FILLED would show a dead order as open. A late
    # fill that completes the quantity makes it FILLED, like every completing fill.
    (_S.CANCELED, _E.ACCEPT): _S.CANCELED,
    (_S.CANCELED, _E.CANCEL): _S.CANCELED,
    (_S.CANCELED, _E.FILL): _S.CANCELED,
    (_S.EXPIRED, _E.ACCEPT): _S.EXPIRED,
    (_S.EXPIRED, _E.EXPIRE): _S.EXPIRED,
    (_S.EXPIRED, _E.FILL): _S.EXPIRED,
    (_S.FILLED, _E.ACCEPT): _S.FILLED,
    (_S.REJECTED, _E.REJECT): _S.REJECTED,
    # Rejected as LOST (not found within the grace window after an unknown outcome), the
    # order may still have reached the exchange and fill there; CcxtVenue books that fill
    # (issue 5), so the table must too. It stays REJECTED, like a late fill after a cancel;
    # a fill completing the quantity makes it FILLED. A plain refusal never reached the
    # book, so no exchange reports a fill for it.
    (_S.REJECTED, _E.FILL): _S.REJECTED,
}
"""(status, event) -> status. A FILL entry gives the status after a fill that leaves part
of the quantity open; a fill that completes the quantity always ends in FILLED."""

API_STATUS: dict[OrderStatus, str] = {
    OrderStatus.INITIALIZED: "pending",
    OrderStatus.SUBMITTED: "pending",
    OrderStatus.DENIED: "rejected",
    OrderStatus.ACCEPTED: "open",
    OrderStatus.PENDING_CANCEL: "open",
    OrderStatus.PARTIALLY_FILLED: "partially_filled",
    OrderStatus.FILLED: "filled",
    OrderStatus.CANCELED: "cancelled",
    OrderStatus.REJECTED: "rejected",
    OrderStatus.EXPIRED: "expired",
}
"""Internal status -> API.md's lowercase order status."""


class InvalidOrderTransition(Exception):
    """An event that cannot happen to an order in its current status."""

    def __init__(self, client_order_id: str, status: OrderStatus, kind: OrderEventKind) -> None:
        super().__init__(f"order {client_order_id}: no {kind.value} from {status.value}")
        self.client_order_id = client_order_id
        self.status = status
        self.kind = kind


class OrderOverfill(Exception):
    """A fill that would take an order past its quantity."""


class OrderState:
    """One order's status and fill book, changed only through `apply` and `apply_fill`.

    `price` is the limit price, None for a market order.

    Mutable on purpose: it is owned by one actor (one thread), the journal stores the
    events rather than this object, and a fill updates a handful of fields in place where
    a frozen copy would rebuild the fee map and the trade-id set on every fill.
    """

    def __init__(
        self,
        client_order_id: str,
        side: Side,
        price: Decimal | None,
        quantity: Decimal,
        status: OrderStatus = OrderStatus.INITIALIZED,
    ) -> None:
        if quantity <= 0:
            raise ValueError(f"order {client_order_id}: quantity must be positive")
        self.client_order_id = client_order_id
        self.side = side
        self.price = price
        self.quantity = quantity
        self.status = status
        self.filled_quantity = Decimal(0)
        self.filled_notional = Decimal(0)
        self.fees: dict[str, Decimal] = {}
        self.trade_ids: set[str] = set()

    @property
    def average_fill_price(self) -> Decimal | None:
        """Quantity-weighted average of the fill prices; None before the first fill.

        Exact whenever the quotient is a finite decimal of up to 50 digits (it always is
        for a single fill price); otherwise rounded at the 50th digit.
        """
        if self.filled_quantity == 0:
            return None
        with localcontext(MONEY_CONTEXT):
            return self.filled_notional / self.filled_quantity

    def apply(self, kind: OrderEventKind) -> OrderStatus:
        """Move to the status the table gives for a non-fill event; return it."""
        if kind is OrderEventKind.FILL:
            raise ValueError("fills go through apply_fill")
        self.status = self._next(kind)
        return self.status

    def apply_fill(
        self, trade_id: str, price: Decimal, amount: Decimal, fee: Decimal, fee_currency: str
    ) -> bool:
        """Book one fill; False (and nothing changes) if `trade_id` was already booked.

        Raises InvalidOrderTransition if the order cannot fill in its status and
        OrderOverfill if the fill would exceed the order's quantity.
        """
        if trade_id in self.trade_ids:
            return False
        if price <= 0 or amount <= 0 or fee < 0:
            raise ValueError(f"order {self.client_order_id}: bad fill {trade_id}")
        after_partial = self._next(OrderEventKind.FILL)
        with localcontext(MONEY_CONTEXT):
            filled = self.filled_quantity + amount
            if filled > self.quantity:
                raise OrderOverfill(
                    f"order {self.client_order_id}: fill {trade_id} of {amount} takes "
                    f"{self.filled_quantity} past {self.quantity}"
                )
            self.filled_quantity = filled
            self.filled_notional += price * amount
            self.fees[fee_currency] = self.fees.get(fee_currency, Decimal(0)) + fee
        self.trade_ids.add(trade_id)
        self.status = OrderStatus.FILLED if filled == self.quantity else after_partial
        return True

    def _next(self, kind: OrderEventKind) -> OrderStatus:
        try:
            return TRANSITIONS[(self.status, kind)]
        except KeyError:
            raise InvalidOrderTransition(self.client_order_id, self.status, kind) from None
