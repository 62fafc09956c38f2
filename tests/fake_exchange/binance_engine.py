"""The fake Binance's state: symbols and their filters, balances, orders, trades, matching.

Pure and thread-safe (one lock): the HTTP layer (`tests.fake_exchange.binance`) and the
test thread (`set_price`) both call in. Every number is a `Decimal`; the wire formats
them as Binance does, with 8 decimals. `orders` and `trades` are the server's own record
for comparing with the daemon's journal after a run.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any, Callable

D = Decimal
ZERO = D(0)
EIGHT = D("0.00000001")


@dataclass(frozen=True)
class Rules:
    """One symbol's filters (PRICE_FILTER, LOT_SIZE, NOTIONAL)."""

    symbol: str
    base: str
    quote: str
    tick: Decimal
    step: Decimal
    min_qty: Decimal
    min_notional: Decimal


DEFAULT_RULES = (
    Rules("XRPUSDT", "XRP", "USDT", D("0.0001"), D("0.1"), D("0.1"), D("5")),
    Rules("BTCUSDT", "BTC", "USDT", D("0.01"), D("0.00001"), D("0.00001"), D("5")),
    Rules("ETHUSDT", "ETH", "USDT", D("0.01"), D("0.0001"), D("0.0001"), D("5")),
)


class BinanceError(Exception):
    """An error answer: HTTP `status` with Binance's `{"code": ..., "msg": ...}`."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(f"{status} {code} {msg}")
        self.status = status
        self.code = code
        self.msg = msg


def fmt(value: Decimal) -> str:
    """Binance's wire format: 8 decimals."""
    return f"{value.quantize(EIGHT):f}"


def _multiple(value: Decimal, unit: Decimal) -> bool:
    return value % unit == 0


