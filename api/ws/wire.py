"""Domain events -> WebSocket messages (DESIGN.md: wire names are mapped only at the edge).

`prepare(item)` turns one relayed item into the `Outgoing` messages it makes, one per
channel, each serialised once here (on the relay's thread) and written as the same bytes
to every subscriber of that channel. Money is a decimal string; `timestamp` is epoch ms.

Items are matched by class name, not class: the API may not import `actors.bot`, whose
`BotProfit` answers come through the relay too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

BOT, ACCOUNT = "bot", "account"

ORDER_STATUS = {
    "OrderSubmitted": "pending",
    "OrderAccepted": "open",
    "OrderCanceled": "cancelled",
    "OrderRejected": "rejected",
    "OrderDenied": "rejected",
}


class Outgoing:
    """One serialised message for one channel.

    `frame` is `payload` as a whole unmasked WebSocket text frame, made once here: every
    subscriber gets the very same bytes. `owner` names whose it is, (`bot`|`account`, id),
    on channels that every user shares (`orders`, `bots`): the hub sends it only to that
    owner and to admins. `conflate` is the latest-wins key of market data, None for
    messages that must all arrive.
    """

    __slots__ = ("channel", "kind", "payload", "frame", "owner", "conflate", "admin_only")

    def __init__(
        self,
        channel: str,
        kind: str,
        payload: bytes,
        owner: tuple[str, str] | None = None,
        conflate: str | None = None,
        admin_only: bool = False,
    ) -> None:
        self.channel = channel
        self.kind = kind
        self.payload = payload
        self.frame = text_frame(payload)
        self.owner = owner
        self.conflate = conflate
        self.admin_only = admin_only


def text_frame(payload: bytes) -> bytes:
    """RFC 6455 5.2: FIN + text opcode, the length, no mask (server to client), the payload."""
    length = len(payload)
    if length < 126:
        return bytes((0x81, length)) + payload
    if length <= 0xFFFF:
        return bytes((0x81, 126)) + length.to_bytes(2, "big") + payload
    return bytes((0x81, 127)) + length.to_bytes(8, "big") + payload


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), default=_default).encode()


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "value"):  # enums (Side)
        return value.value
    raise TypeError(f"cannot send {type(value).__name__} on a WebSocket")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def message(kind: str, channel: str | None, timestamp_ms: int, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": kind}
    if channel is not None:
        body["channel"] = channel
    body["timestamp"] = timestamp_ms
    body.update(fields)
    return body


def market_channel(symbol: str) -> str:
    """`BTC/USDT` -> `market:BTC-USDT`."""
    return "market:" + symbol.replace("/", "-")


def prepare(item: Any) -> list[Outgoing]:
    mapper = _MAPPERS.get(type(item).__name__)
    return mapper(item) if mapper is not None else []


# -- mappers ------------------------------------------------------------------------------


def _ms(event: Any) -> int:
    return event.ts_event // 1_000_000


def _ticker(event: Any) -> list[Outgoing]:
    channel = market_channel(event.symbol)
    ts = _ms(event)
    data = {
        "symbol": event.symbol, "last": event.last, "bid": event.bid, "ask": event.ask,
        "low": event.low, "high": event.high,
    }
    compact = {"s": event.symbol, "c": event.last, "l": event.low, "h": event.high}
    return [
        Outgoing(channel, "market", encode(message("ticker", channel, ts, data=data)), conflate=channel),
        Outgoing("all_markets", "all_markets", encode(message("ticker", "all_markets", ts, data=compact)),
                 conflate="all_markets|" + event.symbol),
    ]


def _owner(event: Any) -> tuple[str, str]:
    return (BOT, event.bot_id) if event.bot_id is not None else (ACCOUNT, event.account_id)


def _order_channels(kind: str, event: Any, data: dict[str, Any]) -> list[Outgoing]:
    ts = _ms(event)
    out = [Outgoing("orders", "orders", encode(message(kind, "orders", ts, data=data)), owner=_owner(event))]
    if event.bot_id is not None:
        channel = "bot:" + event.bot_id
        out.append(Outgoing(channel, "bot", encode(message(kind, channel, ts, data=data))))
    return out


def _order_update(event: Any) -> list[Outgoing]:
    name = type(event).__name__
    data: dict[str, Any] = {
        "client_order_id": event.client_order_id,
        "account_id": event.account_id,
        "bot_id": event.bot_id,
        "status": ORDER_STATUS[name],
        "event": name.removeprefix("Order").lower(),
    }
    for field in ("exchange_order_id", "symbol", "side", "order_type", "quantity", "price", "code", "reason"):
        if hasattr(event, field):
            data[field] = getattr(event, field)
    return _order_channels("order_update", event, data)


def _fill(event: Any) -> list[Outgoing]:
    data = {
        "trade_id": event.trade_id,
        "client_order_id": event.client_order_id,
        "account_id": event.account_id,
        "bot_id": event.bot_id,
        "symbol": event.symbol,
        "side": event.side,
        "price": event.price,
        "quantity": event.quantity,
        "fee": event.fee,
        "fee_currency": event.fee_currency,
        "is_maker": event.is_maker,
        "order_status": "filled" if event.order_completed else "partially_filled",
    }
    return _order_channels("fill", event, data)


def _bot_channels(bot_id: str, ts: int, data: dict[str, Any]) -> list[Outgoing]:
    channel = "bot:" + bot_id
    return [
        Outgoing("bots", "bots", encode(message("bot_update", "bots", ts, data=data)), owner=(BOT, bot_id)),
        Outgoing(channel, "bot", encode(message("bot_update", channel, ts, data=data))),
    ]


def _bot_status(event: Any) -> list[Outgoing]:
    data = {"bot_id": event.bot_id, "status": event.status, "error_message": event.error_message}
    return _bot_channels(event.bot_id, _ms(event), data)


def _bot_profit(profit: Any) -> list[Outgoing]:
    data = {
        "bot_id": profit.bot_id, "status": profit.status, "currency": profit.currency,
        "grid_profit": profit.grid_profit, "total_profit": profit.total_profit,
    }
    return _bot_channels(profit.bot_id, now_ms(), data)


def _balance(event: Any) -> list[Outgoing]:
    channel = "account:" + event.account_id
    data = {
        "account_id": event.account_id, "asset": event.asset, "free": event.free,
        "locked": event.locked, "total": event.free + event.locked,
    }
    return [Outgoing(channel, "account", encode(message("account_update", channel, _ms(event), data=data)))]


def _alert(event: Any) -> list[Outgoing]:
    """Supervision events are alerts, for admins on `system`."""
    name = type(event).__name__
    data = {
        "event": "actor_restarted" if name == "ActorRestarted" else "actor_gave_up",
        "severity": "warning" if name == "ActorRestarted" else "critical",
        "actor": event.name, "restarts": event.restarts, "error": event.error,
    }
    body = encode(message("alert", "system", _ms(event), data=data))
    return [Outgoing("system", "system", body, admin_only=True)]


_MAPPERS: dict[str, Callable[[Any], list[Outgoing]]] = {
    "TickerUpdated": _ticker,
    **dict.fromkeys(ORDER_STATUS, _order_update),
    "OrderFilled": _fill,
    "BotStatusChanged": _bot_status,
    "BotProfit": _bot_profit,
    "BalanceUpdated": _balance,
    "ActorRestarted": _alert,
    "ActorGaveUp": _alert,
}


def notice(event: str, text: str) -> Outgoing:
    """A daemon notice on `system` for every subscriber (shutdown, reload)."""
    body = encode(message("notification", "system", now_ms(), data={"event": event, "message": text}))
    return Outgoing("system", "system", body)
