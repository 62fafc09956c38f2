"""Manual orders and cancels: how the API makes the trading actors act, and learns the
outcome without blocking the IOLoop.

An order is journaled (`ManualOrderRequested`, committed) before it goes to the risk
actor, which settles a `LoopReply` with the event that decides it; the journal is then
flushed, so the answer the client gets is what the database holds.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from actors.messages import CancelOrderAndReply, Flush, GetExchangeStatus, SubmitOrderAndReply
from api.base import BaseHandler
from api.bridge import ActorGateway, ActorUnavailable
from api.errors import ApiError
from api.order_ids import manual_client_order_id
from storage import trading_queries as queries
from trading.events import (
    LIMIT,
    CancelOrder,
    ManualOrderRequested,
    OrderDenied,
    OrderRejected,
    SubmitOrder,
)
from trading.markets import Market, OrderRuleViolation, Side
from trading.money import is_multiple
from trading.orders import API_STATUS, OrderStatus

ORDER_REPLY_TIMEOUT_S = 10.0
"""How long a request waits for the exchange's answer (a live venue may be slow)."""

MIN_SIZE_CODES = ("BELOW_MIN_NOTIONAL", "BELOW_MIN_AMOUNT")


def gateway_of(handler: BaseHandler) -> ActorGateway:
    gateway = handler.context.actors if handler.context is not None else None
    if gateway is None:
        raise ApiError(503, "ACTOR_UNAVAILABLE", "no trading actors run in this process")
    return gateway


def api_status(status: str) -> str:
    """API.md's lowercase status of an internal order status (the one mapping:
    `trading.orders.API_STATUS`)."""
    return API_STATUS[OrderStatus(status)]


def market_of(handler: BaseHandler, account_id: str, symbol: str) -> Market:
    assert handler.context is not None
    market = handler.context.markets.get(account_id, {}).get(symbol)
    if market is None:
        raise ApiError(422, "VALIDATION_ERROR", f"account {account_id} does not trade {symbol}", {
            "errors": [{"loc": ["body", "symbol"], "msg": f"not a market of account {account_id}"}],
        })
    return market


def check_rules(market: Market, side: Side, order_type: str, quantity: Decimal, price: Decimal | None) -> None:
    """422 for an order the exchange would refuse by its market rules (checked here so
    the client hears which rule; the venue checks again)."""
    if order_type == LIMIT:
        if price is None:
            raise _invalid("price", "a limit order needs a price")
        try:
            market.check_order(side, price, quantity)
        except OrderRuleViolation as violation:
            raise _rule_error(violation.code, violation.message) from None
        return
    if price is not None:
        raise _invalid("price", "a market order takes no price")
    if not is_multiple(quantity, market.step_size):
        raise _rule_error("AMOUNT_NOT_ON_STEP", f"quantity {quantity} is not a multiple of {market.step_size}")
    if quantity < market.min_amount:
        raise _rule_error("BELOW_MIN_AMOUNT", f"quantity {quantity} is below the minimum {market.min_amount}")


async def place_order(
    handler: BaseHandler, user_id: str, account_id: str, symbol: str, side: Side, order_type: str,
    quantity: Decimal, price: Decimal | None,
) -> Any:
    """Journal, submit through risk, await the decision; the committed order row, or
    ApiError (422 for a refusal, 504 when no answer came)."""
    context = handler.context
    assert context is not None and context.engine is not None
    gateway = gateway_of(handler)
    engine = context.engine

    async def load_last(account: str) -> int:
        return await handler.in_executor(queries.last_manual_sequence, engine, account)

    sequence = await context.manual_order_ids.next(account_id, load_last)
    client_order_id = manual_client_order_id(account_id, sequence)
    request = ManualOrderRequested(
        account_id=account_id, user_id=user_id, client_order_id=client_order_id, sequence=sequence,
        symbol=symbol, side=side, order_type=order_type, quantity=quantity, price=price,
        correlation_id=handler.request_id,
    )
    if not gateway.tell(gateway.journal, request):
        raise ApiError(503, "ACTOR_UNAVAILABLE", "the journal is not running")
    await commit(gateway)
    order = SubmitOrder(
        account_id=account_id, bot_id=None, client_order_id=client_order_id, symbol=symbol, side=side,
        order_type=order_type, quantity=quantity, price=price, correlation_id=request.message_id,
    )
    outcome = await _ask(gateway, gateway.risk, lambda reply: SubmitOrderAndReply(order=order, reply=reply), client_order_id)
    await settle(gateway, account_id)
    if isinstance(outcome, OrderDenied):
        status, code = (503, "EXCHANGE_UNAVAILABLE") if outcome.code == "EXCHANGE_UNAVAILABLE" else (422, "RISK_LIMIT_BREACHED")
        raise ApiError(status, code, outcome.reason, {"client_order_id": client_order_id, "reason_code": outcome.code})
    if isinstance(outcome, OrderRejected):
        raise _rejection(outcome)
    row = await handler.in_executor(queries.find_order, engine, None, client_order_id)
    if row is None:  # accepted yet not projected: the journal would have to be broken
        raise ApiError(500, "INTERNAL_ERROR", f"order {client_order_id} was accepted but is not in the database")
    return row


