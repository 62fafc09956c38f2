"""Projectors of the order path: `orders`, `fills`, `bots.status` and `paper_balances`.

They run in the journal's transaction (see `storage.projections`); importing this module
registers them, which the daemon does at boot. Fills are keyed by (account, trade id), so
a fill the journal sees twice is booked once.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from storage.models import BotRow, FillRow, OrderRow, PaperBalanceRow
from storage.projections import projector
from trading.clock import ns_to_datetime
from trading.events import (
    BalanceUpdated,
    BotStatusChanged,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
)

_orders = OrderRow.__table__
_fills = FillRow.__table__
_bots = BotRow.__table__
_balances = PaperBalanceRow.__table__

# Every statement is built once, with bind parameters: the journal runs these for every
# order event, and building a statement per call (`.values(...)`, `.where(...)`) cost
# more than executing it, on the journal's thread, beside the hot path.
_INSERT_ORDER = insert(_orders)
_SET_STATUS = (
    update(_orders)
    .where(_orders.c.client_order_id == bindparam("cid"))
    .values(status=bindparam("status"), updated_at=bindparam("updated_at"))
)
_ACCEPT = _SET_STATUS.values(exchange_order_id=bindparam("exchange_order_id"))
_BOOK_FILL = _SET_STATUS.values(
    filled_quantity=bindparam("filled_quantity"),
    average_fill_price=bindparam("average_fill_price"),
    fee=bindparam("fee"),
    fee_currency=bindparam("fee_currency"),
)
_KNOWN_FILL = select(_fills.c.id).where(
    _fills.c.account_id == bindparam("account_id"), _fills.c.trade_id == bindparam("trade_id")
)
_ORDER_OF_FILL = select(
    _orders.c.id, _orders.c.filled_quantity, _orders.c.average_fill_price, _orders.c.fee, _orders.c.status
).where(_orders.c.client_order_id == bindparam("cid"))
_INSERT_FILL = insert(_fills)
_UPDATE_BALANCE = (
    update(_balances)
    .where(_balances.c.account_id == bindparam("account"), _balances.c.asset == bindparam("coin"))
    .values(free=bindparam("free"), locked=bindparam("locked"))
)
_INSERT_BALANCE = insert(_balances)


def _when(ts_ns: int) -> datetime:
    return ns_to_datetime(ts_ns) if ts_ns else datetime.now(timezone.utc)


@projector("OrderSubmitted")
def order_submitted(connection: Connection, event: OrderSubmitted) -> None:
    when = _when(event.ts_event)
    connection.execute(_INSERT_ORDER, {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"order:{event.client_order_id}")),
        "client_order_id": event.client_order_id,
        "account_id": event.account_id,
        "bot_id": event.bot_id,
        "symbol": event.symbol,
        "side": event.side.value,
        "order_type": event.order_type,
        "quantity": event.quantity,
        "price": event.price,
        "status": "SUBMITTED",
        "grid_index": event.grid_index,
        "created_at": when,
        "updated_at": when,
    })


def _set_status(connection: Connection, client_order_id: str, status: str, ts_ns: int) -> None:
    connection.execute(_SET_STATUS, {"cid": client_order_id, "status": status, "updated_at": _when(ts_ns)})


@projector("OrderAccepted")
def order_accepted(connection: Connection, event: OrderAccepted) -> None:
    connection.execute(_ACCEPT, {
        "cid": event.client_order_id, "status": "ACCEPTED", "updated_at": _when(event.ts_event),
        "exchange_order_id": event.exchange_order_id,
    })


@projector("OrderRejected")
def order_rejected(connection: Connection, event: OrderRejected) -> None:
    _set_status(connection, event.client_order_id, "REJECTED", event.ts_event)


@projector("OrderDenied")
def order_denied(connection: Connection, event: OrderDenied) -> None:
    _set_status(connection, event.client_order_id, "DENIED", event.ts_event)


@projector("OrderCanceled")
def order_canceled(connection: Connection, event: OrderCanceled) -> None:
    _set_status(connection, event.client_order_id, "CANCELED", event.ts_event)


@projector("OrderFilled")
def order_filled(connection: Connection, event: OrderFilled) -> None:
    known = connection.execute(_KNOWN_FILL, {"account_id": event.account_id, "trade_id": event.trade_id}).first()
    if known is not None:
        return
    order = connection.execute(_ORDER_OF_FILL, {"cid": event.client_order_id}).first()
    if order is None:
        return  # an order this daemon did not place; reconciliation reports those
    connection.execute(_INSERT_FILL, {
        "id": str(uuid.uuid4()),
        "trade_id": event.trade_id,
        "order_id": order.id,
        "account_id": event.account_id,
        "bot_id": event.bot_id,
        "symbol": event.symbol,
        "side": event.side.value,
        "price": event.price,
        "quantity": event.quantity,
        "fee": event.fee,
        "fee_currency": event.fee_currency,
        "is_maker": event.is_maker,
        "ts": _when(event.ts_event),
    })
    filled = order.filled_quantity + event.quantity
    average = ((order.average_fill_price or 0) * order.filled_quantity + event.price * event.quantity) / filled
    if event.order_completed:
        status = "FILLED"
    elif order.status in ("CANCELED", "EXPIRED", "REJECTED"):
        status = order.status  # a late fill on a closed order (REJECTED: lost) keeps it closed, as in trading/orders.py
    else:
        status = "PARTIALLY_FILLED"
    connection.execute(_BOOK_FILL, {
        "cid": event.client_order_id, "status": status, "updated_at": _when(event.ts_event),
        "filled_quantity": filled, "average_fill_price": average,
        "fee": order.fee + event.fee, "fee_currency": event.fee_currency,
    })


@projector("BotStatusChanged")
def bot_status_changed(connection: Connection, event: BotStatusChanged) -> None:
    values: dict[str, object] = {"status": event.status, "error_message": event.error_message, "updated_at": _when(event.ts_event)}
    if event.status == "running":
        values["started_at"] = _when(event.ts_event)
    elif event.status == "stopped":
        values["stopped_at"] = _when(event.ts_event)
    connection.execute(update(_bots).where(_bots.c.id == event.bot_id).values(**values))


@projector("BalanceUpdated")
def balance_updated(connection: Connection, event: BalanceUpdated) -> None:
    values = {"account": event.account_id, "coin": event.asset, "free": event.free, "locked": event.locked}
    if not connection.execute(_UPDATE_BALANCE, values).rowcount:
        connection.execute(_INSERT_BALANCE, {
            "account_id": event.account_id, "asset": event.asset, "free": event.free, "locked": event.locked,
        })


@projector("ActorGaveUp")
def actor_gave_up(connection: Connection, event: object) -> None:
    """A bot actor the supervisor gave up on is a bot in `error`, with its last error."""
    name: str = getattr(event, "name")
    if name.startswith("bot:"):
        connection.execute(
            update(_bots)
            .where(_bots.c.id == name.removeprefix("bot:"))
            .values(status="error", error_message=getattr(event, "error"), updated_at=datetime.now(timezone.utc))
        )
