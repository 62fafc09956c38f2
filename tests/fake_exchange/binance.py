"""A fake Binance spot REST server on 127.0.0.1 that real `ccxt.binance` trades with.

Runs in-process in its own thread (`FakeBinanceServer(...).start()`) or as its own process
(`python -m tests.fake_exchange.binance --port N --state FILE`), which outlives a daemon
killed with SIGKILL and keeps its state in FILE. Signed endpoints check `X-MBX-APIKEY`,
the HMAC-SHA256 signature and the timestamp's `recvWindow` as Binance does, and errors
come with Binance's HTTP statuses and `{"code", "msg"}` bodies, so ccxt maps them to the
exceptions it raises against the real exchange.

Faults for resilience tests: a failure rate split between 503, 429 with Retry-After and
slow answers (the order is processed, the answer comes after the client gave up), and
outage windows in which every request fails. In process mode `/_fake/...` endpoints set
prices and faults and return the state.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import random
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qsl

import tornado.httpserver
import tornado.netutil
import tornado.web

from tests.fake_exchange.binance_engine import BinanceError, Engine, fmt

API_KEY = "fake-api-key"
API_SECRET = "fake-api-secret"
SIGNED = {"order", "openOrders", "allOrders", "myTrades", "account"}


@dataclass
class Faults:
    """What goes wrong, per request. `kinds` are drawn evenly from "503", "429", "timeout"."""

    failure_rate: float = 0.0
    kinds: tuple[str, ...] = ("503", "429", "timeout")
    retry_after_s: int = 1
    slow_s: float = 3.0
    outage_until: float = 0.0  # time.monotonic() before which every request fails
    only_paths: tuple[str, ...] = ()  # when given, failures hit these paths only
    counts: dict[str, int] = field(default_factory=dict)

    def draw(self, rng: random.Random, path: str) -> str | None:
        if self.only_paths and path not in self.only_paths:
            return None
        if time.monotonic() < self.outage_until:
            return "outage"
        if self.failure_rate > 0 and rng.random() < self.failure_rate:
            return rng.choice(self.kinds)
        return None


@dataclass
class Recorded:
    """One request as the server got it (for tests that check what ccxt sent)."""

    method: str
    path: str
    params: dict[str, str]
    fault: str | None


class FakeBinanceServer:
    """The HTTP side: Tornado handlers over an `Engine`."""

    def __init__(
        self,
        engine: Engine | None = None,
        *,
        api_key: str = API_KEY,
        api_secret: str = API_SECRET,
        port: int = 0,
        seed: int = 0,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine or Engine()
        self.api_key = api_key
        self.api_secret = api_secret
        self.port = port
        self.faults = Faults()
        self.rng = random.Random(seed)
        self.requests: list[Recorded] = []
        self.on_change = on_change or (lambda: None)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._http: tornado.httpserver.HTTPServer | None = None

    # -- conveniences for tests --------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_price(self, symbol: str, price: Decimal | str) -> list[dict[str, Any]]:
        trades = self.engine.set_price(symbol, price)
        self.on_change()
        return trades

    @property
    def orders(self) -> list[dict[str, Any]]:
        with self.engine.lock:
            return [dict(order) for order in self.engine.orders.values()]

    @property
    def trades(self) -> list[dict[str, Any]]:
        with self.engine.lock:
            return [dict(trade) for trade in self.engine.trades]

    def fail(self, rate: float, kinds: tuple[str, ...] = ("503", "429", "timeout"), *, slow_s: float | None = None,
             retry_after_s: int | None = None) -> None:
        self.faults.failure_rate = rate
        self.faults.kinds = tuple(kinds)
        if slow_s is not None:
            self.faults.slow_s = slow_s
        if retry_after_s is not None:
            self.faults.retry_after_s = retry_after_s

    def outage(self, seconds: float) -> None:
        self.faults.outage_until = time.monotonic() + seconds

    def heal(self) -> None:
        self.faults.failure_rate = 0.0
        self.faults.outage_until = 0.0

    def requests_to(self, method: str, path: str) -> list[Recorded]:
        return [r for r in list(self.requests) if r.method == method and r.path == path]

    # -- running ---------------------------------------------------------------------------

    def app(self) -> tornado.web.Application:
        return tornado.web.Application([
            (r"/_fake/(.*)", ControlHandler, {"server": self}),
            (r"/(api|sapi)/(v\d)/(.*)", ApiHandler, {"server": self}),
        ])

    def start(self) -> FakeBinanceServer:
        """Serve from a thread of its own; returns at once, listening."""
        sockets = tornado.netutil.bind_sockets(self.port, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop

            async def listen() -> None:
                self._http = tornado.httpserver.HTTPServer(self.app())
                self._http.add_sockets(sockets)

            loop.run_until_complete(listen())
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-binance", daemon=True)
        self._thread.start()
        ready.wait(5)
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return

        def halt() -> None:
            if self._http is not None:
                self._http.stop()
            loop.stop()

        loop.call_soon_threadsafe(halt)
        if self._thread is not None:
            self._thread.join(5)
        self._loop = None

    # -- request handling --------------------------------------------------------------------

    def check_signed(self, headers: Any, raw: str, params: dict[str, str]) -> None:
        key = headers.get("X-MBX-APIKEY")
        if not key:
            raise BinanceError(401, -2014, "API-key format invalid.")
        if key != self.api_key:
            raise BinanceError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        payload, _, signature = raw.rpartition("&signature=")
        expected = hmac.new(self.api_secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not signature or not hmac.compare_digest(signature, expected):
            raise BinanceError(400, -1022, "Signature for this request is not valid.")
        try:
            timestamp = int(params["timestamp"])
        except (KeyError, ValueError):
            raise BinanceError(400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.") from None
        window = int(params.get("recvWindow", "5000"))
        if window > 60000:
            raise BinanceError(400, -1131, "recvWindow must be less than 60000")
        now = self.engine.now_ms()
        if timestamp > now + 1000 or now - timestamp > window:
            raise BinanceError(400, -1021, "Timestamp for this request is outside of the recvWindow.")

    def route(self, method: str, endpoint: str, params: dict[str, str]) -> Any:
        engine = self.engine
        if (method, endpoint) == ("GET", "ping"):
            return {}
        if (method, endpoint) == ("GET", "time"):
            return {"serverTime": engine.now_ms()}
        if (method, endpoint) == ("GET", "exchangeInfo"):
            return exchange_info(engine)
        if (method, endpoint) in (("GET", "ticker/24hr"), ("GET", "ticker/price"), ("GET", "ticker/bookTicker")):
            return tickers(engine, endpoint, params)
        if (method, endpoint) == ("GET", "klines"):
            return klines(engine, params)
        if (method, endpoint) == ("GET", "depth"):
            return depth(engine, params)
        if (method, endpoint) == ("POST", "order"):
            order, trades = engine.place(params)
            self.on_change()
            return order_answer(order, trades, params.get("newOrderRespType", "FULL"))
        if (method, endpoint) == ("DELETE", "order"):
            answer = engine.cancel(params.get("symbol", ""), params.get("orderId"), params.get("origClientOrderId"),
                                   params.get("newClientOrderId"))
            self.on_change()
            return {**order_json(answer), "origClientOrderId": answer["origClientOrderId"],
                    "transactTime": answer["updateTime"]}
        if (method, endpoint) == ("GET", "order"):
            return order_json(engine.get(params.get("symbol", ""), params.get("orderId"), params.get("origClientOrderId")))
        if (method, endpoint) == ("GET", "openOrders"):
            return [order_json(order) for order in engine.open_orders(params.get("symbol"))]
        if (method, endpoint) == ("GET", "allOrders"):
            symbol = params.get("symbol", "")
            engine.open_orders(symbol)  # checks the symbol
            with engine.lock:
                return [order_json(o) for o in engine.orders.values() if o["symbol"] == symbol]
        if (method, endpoint) == ("GET", "myTrades"):
            return [trade_json(trade) for trade in engine.my_trades(params)]
        if (method, endpoint) == ("GET", "account"):
            return {
                "makerCommission": int(engine.maker_fee * 10000), "takerCommission": int(engine.taker_fee * 10000),
                "buyerCommission": 0, "sellerCommission": 0, "canTrade": True, "canWithdraw": True,
                "canDeposit": True, "brokered": False, "requireSelfTradePrevention": False,
                "updateTime": engine.now_ms(), "accountType": "SPOT", "balances": engine.account_balances(),
                "permissions": ["SPOT"], "uid": 1,
            }
        raise BinanceError(404, -1000, f"the fake Binance has no {method} {endpoint}")


class ApiHandler(tornado.web.RequestHandler):
    def initialize(self, server: FakeBinanceServer) -> None:
        self.server = server

    async def get(self, api: str, version: str, endpoint: str) -> None:
        await self._handle(api, version, endpoint)

    async def post(self, api: str, version: str, endpoint: str) -> None:
        await self._handle(api, version, endpoint)

    async def delete(self, api: str, version: str, endpoint: str) -> None:
        await self._handle(api, version, endpoint)

    async def _handle(self, api: str, version: str, endpoint: str) -> None:
        server = self.server
        method = self.request.method or "GET"
        raw = self.request.query if method in ("GET", "DELETE") else self.request.body.decode()
        params = dict(parse_qsl(raw, keep_blank_values=True))
        path = f"/{api}/{version}/{endpoint}"
        fault = server.faults.draw(server.rng, path)
        server.requests.append(Recorded(method, path, params, fault))
        if fault is not None:
            server.faults.counts[fault] = server.faults.counts.get(fault, 0) + 1
        if fault in ("503", "outage"):
            self.set_status(503)
            self.write("Service Unavailable")  # a plain body: ccxt maps the status
            return
        if fault == "429":
            self.set_status(429)
            self.set_header("Retry-After", str(server.faults.retry_after_s))
            self._json({"code": -1003, "msg": "Too many requests; current limit of IP(127.0.0.1) request weight is 6000 per 1 MINUTE."})
            return
        try:
            if api == "sapi":
                raise BinanceError(404, -1000, f"the fake Binance serves no sapi endpoint ({endpoint})")
            if endpoint in SIGNED:
                server.check_signed(self.request.headers, raw, params)
            answer = server.route(method, endpoint, params)
            status = 200
        except BinanceError as error:
            answer, status = {"code": error.code, "msg": error.msg}, error.status
        if fault == "timeout":  # processed; the answer comes after the client gave up
            await asyncio.sleep(server.faults.slow_s)
        self.set_status(status)
        self._json(answer)

    def _json(self, value: Any) -> None:
        self.set_header("Content-Type", "application/json;charset=UTF-8")
        self.write(json.dumps(value))

    def on_connection_close(self) -> None:
        pass  # the client timed out: nothing to undo, the order stands


class ControlHandler(tornado.web.RequestHandler):
    """`/_fake/...` for a server in its own process: price, faults, state."""

    def initialize(self, server: FakeBinanceServer) -> None:
        self.server = server

    def get(self, what: str) -> None:
        if what == "state":
            self.set_header("Content-Type", "application/json")
            self.write(self.server.engine.to_json())
        else:
            self.send_error(404)

    def post(self, what: str) -> None:
        body = json.loads(self.request.body or b"{}", parse_float=Decimal)
        if what == "price":
            trades = self.server.set_price(body["symbol"], str(body["price"]))
            self.write({"trades": len(trades)})
        elif what == "faults":
            slow_s, retry_after_s = body.get("slow_s"), body.get("retry_after_s")  # JSON numbers came as Decimal
            self.server.fail(float(body.get("failure_rate", 0)), tuple(body.get("kinds", ("503", "429", "timeout"))),
                             slow_s=None if slow_s is None else float(slow_s),
                             retry_after_s=None if retry_after_s is None else int(retry_after_s))
            if "outage_s" in body:
                self.server.outage(float(body["outage_s"]))
            self.write({})
        else:
            self.send_error(404)


# -- wire formats ---------------------------------------------------------------------------------


def exchange_info(engine: Engine) -> dict[str, Any]:
    symbols = []
    for rules in engine.rules.values():
        symbols.append({
            "symbol": rules.symbol, "status": "TRADING", "baseAsset": rules.base, "baseAssetPrecision": 8,
            "quoteAsset": rules.quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
            "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
            "icebergAllowed": True, "ocoAllowed": True, "otoAllowed": True, "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": True, "cancelReplaceAllowed": True, "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": fmt(rules.tick), "maxPrice": "1000000.00000000", "tickSize": fmt(rules.tick)},
                {"filterType": "LOT_SIZE", "minQty": fmt(rules.min_qty), "maxQty": "9000000.00000000", "stepSize": fmt(rules.step)},
                {"filterType": "ICEBERG_PARTS", "limit": 10},
                {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000", "maxQty": "1000000.00000000", "stepSize": "0.00000000"},
                {"filterType": "TRAILING_DELTA", "minTrailingAboveDelta": 10, "maxTrailingAboveDelta": 2000,
                 "minTrailingBelowDelta": 10, "maxTrailingBelowDelta": 2000},
                {"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": "5", "bidMultiplierDown": "0.2",
                 "askMultiplierUp": "5", "askMultiplierDown": "0.2", "avgPriceMins": 5},
                {"filterType": "NOTIONAL", "minNotional": fmt(rules.min_notional), "applyMinToMarket": True,
                 "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
                {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
                {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
            ],
            "permissions": [], "permissionSets": [["SPOT"]], "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
        })
    return {"timezone": "UTC", "serverTime": engine.now_ms(), "rateLimits": [], "exchangeFilters": [], "symbols": symbols}


def tickers(engine: Engine, endpoint: str, params: dict[str, str]) -> Any:
    with engine.lock:
        wanted = [params["symbol"]] if "symbol" in params else list(engine.rules)
        answers = []
        for symbol in wanted:
            rules = engine._rules(symbol)
            last = engine.prices.get(symbol, Decimal(0))
            if endpoint == "ticker/price":
                answers.append({"symbol": symbol, "price": fmt(last)})
                continue
            bid, ask = max(last - rules.tick, Decimal(0)), last + rules.tick
            if endpoint == "ticker/bookTicker":
                answers.append({"symbol": symbol, "bidPrice": fmt(bid), "bidQty": "100.00000000",
                                "askPrice": fmt(ask), "askQty": "100.00000000"})
                continue
            seen = [p for _, s, p in engine.history if s == symbol] or [last]
            now = engine.now_ms()
            answers.append({
                "symbol": symbol, "priceChange": fmt(last - seen[0]), "priceChangePercent": "0.000",
                "weightedAvgPrice": fmt(last), "prevClosePrice": fmt(seen[0]), "lastPrice": fmt(last),
                "lastQty": "1.00000000", "bidPrice": fmt(bid), "bidQty": "100.00000000", "askPrice": fmt(ask),
                "askQty": "100.00000000", "openPrice": fmt(seen[0]), "highPrice": fmt(max(seen)),
                "lowPrice": fmt(min(seen)), "volume": "0.00000000", "quoteVolume": "0.00000000",
                "openTime": now - 86_400_000, "closeTime": now, "firstId": 0, "lastId": 0, "count": 0,
            })
    return answers[0] if "symbol" in params else answers


INTERVAL_MS = {"1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000, "1h": 3_600_000,
               "4h": 14_400_000, "1d": 86_400_000}


def klines(engine: Engine, params: dict[str, str]) -> list[list[Any]]:
    """Candles bucketed from the prices the test set, or the 1m candles it set."""
    symbol = params.get("symbol", "")
    width = INTERVAL_MS.get(params.get("interval", "1m"))
    if width is None:
        raise BinanceError(400, -1120, "Invalid interval.")
    with engine.lock:
        engine._rules(symbol)
        if symbol in engine.candles and width == 60_000:
            since, until = int(params.get("startTime", 0)), int(params.get("endTime", 2**62))
            rows = [[start, *(fmt(v) for v in values), start + width - 1, "0.00000000", 1, "0.00000000",
                     "0.00000000", "0"]
                    for start, values in sorted(engine.candles[symbol].items()) if since <= start <= until]
            limit = int(params.get("limit", 500))
            return rows[:limit] if "startTime" in params else rows[-limit:]  # Binance's order
        buckets: dict[int, list[Decimal]] = {}
        for ms, s, price in engine.history:
            if s == symbol and ms >= int(params.get("startTime", 0)):
                buckets.setdefault(ms - ms % width, []).append(price)
    rows = [[start, fmt(p[0]), fmt(max(p)), fmt(min(p)), fmt(p[-1]), "0.00000000", start + width - 1,
             "0.00000000", len(p), "0.00000000", "0.00000000", "0"] for start, p in sorted(buckets.items())]
    return rows[-int(params.get("limit", 500)):]


MAX_DEPTH = 5000


def depth(engine: Engine, params: dict[str, str]) -> dict[str, Any]:
    """A book around the last price, one tick a level: `depth_level` gives each one's
    price and amount. Binance's default of 100 levels a side, and its cap of 5000."""
    symbol = params.get("symbol", "")
    with engine.lock:
        rules = engine._rules(symbol)
        last = engine.prices.get(symbol, Decimal(0))
    try:
        limit = int(params.get("limit", 100))
    except ValueError:
        raise BinanceError(400, -1100, "Illegal characters found in parameter 'limit'.") from None
    levels = range(1, min(max(limit, 1), MAX_DEPTH) + 1)
    bids = [depth_level(last, rules.tick, "bid", i) for i in levels]
    return {
        "lastUpdateId": engine.next_trade_id,
        "bids": [[fmt(price), fmt(amount)] for price, amount in bids if price > 0],
        "asks": [[fmt(price), fmt(amount)] for price, amount in (depth_level(last, rules.tick, "ask", i) for i in levels)],
    }