class Engine:
    """A spot account on a tiny exchange: limit orders rest and fill when the price set by
    the test crosses them (as maker, at their price); market orders and crossing limits
    fill at once at the last price (as taker). Fees are charged in the received asset."""

    def __init__(
        self,
        rules: tuple[Rules, ...] = DEFAULT_RULES,
        balances: dict[str, Decimal | str] | None = None,
        *,
        maker_fee: Decimal = D("0.001"),
        taker_fee: Decimal = D("0.001"),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lock = threading.RLock()
        self.rules = {rule.symbol: rule for rule in rules}
        self.maker_fee = maker_fee
        self.taker_fee = taker_fee
        self.clock = clock
        self.balances: dict[str, list[Decimal]] = {
            asset: [D(amount), ZERO] for asset, amount in (balances or {}).items()
        }
        self.prices: dict[str, Decimal] = {}
        self.history: list[tuple[int, str, Decimal]] = []  # (ms, symbol, price) for klines
        self.candles: dict[str, dict[int, tuple[Decimal, ...]]] = {}  # set candles, served instead
        self.orders: dict[int, dict[str, Any]] = {}
        self.client_ids: dict[tuple[str, str], int] = {}
        self.trades: list[dict[str, Any]] = []
        self.duplicates: list[str] = []  # client ids refused as duplicates
        self.next_order_id = 1
        self.next_trade_id = 1

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    # -- the test's controls ---------------------------------------------------------------

    def set_price(self, symbol: str, price: Decimal | str) -> list[dict[str, Any]]:
        """Move the market; resting orders the price reaches fill at their own price.
        Returns the trades made."""
        symbol = symbol.replace("/", "")
        price = D(price)
        with self.lock:
            self._rules(symbol)
            self.prices[symbol] = price
            self.history.append((self.now_ms(), symbol, price))
            made = []
            for order in sorted(self._resting(symbol), key=lambda o: o["orderId"]):
                reached = price <= order["price"] if order["side"] == "BUY" else price >= order["price"]
                if reached:
                    made.append(self._fill(order, order["price"], order["origQty"] - order["executedQty"], maker=True))
            return made

    def set_candle(self, symbol: str, open_ms: int, open_: str, high: str, low: str, close: str,
                   volume: str = "0") -> None:
        """Set (or change) the 1m candle opening at `open_ms`: once a symbol has set candles,
        its klines are those, whatever the prices (deterministic candle data for tests)."""
        symbol = symbol.replace("/", "")
        with self.lock:
            self._rules(symbol)
            self.candles.setdefault(symbol, {})[open_ms] = tuple(D(v) for v in (open_, high, low, close, volume))

    def balance(self, asset: str) -> tuple[Decimal, Decimal]:
        with self.lock:
            free, locked = self.balances.get(asset, [ZERO, ZERO])
            return free, locked

    def order_by_client_id(self, symbol: str, client_order_id: str) -> dict[str, Any] | None:
        with self.lock:
            order_id = self.client_ids.get((symbol.replace("/", ""), client_order_id))
            return None if order_id is None else dict(self.orders[order_id])

    # -- the API ---------------------------------------------------------------------------

    def place(self, params: dict[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """POST /api/v3/order: the order and the trades it made at once."""
        with self.lock:
            rules = self._rules(_required(params, "symbol"))
            side = _required(params, "side").upper()
            kind = _required(params, "type").upper()
            if side not in ("BUY", "SELL"):
                raise BinanceError(400, -1117, "Invalid side.")
            if kind not in ("LIMIT", "MARKET", "LIMIT_MAKER"):
                raise BinanceError(400, -1116, "Invalid orderType.")
            client_id = params.get("newClientOrderId") or f"fake-{self.next_order_id}"
            if (rules.symbol, client_id) in self.client_ids:
                self.duplicates.append(client_id)
                raise BinanceError(400, -2010, "Duplicate order sent.")
            last = self.prices.get(rules.symbol)
            if kind == "MARKET":
                if last is None:
                    raise BinanceError(400, -2010, "No liquidity for this market.")
                if "quantity" in params:
                    qty = _decimal(params, "quantity")
                else:
                    quote_qty = _decimal(params, "quoteOrderQty")
                    qty = (quote_qty / last).quantize(rules.step, rounding=ROUND_DOWN)
                price = last
            else:
                if "timeInForce" not in params and kind == "LIMIT":
                    raise BinanceError(400, -1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.")
                qty = _decimal(params, "quantity")
                price = _decimal(params, "price")
                if price <= 0 or not _multiple(price, rules.tick):
                    raise BinanceError(400, -1013, "Filter failure: PRICE_FILTER")
            if qty < rules.min_qty or not _multiple(qty, rules.step):
                raise BinanceError(400, -1013, "Filter failure: LOT_SIZE")
            if price * qty < rules.min_notional:
                raise BinanceError(400, -1013, "Filter failure: NOTIONAL")
            crosses = last is not None and (last <= price if side == "BUY" else last >= price)
            if kind == "LIMIT_MAKER" and crosses:
                raise BinanceError(400, -2010, "Order would immediately match and take.")
            lock_asset, lock_amount = (rules.quote, price * qty) if side == "BUY" else (rules.base, qty)
            if self.balances.get(lock_asset, [ZERO, ZERO])[0] < lock_amount:
                raise BinanceError(400, -2010, "Account has insufficient balance for requested action.")
            now = self.now_ms()
            order = {
                "symbol": rules.symbol, "orderId": self.next_order_id, "clientOrderId": client_id,
                "price": price if kind != "MARKET" else ZERO, "limitPrice": price, "origQty": qty,
                "executedQty": ZERO, "cummulativeQuoteQty": ZERO, "status": "NEW",
                "timeInForce": params.get("timeInForce", "GTC"), "type": kind, "side": side,
                "time": now, "updateTime": now, "lockAsset": lock_asset, "locked": lock_amount,
                "wire": {key: value for key, value in params.items() if key != "signature"},
            }
            self.next_order_id += 1
            self.orders[order["orderId"]] = order
            self.client_ids[(rules.symbol, client_id)] = order["orderId"]
            self._move(lock_asset, -lock_amount, lock_amount)
            trades = []
            if crosses or kind == "MARKET":
                assert last is not None
                trades.append(self._fill(order, last, qty, maker=False))
            return dict(order), trades

    def cancel(self, symbol: str, order_id: str | None, client_id: str | None, cancel_client_id: str | None) -> dict[str, Any]:
        with self.lock:
            order = self._find(symbol, order_id, client_id, unknown=(-2011, "Unknown order sent."))
            if order["status"] not in ("NEW", "PARTIALLY_FILLED"):
                raise BinanceError(400, -2011, "Unknown order sent.")
            order["status"] = "CANCELED"
            order["updateTime"] = self.now_ms()
            self._move(order["lockAsset"], order["locked"], -order["locked"])
            order["locked"] = ZERO
            answer = dict(order)
            answer["origClientOrderId"] = order["clientOrderId"]
            answer["clientOrderId"] = cancel_client_id or f"cancel-{order['orderId']}"
            return answer

    def get(self, symbol: str, order_id: str | None, client_id: str | None) -> dict[str, Any]:
        with self.lock:
            return dict(self._find(symbol, order_id, client_id, unknown=(-2013, "Order does not exist.")))

    def open_orders(self, symbol: str | None) -> list[dict[str, Any]]:
        with self.lock:
            if symbol is not None:
                self._rules(symbol)
            return [dict(o) for o in self.orders.values()
                    if o["status"] in ("NEW", "PARTIALLY_FILLED") and symbol in (None, o["symbol"])]

    def my_trades(self, params: dict[str, str]) -> list[dict[str, Any]]:
        with self.lock:
            symbol = self._rules(_required(params, "symbol")).symbol
            trades = [t for t in self.trades if t["symbol"] == symbol]
            if "orderId" in params:
                trades = [t for t in trades if t["orderId"] == int(params["orderId"])]
            if "fromId" in params:
                trades = [t for t in trades if t["id"] >= int(params["fromId"])]
            else:
                if "startTime" in params:
                    trades = [t for t in trades if t["time"] >= int(params["startTime"])]
                if "endTime" in params:
                    trades = [t for t in trades if t["time"] <= int(params["endTime"])]
            limit = min(int(params.get("limit", 500)), 1000)
            return [dict(t) for t in trades[:limit]] if "fromId" in params or "startTime" in params else [dict(t) for t in trades[-limit:]]

    def account_balances(self) -> list[dict[str, str]]:
        with self.lock:
            return [{"asset": a, "free": fmt(f), "locked": fmt(l)} for a, (f, l) in sorted(self.balances.items())]

    # -- matching --------------------------------------------------------------------------

    def _fill(self, order: dict[str, Any], price: Decimal, qty: Decimal, *, maker: bool) -> dict[str, Any]:
        rules = self.rules[order["symbol"]]
        rate = self.maker_fee if maker else self.taker_fee
        cost = price * qty
        if order["side"] == "BUY":
            fee, fee_asset = (qty * rate).quantize(EIGHT), rules.base
            spent = order["limitPrice"] * qty  # what the order locked for this quantity
            self._move(rules.quote, spent - cost, -spent)
            self._move(rules.base, qty - fee, ZERO)
            order["locked"] -= spent
        else:
            fee, fee_asset = (cost * rate).quantize(EIGHT), rules.quote
            self._move(rules.base, ZERO, -qty)
            self._move(rules.quote, cost - fee, ZERO)
            order["locked"] -= qty
        order["executedQty"] += qty
        order["cummulativeQuoteQty"] += cost
        order["status"] = "FILLED" if order["executedQty"] >= order["origQty"] else "PARTIALLY_FILLED"
        order["updateTime"] = self.now_ms()
        trade = {
            "symbol": order["symbol"], "id": self.next_trade_id, "orderId": order["orderId"],
            "clientOrderId": order["clientOrderId"], "price": price, "qty": qty, "quoteQty": cost,
            "commission": fee, "commissionAsset": fee_asset, "time": self.now_ms(),
            "isBuyer": order["side"] == "BUY", "isMaker": maker,
        }
        self.next_trade_id += 1
        self.trades.append(trade)
        return trade

    def _move(self, asset: str, free: Decimal, locked: Decimal) -> None:
        balance = self.balances.setdefault(asset, [ZERO, ZERO])
        balance[0] += free
        balance[1] += locked

    def _resting(self, symbol: str) -> list[dict[str, Any]]:
        return [o for o in self.orders.values() if o["symbol"] == symbol and o["status"] in ("NEW", "PARTIALLY_FILLED")]

    def _rules(self, symbol: str) -> Rules:
        rules = self.rules.get(symbol)
        if rules is None:
            raise BinanceError(400, -1121, "Invalid symbol.")
        return rules

    def _find(self, symbol: str, order_id: str | None, client_id: str | None, unknown: tuple[int, str]) -> dict[str, Any]:
        rules = self._rules(symbol)
        if order_id is not None:
            order = self.orders.get(int(order_id))
        elif client_id is not None:
            found = self.client_ids.get((rules.symbol, client_id))
            order = None if found is None else self.orders[found]
        else:
            raise BinanceError(400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
        if order is None or order["symbol"] != rules.symbol:
            raise BinanceError(400, *unknown)
        return order

    # -- persistence (the server as its own process survives daemon kills) -----------------

    def to_json(self) -> str:
        with self.lock:
            return json.dumps({
                "rules": [asdict(rule) for rule in self.rules.values()],
                "maker_fee": self.maker_fee, "taker_fee": self.taker_fee,
                "balances": self.balances, "prices": self.prices,
                "orders": list(self.orders.values()), "trades": self.trades, "duplicates": self.duplicates,
                "next_order_id": self.next_order_id, "next_trade_id": self.next_trade_id,
            }, default=_encode)

    @classmethod
    def from_json(cls, text: str) -> Engine:
        data = json.loads(text, parse_float=D)
        engine = cls(tuple(Rules(**{k: (D(v) if k not in ("symbol", "base", "quote") else v) for k, v in r.items()})
                           for r in data["rules"]),
                     maker_fee=D(data["maker_fee"]), taker_fee=D(data["taker_fee"]))
        engine.balances = {a: [D(f), D(l)] for a, (f, l) in data["balances"].items()}
        engine.prices = {s: D(p) for s, p in data["prices"].items()}
        for order in data["orders"]:
            for key in ("price", "limitPrice", "origQty", "executedQty", "cummulativeQuoteQty", "locked"):
                order[key] = D(order[key])
            engine.orders[order["orderId"]] = order
            engine.client_ids[(order["symbol"], order["clientOrderId"])] = order["orderId"]
        for trade in data["trades"]:
            for key in ("price", "qty", "quoteQty", "commission"):
                trade[key] = D(trade[key])
            engine.trades.append(trade)
        engine.duplicates = list(data["duplicates"])
        engine.next_order_id = data["next_order_id"]
        engine.next_trade_id = data["next_trade_id"]
        return engine


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise BinanceError(400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
    return value


def _decimal(params: dict[str, str], name: str) -> Decimal:
    text = _required(params, name)
    try:
        return D(text)
    except ArithmeticError:
        raise BinanceError(400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '^([0-9]{{1,20}})(\\.[0-9]{{1,20}})?$'.") from None
