"""A small stateful fake of Upbit's REST API that real `ccxt.upbit` trades with on 127.0.0.1.

Served by `CaptureServer` (every request recorded). Enough of Upbit for `CcxtVenue`:
markets, order chance, orderbook instruments, accounts, placing an order (`wait`, or filled
at once for market orders: a market buy by cost ends `cancel` with its fill, as on Upbit),
lookup by `uuid` or `identifier` (with the order's `trades`, which carry no fee: Upbit
reports it as the order's `paid_fee`), open orders, and cancel. Private calls must carry
an HS256 JWT whose `query_hash` is the SHA-512 of the parameters, as Upbit checks them.
Prices off the KRW tick and orders under 5,000 KRW are refused with Upbit's error names.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import jwt

from tests.capture_server import Answer, Captured, CaptureServer

D = Decimal
ACCESS_KEY = "fake-upbit-access"
SECRET = "fake-upbit-secret-of-32-bytes-long!"
FEE = D("0.0005")
MIN_TOTAL = D("5000")
MARKETS = {"KRW-BTC": "Bitcoin", "KRW-XRP": "XRP"}
BANDS = ((D("1000000"), D("1000")), (D("500000"), D("500")), (D("100000"), D("100")), (D("50000"), D("50")),
         (D("10000"), D("10")), (D("5000"), D("5")), (D("100"), D("1")), (D("10"), D("0.1")), (D("0"), D("0.01")))
"""The fake's own KRW tick bands (the part of Upbit's table the tests reach)."""


def tick(price: Decimal) -> Decimal:
    return next(size for floor, size in BANDS if price >= floor)


def fmt(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _error(status: int, name: str, message: str) -> Answer:
    return Answer(status=status, body={"error": {"name": name, "message": message}})


class FakeUpbit:
    """Upbit's state: balances (free, locked), prices, orders. `answer` is the responder."""

    def __init__(self, balances: dict[str, str], *, trade_ids: bool = True) -> None:
        self.lock = threading.Lock()
        self.free = {asset: D(v) for asset, v in balances.items()}
        self.locked = {asset: D(0) for asset in balances}
        self.prices: dict[str, Decimal] = {}
        self.orders: list[dict[str, Any]] = []
        self.trade_ids = trade_ids  # False: order lookups carry no `trades` (only filled amounts)
        self.slow_s = 0.0  # the next POST /v1/orders is processed, then answered this late
        self._clock = itertools.count(1)

    # -- test controls -------------------------------------------------------------------------

    def set_price(self, market: str, price: str) -> None:
        """The market trades at `price`: resting limit orders it crosses fill (as makers)."""
        with self.lock:
            self.prices[market] = D(price)
            for order in self.orders:
                if order["market"] != market or order["state"] != "wait" or order["ord_type"] != "limit":
                    continue
                limit = D(order["price"])
                if (order["side"] == "bid" and D(price) <= limit) or (order["side"] == "ask" and D(price) >= limit):
                    self._fill(order, limit, D(order["remaining_volume"]))
                    self._release(order, "done")

    def balance(self, asset: str) -> tuple[Decimal, Decimal]:
        with self.lock:
            return self.free.get(asset, D(0)), self.locked.get(asset, D(0))

    # -- the API ---------------------------------------------------------------------------------

    def answer(self, request: Captured) -> Answer:
        path, method = request.path, request.method
        if path == "/v1/market/all":
            return Answer(body=[{"market": m, "korean_name": n, "english_name": n} for m, n in MARKETS.items()])
        if path == "/v1/orderbook/instruments":
            wanted = request.params.get("markets", "").split(",")
            return Answer(body=[{"market": m, "quote_currency": "KRW", "tick_size": fmt(tick(self.prices.get(m, D(1))))}
                                for m in wanted if m in MARKETS])
        if not self._authorized(request):
            return _error(401, "jwt_verification", "Jwt 토큰 검증에 실패했습니다.")
        with self.lock:
            if path == "/v1/accounts":
                return Answer(body=[{"currency": a, "balance": fmt(self.free[a]), "locked": fmt(self.locked[a]),
                                     "avg_buy_price": "0", "avg_buy_price_modified": False, "unit_currency": "KRW"}
                                    for a in sorted(self.free)])
            if path == "/v1/orders/chance":
                return Answer(body=self._chance(request.params["market"]))
            if path == "/v1/orders" and method == "POST":
                answer = self._place(request.json())
                slow, self.slow_s = self.slow_s, 0.0
            elif path == "/v1/orders/open":
                market = request.params.get("market")
                return Answer(body=[self._public(o, trades=False) for o in self.orders
                                    if o["state"] == "wait" and market in (None, o["market"])])
            elif path == "/v1/order" and method in ("GET", "DELETE"):
                order = self._find(request.params)
                if order is None:
                    return _error(404, "order_not_found", "주문을 찾지 못했습니다.")
                if method == "GET":
                    return Answer(body=self._public(order, trades=self.trade_ids))
                if order["state"] != "wait":
                    return _error(400, "order_not_found", "주문을 찾지 못했습니다.")
                answer = Answer(body=self._public(order, trades=False))  # Upbit answers with the order as it was
                self._release(order, "cancel")
                return answer
            else:
                return _error(404, "not_found", path)
        if slow:
            time.sleep(slow)
        return answer

    # -- internals -------------------------------------------------------------------------------

    def _authorized(self, request: Captured) -> bool:
        """Upbit's check: HS256 with our secret, our access key, and the query hash of the
        parameters (the query string, or a JSON body as `k=v&...`)."""
        _, _, token = request.headers.get("Authorization", "").partition(" ")
        try:
            claims = jwt.decode(token, SECRET, algorithms=["HS256"])
        except jwt.PyJWTError:
            return False
        if claims.get("access_key") != ACCESS_KEY or not claims.get("nonce"):
            return False
        params = request.json().items() if request.body else parse_qsl(request.query, keep_blank_values=True)
        query = "&".join(f"{k}={v}" for k, v in params)
        return not query or claims.get("query_hash") == hashlib.sha512(query.encode()).hexdigest()

    def _chance(self, market: str) -> dict[str, Any]:
        quote, base = market.split("-")
        return {"bid_fee": fmt(FEE), "ask_fee": fmt(FEE), "market": {
            "id": market, "name": f"{base}/{quote}", "order_types": ["limit"], "order_sides": ["ask", "bid"],
            "bid": {"currency": quote, "price_unit": None, "min_total": int(MIN_TOTAL)},
            "ask": {"currency": base, "price_unit": None, "min_total": int(MIN_TOTAL)},
            "max_total": "1000000000.0", "state": "active"}}

    def _find(self, params: dict[str, str]) -> dict[str, Any] | None:
        key = "uuid" if params.get("uuid") else "identifier"
        return next((o for o in self.orders if params.get(key) and o[key] == params[key]), None)

    def _place(self, body: dict[str, Any]) -> Answer:
        market, side, kind = body["market"], body["side"], body["ord_type"]
        quote, base = market.split("-")
        identifier = body.get("identifier")
        if identifier and any(o["identifier"] == identifier for o in self.orders):
            return _error(400, "duplicate_identifier", "identifier already used")  # Upbit: never reused
        price = D(body["price"]) if body.get("price") is not None else self.prices[market]
        volume = D(body["volume"]) if body.get("volume") is not None else None
        if kind == "limit" and price % tick(price):
            return _error(400, f"invalid_price_{side}", "주문 가격 단위를 잘못 입력하셨습니다.")
        total = price if kind == "price" else price * volume
        if total < MIN_TOTAL:
            return _error(400, f"under_min_total_{side}", "최소주문금액 이상으로 주문해주세요")
        need_asset, need = (quote, total * (1 + FEE)) if side == "bid" else (base, volume)
        if self.free.get(need_asset, D(0)) < need:
            return _error(400, f"insufficient_funds_{side}", "주문가능한 금액이 부족합니다.")
        self.free[need_asset] -= need
        self.locked[need_asset] = self.locked.get(need_asset, D(0)) + need
        order = {"uuid": str(uuid.uuid4()), "identifier": identifier, "market": market, "side": side,
                 "ord_type": kind, "price": fmt(price), "volume": None if volume is None else fmt(volume),
                 "remaining_volume": None if volume is None else fmt(volume), "executed_volume": "0",
                 "paid_fee": "0", "locked_asset": need_asset, "locked": need, "state": "wait", "trades": [],
                 "created_at": "2026-01-01T09:00:00+09:00"}
        self.orders.append(order)
        answer = Answer(status=201, body=self._public(order, trades=False))
        if kind == "price":  # spend the KRW at the current price; the unspendable rest is cancelled
            now = self.prices[market]
            self._fill(order, now, (price / now).quantize(D("0.00000001"), rounding="ROUND_DOWN"))
            self._release(order, "cancel")
        elif kind == "market":
            self._fill(order, self.prices[market], volume)
            self._release(order, "done")
        return answer

    def _fill(self, order: dict[str, Any], price: Decimal, volume: Decimal) -> None:
        quote, base = order["market"].split("-")
        funds = price * volume
        fee = (funds * FEE).quantize(D("0.00000001"))
        if order["side"] == "bid":
            spent = funds + fee
            self.locked[quote] -= spent
            order["locked"] -= spent
            self.free[base] = self.free.get(base, D(0)) + volume
        else:
            self.locked[base] -= volume
            order["locked"] -= volume
            self.free[quote] = self.free.get(quote, D(0)) + funds - fee
        if order["remaining_volume"] is not None:
            order["remaining_volume"] = fmt(D(order["remaining_volume"]) - volume)
        order["executed_volume"] = fmt(D(order["executed_volume"]) + volume)
        order["paid_fee"] = fmt(D(order["paid_fee"]) + fee)
        order["trades"].append({"market": order["market"], "uuid": str(uuid.uuid4()), "price": fmt(price),
                                "volume": fmt(volume), "funds": fmt(funds), "trend": "up", "side": order["side"],
                                "created_at": "2026-01-01T09:00:%02d+09:00" % (next(self._clock) % 60)})

    def _release(self, order: dict[str, Any], state: str) -> None:
        """The order ends in `state`; what it still locks (the unfilled rest, the fee margin)
        is free again."""
        asset = order["locked_asset"]
        self.locked[asset] -= order["locked"]
        self.free[asset] += order["locked"]
        order["locked"], order["state"] = D(0), state

    def _public(self, order: dict[str, Any], *, trades: bool) -> dict[str, Any]:
        shown = {k: v for k, v in order.items() if k not in ("locked_asset", "locked", "trades")}
        shown.update(locked=fmt(order["locked"]), reserved_fee="0", remaining_fee="0",
                     trades_count=len(order["trades"]))
        if trades:
            shown["trades"] = list(order["trades"])
        return shown


def serve_fake_upbit(balances: dict[str, str], **options: Any) -> tuple[FakeUpbit, CaptureServer]:
    """A started server (stop it with `.stop()`) and the fake behind it."""
    fake = FakeUpbit(balances, **options)
    server = CaptureServer(fake.answer)
    server.start()
    return fake, server