def depth_level(last: Decimal, tick: Decimal, side: str, level: int) -> tuple[Decimal, Decimal]:
    """Level `level` (1 is the best) of one side of the fake's book: `level` ticks from the
    last price, its amount growing with the distance so every level differs."""
    price = last - level * tick if side == "bid" else last + level * tick
    return price, Decimal("1.25") * level + (Decimal("0.5") if side == "ask" else Decimal(0))


def order_json(order: dict[str, Any]) -> dict[str, Any]:
    return {
        "symbol": order["symbol"], "orderId": order["orderId"], "orderListId": -1,
        "clientOrderId": order["clientOrderId"], "price": fmt(order["price"]), "origQty": fmt(order["origQty"]),
        "executedQty": fmt(order["executedQty"]), "cummulativeQuoteQty": fmt(order["cummulativeQuoteQty"]),
        "status": order["status"], "timeInForce": order["timeInForce"], "type": order["type"], "side": order["side"],
        "stopPrice": "0.00000000", "icebergQty": "0.00000000", "time": order["time"], "updateTime": order["updateTime"],
        "isWorking": True, "workingTime": order["time"], "origQuoteOrderQty": "0.00000000",
        "selfTradePreventionMode": "NONE",
    }


def order_answer(order: dict[str, Any], trades: list[dict[str, Any]], response_type: str) -> dict[str, Any]:
    """The answer to POST /api/v3/order in the asked `newOrderRespType` (ACK, RESULT, FULL)."""
    ack = {"symbol": order["symbol"], "orderId": order["orderId"], "orderListId": -1,
           "clientOrderId": order["clientOrderId"], "transactTime": order["time"]}
    if response_type == "ACK":
        return ack
    full = {**order_json(order), **ack}
    for key in ("stopPrice", "icebergQty", "time", "updateTime", "isWorking"):
        full.pop(key)
    if response_type == "FULL":
        full["fills"] = [{"price": fmt(t["price"]), "qty": fmt(t["qty"]), "commission": fmt(t["commission"]),
                          "commissionAsset": t["commissionAsset"], "tradeId": t["id"]} for t in trades]
    return full


