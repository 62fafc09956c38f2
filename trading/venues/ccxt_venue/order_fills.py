"""Exchanges without `fetchMyTrades` (Upbit): fills read from each order, and the calls by
client id that ccxt gets wrong there (CCXT.md "Client order ids").

Such an exchange tells an order's fills only through the order itself (Upbit's `GET /v1/order`
lists its `trades`, without a fee: the fee is the order's `paid_fee`). `new_fills` turns one
order as ccxt parsed it into the trades not booked yet: the exchange's own trades, their fee
shared out of what the order paid since the last booking; or, when the exchange gives no
trades at all, one fill of the amount filled since, under an id made of the order id and the
cumulative filled amount, so the same answer polled twice books nothing twice.

Also what `create_order` gets here: Upbit's KRW tick depends on the price band and ccxt only
rounds to 1e-8, so limit prices are put on the band's tick (`upbit_rules`) before they leave,
and a market buy spends a cost (`ord_type=price`), which is `quantity x price`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_DOWN, Decimal
from typing import Any

from trading.events import MARKET, OrderSubmitted
from trading.markets import Market, OrderRuleViolation, Side
from trading.money import plain
from trading.venues.upbit_rules import instrument_tick_size, upbit_market

FILLS_FROM_ORDERS = frozenset({"upbit"})
"""Exchanges whose orders carry their fills in ccxt's `parse_order` (`trades`, `filled`)."""

FEE_QUANTUM = Decimal("0.00000001")
ZERO = Decimal(0)


def fills_from_orders(exchange_id: str) -> bool:
    return exchange_id in FILLS_FROM_ORDERS


# -- calls by client id ---------------------------------------------------------------------------


def fetch_by_client_id(exchange: Any, symbol: str, client_order_id: str) -> dict[str, Any]:
    """The order `client_order_id` as ccxt parses it; Upbit's `fetch_order` would send `uuid=None`."""
    if exchange.id == "upbit":
        return exchange.parse_order(exchange.private_get_order({"identifier": client_order_id}))
    return exchange.fetch_order(None, symbol, {"clientOrderId": client_order_id})


def cancel_by_client_id(exchange: Any, symbol: str, client_order_id: str) -> dict[str, Any]:
    if exchange.id == "upbit":
        return exchange.parse_order(exchange.private_delete_order({"identifier": client_order_id}))
    return exchange.cancel_order(None, symbol, {"clientOrderId": client_order_id})


# -- markets -------------------------------------------------------------------------------------


def upbit_markets(exchange: Any, raw: Mapping[str, Any], symbols: Iterable[str]) -> dict[str, Market]:
    """Upbit's rules for `symbols` (one request): the tick Upbit reports for each market's
    current price (`orderbook/instruments`) and the minimum order value (5,000 KRW)."""
    wanted = {raw[s]["id"]: s for s in symbols if s in raw}
    instruments = exchange.public_get_orderbook_instruments({"markets": ",".join(sorted(wanted))})
    markets = {}
    for market_id, symbol in wanted.items():
        tick = instrument_tick_size(instruments, market_id)
        if tick is not None:  # the price only picks a band when no tick is given
            markets[symbol] = upbit_market(raw[symbol], tick, tick_size=tick)
    return markets


# -- order parameters -----------------------------------------------------------------------------


def rules_for(exchange_id: str, ccxt_market: Mapping[str, Any], market: Market, price: Decimal | None) -> Market:
    """The market rules an order at `price` must meet: on Upbit those of the price's band."""
    if exchange_id != "upbit" or price is None or price <= 0:
        return market
    return upbit_market(ccxt_market, price)


def create_args(exchange_id: str, market: Market, submitted: OrderSubmitted) -> tuple[str | None, str | None, dict[str, Any]]:
    """(amount, price, params) for `create_order`, as plain strings; the client id goes in
    `clientOrderId`, which ccxt sends as Binance's `newClientOrderId` or Upbit's `identifier`."""
    params: dict[str, Any] = {"clientOrderId": submitted.client_order_id}
    if submitted.order_type == MARKET or submitted.price is None:
        if exchange_id == "upbit" and submitted.side is Side.BUY:
            if submitted.price is None:
                raise OrderRuleViolation("MARKET_BUY_NEEDS_PRICE", "an Upbit market buy spends KRW: it needs a price")
            unit = Decimal(1) if market.quote == "KRW" else FEE_QUANTUM
            params["cost"] = plain((submitted.quantity * submitted.price).quantize(unit, ROUND_DOWN))
            return None, None, params
        return _plain(submitted.quantity), None, params
    return _plain(submitted.quantity), _plain(limit_price(exchange_id, market, submitted)), params


def limit_price(exchange_id: str, market: Market, submitted: OrderSubmitted) -> Decimal:
    """The price that leaves: on Upbit put on the band's tick (buys down, sells up), since a
    grid's levels may cross into a coarser band; elsewhere as given (an off-tick price is
    refused before it leaves)."""
    assert submitted.price is not None
    return market.price_to_tick(submitted.price, submitted.side) if exchange_id == "upbit" else submitted.price


# -- fills ----------------------------------------------------------------------------------------


def new_fills(
    remote: Mapping[str, Any],
    *,
    is_booked: Callable[[Mapping[str, Any]], bool],
    filled_before: Decimal,
    fee_before: Decimal,
    quote: str,
    dec: Callable[[Any], Decimal],
    derive: bool,
) -> list[dict[str, Any]]:
    """The fills of `remote` (a ccxt order) not booked yet, as ccxt trades with a fee each.

    `filled_before`/`fee_before`: what is booked for the order. `derive`: whether `remote`
    is the order's full record, so that an empty `trades` means the exchange gives none
    (a list or a create answer omits them; the caller fetches the order first).
    """
    paid = dec((remote.get("fee") or {}).get("cost"))
    trades = [t for t in remote.get("trades") or [] if not is_booked(t)]
    if remote.get("trades"):
        return _with_fees(trades, paid - fee_before, quote, dec)
    filled = dec(remote.get("filled"))
    if not derive or filled <= filled_before:
        return []
    average = remote.get("average") or remote.get("price")
    if average is None and remote.get("cost"):
        average = dec(remote["cost"]) / filled
    return [{
        "id": f"{remote.get('id')}@{plain(filled.normalize())}", "order": remote.get("id"),
        "amount": plain(filled - filled_before), "price": plain(dec(average)),
        "fee": {"cost": plain(max(paid - fee_before, ZERO)), "currency": quote},
        "timestamp": remote.get("lastTradeTimestamp") or remote.get("timestamp"),
    }]


def _with_fees(trades: list[Mapping[str, Any]], fee_left: Decimal, quote: str,
               dec: Callable[[Any], Decimal]) -> list[dict[str, Any]]:
    """Trades without a fee of their own get a share of `fee_left` by their cost; the last
    takes the remainder, so the booked fees add up to what the exchange charged."""
    out = [dict(t) for t in trades]
    bare = [t for t in out if (t.get("fee") or {}).get("cost") is None]
    costs = [dec(t.get("amount")) * dec(t.get("price")) for t in bare]
    total, left = sum(costs, ZERO), max(fee_left, ZERO)
    for i, trade in enumerate(bare):
        share = left if i == len(bare) - 1 or not total else (fee_left * costs[i] / total).quantize(FEE_QUANTUM, ROUND_DOWN)
        share = min(share, left)
        left -= share
        trade["fee"] = {"cost": plain(share), "currency": quote}
    return out


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")