async def cancel_order(handler: BaseHandler, row: Any) -> Any:
    """Cancel an open order through its exchange actor; the event that ended it."""
    gateway = gateway_of(handler)
    cancel = CancelOrder(
        account_id=row.account_id, bot_id=row.bot_id, client_order_id=row.client_order_id, symbol=row.symbol,
        correlation_id=handler.request_id,
    )
    outcome = await _ask(gateway, gateway.risk, lambda reply: CancelOrderAndReply(cancel=cancel, reply=reply), row.client_order_id)
    await settle(gateway, row.account_id)
    return outcome


async def settle(gateway: ActorGateway, account_id: str) -> None:
    """Wait until what the exchange actor did with the order is committed: the events
    that decided it reach us while it may still be journaling the rest (the balances it
    reports after them). Its status, asked now, is answered after that work (one
    mailbox, in order); then the journal flushes."""
    name = gateway.exchanges.get(account_id)
    if name is not None:
        try:
            await gateway.ask(name, lambda reply: GetExchangeStatus(reply=reply))
        except (asyncio.TimeoutError, ActorUnavailable):
            pass  # it is gone or stuck; what it journaled before is flushed below
    await commit(gateway)


async def commit(gateway: ActorGateway) -> None:
    """Wait until the journal has committed everything told to it so far."""
    try:
        await gateway.ask(gateway.journal, lambda reply: Flush(reply=reply))
    except asyncio.TimeoutError:
        raise ApiError(504, "ACTOR_TIMEOUT", f"the journal did not commit within {gateway.timeout_s:g} s") from None
    except ActorUnavailable:
        raise ApiError(503, "ACTOR_UNAVAILABLE", "the journal is not running") from None
    except RuntimeError as error:  # the database refused the batch; the journal keeps it
        raise ApiError(503, "DATABASE_UNAVAILABLE", f"the journal cannot write: {error}") from None


async def _ask(gateway: ActorGateway, name: str, make: Any, client_order_id: str) -> Any:
    try:
        outcome = await gateway.ask(name, make, timeout_s=ORDER_REPLY_TIMEOUT_S)
    except asyncio.TimeoutError:
        raise ApiError(504, "ACTOR_TIMEOUT", f"no answer for order {client_order_id} within {ORDER_REPLY_TIMEOUT_S:g} s; "
                       "it may still complete: look it up by its client_order_id", {"client_order_id": client_order_id}) from None
    except ActorUnavailable:
        raise ApiError(503, "ACTOR_UNAVAILABLE", f"{name} is not running", {"client_order_id": client_order_id}) from None
    if isinstance(outcome, BaseException):
        raise ApiError(503, "EXCHANGE_UNAVAILABLE", str(outcome), {"client_order_id": client_order_id})
    return outcome


def _rejection(event: OrderRejected) -> ApiError:
    details = {"client_order_id": event.client_order_id, "reason_code": event.code}
    if event.code == "INSUFFICIENT_BALANCE":
        return ApiError(422, "INSUFFICIENT_BALANCE", event.reason, details)
    if event.code in MIN_SIZE_CODES:
        return ApiError(422, "BELOW_MIN_NOTIONAL", event.reason, details)
    if event.code in ("PRICE_NOT_ON_TICK", "AMOUNT_NOT_ON_STEP", "NON_POSITIVE", "UNKNOWN_SYMBOL", "NO_PRICE", "MISSING_PRICE", "INVALID_ORDER_TYPE"):
        return ApiError(422, "VALIDATION_ERROR", event.reason, details)
    return ApiError(502, "EXCHANGE_ERROR", event.reason, details)


def _rule_error(code: str, message: str) -> ApiError:
    if code in MIN_SIZE_CODES:
        return ApiError(422, "BELOW_MIN_NOTIONAL", message, {"rule": code})
    return ApiError(422, "VALIDATION_ERROR", message, {"rule": code, "errors": [{"loc": ["body"], "msg": message}]})


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "VALIDATION_ERROR", message, {"errors": [{"loc": ["body", field], "msg": message}]})