def trade_json(trade: dict[str, Any]) -> dict[str, Any]:
    return {
        "symbol": trade["symbol"], "id": trade["id"], "orderId": trade["orderId"], "orderListId": -1,
        "price": fmt(trade["price"]), "qty": fmt(trade["qty"]), "quoteQty": fmt(trade["quoteQty"]),
        "commission": fmt(trade["commission"]), "commissionAsset": trade["commissionAsset"], "time": trade["time"],
        "isBuyer": trade["isBuyer"], "isMaker": trade["isMaker"], "isBestMatch": True,
    }


# -- its own process -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state", type=Path, required=True, help="JSON state, loaded at start and saved on change")
    parser.add_argument("--balances", default="{}", help='initial balances when FILE is new, e.g. {"USDT": "1000"}')
    parser.add_argument("--api-key", default=API_KEY)
    parser.add_argument("--api-secret", default=API_SECRET)
    args = parser.parse_args(argv)
    if args.state.exists():
        engine = Engine.from_json(args.state.read_text())
    else:
        engine = Engine(balances=json.loads(args.balances))

    def save() -> None:
        temporary = args.state.with_suffix(".tmp")
        temporary.write_text(engine.to_json())
        os.replace(temporary, args.state)

    save()
    server = FakeBinanceServer(engine, api_key=args.api_key, api_secret=args.api_secret, port=args.port, on_change=save)

    async def serve() -> None:
        sockets = tornado.netutil.bind_sockets(server.port, "127.0.0.1")
        server.port = sockets[0].getsockname()[1]
        tornado.httpserver.HTTPServer(server.app()).add_sockets(sockets)
        print(f"listening on {server.port}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
