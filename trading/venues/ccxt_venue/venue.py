"""`CcxtVenue`: a real exchange account through sync ccxt (the only module that imports it).

One instance per account, driven by one `ExchangeActor` thread: ccxt clients and their rate
limiter are not thread-safe. The actor journals `OrderSubmitted` before `submit` is called;
the order goes out with our client id in the exchange's own parameter, so it can always be
found again. Nothing here resends an order whose fate is unknown: a timeout, a 5xx or a
"duplicate" answer puts it in UNKNOWN, and `poll` looks it up by client id until it shows
up or the grace window passes (then it is LOST, which a late fill can still reach). Orders
the exchange refused before processing (429/418) and orders held while the breaker is
open or a Retry-After runs wait in the outbox and go out later, under the same client id.

`poll` (the actor's Tick) sends the outbox, resolves unknown orders, retries cancels,
books new trades from `fetch_my_trades` (each trade id once; Upbit, which lacks it, from
each order: `order_fills`) and, every few minutes,
reconciles open orders with the exchange's. Every number from ccxt becomes a `Decimal`
through its string form (CCXT.md "Markets, precision, limits").
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import ccxt

from trading.clock import SYSTEM_CLOCK, Clock
from trading.events import (
    LIMIT,
    CancelOrder,
    ForeignOrderFound,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
)
from trading.market_data import TickerUpdated
from trading.markets import Market, OrderRuleViolation
from trading.money import is_multiple
from trading.messages import Event
from trading.venues.base import Balance
from trading.venues.breaker import CircuitBreaker
from trading.venues.request_budget import RequestBudget
from trading.venues.ccxt_venue import order_fills
from trading.venues.ccxt_venue.settings import CcxtSettings
from trading.venues.ccxt_venue.urls import overridden_urls

logger = logging.getLogger(__name__)

ZERO = Decimal(0)
CLIENT_ID_PREFIX = "td-"

# Order states (ours, not the exchange's).
OUTBOX = "outbox"  # not sent yet (held by a back-off or the breaker), or refused unprocessed (429)
UNKNOWN = "unknown"  # sent; whether the exchange took it is being looked up by client id
OPEN = "open"  # the exchange holds it
LOST = "lost"  # not found within the grace window: rejected as LOST, may still take a late fill
CLOSED = "closed"  # filled, canceled or refused


class Unavailable(Exception):
    """The call was not made: the breaker is open or a back-off runs."""


@dataclass
class _Order:
    submitted: OrderSubmitted
    state: str
    exchange_id: str | None = None
    accepted: bool = False
    filled: Decimal = ZERO
    unknown_since: float | None = None
    throttled: bool = False  # refused before processing (429/418): safe to send again
    cancel_wanted: bool = False
    lost: bool = False  # the bot was told LOST: fills still count, nothing else is reported
    fee_booked: Decimal = ZERO  # fees booked so far (fills read from the order: `order_fills`)

    @property
    def client_order_id(self) -> str:
        return self.submitted.client_order_id

    @property
    def symbol(self) -> str:
        return self.submitted.symbol


NEEDED = ("createOrder", "cancelOrder", "fetchOrder", "fetchOpenOrders", "fetchMyTrades", "fetchBalance")
"""What an exchange must have in ccxt for traderd to trade on it."""


def unsupported_reason(exchange_id: str) -> str | None:
    """Why traderd cannot trade on `exchange_id` through ccxt, or None when it can."""
    klass = getattr(ccxt, exchange_id, None) if exchange_id in ccxt.exchanges else None
    if klass is None:
        return f"ccxt has no exchange {exchange_id!r}"
    missing = [name for name in NEEDED if not klass().has.get(name)
               and not (name == "fetchMyTrades" and order_fills.fills_from_orders(exchange_id))]
    return f"exchange {exchange_id!r} lacks {', '.join(missing)} in ccxt" if missing else None


def make_exchange(settings: CcxtSettings) -> Any:
    """A sync ccxt client for `settings`: rate-limited, never retrying by itself, spot only."""
    klass = getattr(ccxt, settings.exchange, None)
    if klass is None:
        raise ValueError(f"ccxt has no exchange {settings.exchange!r}")
    options: dict[str, Any] = {"maxRetriesOnFailure": 0, "defaultType": "spot"}
    if settings.exchange.startswith("binance"):
        options.update({
            "fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False,
            "fetchOpenOrders": {"warnWithoutSymbol": False}, "newOrderRespType": {"market": "FULL", "limit": "FULL"},
        })
    config: dict[str, Any] = {
        "apiKey": settings.api_key, "secret": settings.secret, "enableRateLimit": True,
        "timeout": settings.timeout_ms, "options": options, "enableLastResponseHeaders": True,
    }
    if settings.password:
        config["password"] = settings.password
    exchange = klass(config)
    exchange.session.trust_env = False  # a proxy variable must never capture our requests
    if settings.rate_limit_ms is not None:
        exchange.rateLimit = settings.rate_limit_ms
    if settings.sandbox:
        if not exchange.has.get("sandbox"):
            raise ValueError(f"{settings.exchange} has no sandbox")
        exchange.set_sandbox_mode(True)
    if settings.urls:
        _override_urls(exchange, settings.urls)
    return exchange


def _override_urls(exchange: Any, urls: Mapping[str, str]) -> None:
    """Point the API URLs elsewhere (`ccxt_urls`: every one, so none still reaches the real
    exchange), and merge the exchange's spot error table in: Binance picks it by URL and
    would not recognise a local one (CCXT.md)."""
    exchange.urls = overridden_urls(exchange.urls, urls)
    spot = exchange.describe().get("exceptions", {}).get("spot")
    if isinstance(spot, dict):
        for kind in ("exact", "broad"):
            exchange.exceptions.setdefault(kind, {}).update(spot.get(kind, {}))


class CcxtVenue:
    """A live spot account (the `Venue` protocol); see the module docstring."""

    is_external = True

    def __init__(
        self,
        account_id: str,
        settings: CcxtSettings,
        *,
        clock: Clock = SYSTEM_CLOCK,
        monotonic: Callable[[], float] = time.monotonic,
        exchange: Any = None,
        rng: random.Random | None = None,
    ) -> None:
        self.account_id = account_id
        self.settings = settings
        self.poll_interval_s = settings.poll_interval_s
        self._clock = clock
        self._monotonic = monotonic
        self._rng = rng or random.Random()
        self.exchange = exchange if exchange is not None else make_exchange(settings)
        self.breaker = CircuitBreaker(settings.breaker_failures, settings.breaker_cooldown_s, monotonic)
        self._budget = (
            RequestBudget(settings.requests_per_minute, monotonic())
            if settings.requests_per_minute is not None else None
        )
        self.auth_error: str | None = None
        self._markets: dict[str, Market] = {}
        self._markets_at: float | None = None
        self._orders: dict[str, _Order] = {}
        self._by_exchange_id: dict[tuple[str, str], str] = {}
        self._trade_ids: set[str] = set()
        self._trade_cursor: dict[str, int] = {}  # symbol -> last trade id seen (Binance fromId)
        self._trade_since: dict[str, int] = {}  # symbol -> ms to fetch trades from, before a cursor
        self._balances: dict[str, Balance] = {}
        self._balances_at: float | None = None
        self._balances_dirty = True
        self._retry_at = 0.0
        self._failures = 0
        self._reconciled_at = monotonic()
        self._foreign_seen: set[str] = set()

    # -- the Venue protocol ------------------------------------------------------------------

    def market(self, symbol: str) -> Market:
        return self._markets[symbol]

    def markets(self) -> dict[str, Market]:
        return dict(self._markets)

    def restore(self, events: Iterable[Event]) -> None:
        """Load the markets and balances; rebuild which orders are open, their fills and the
        trade ids booked from the journal (the exchange keeps the rest)."""
        self.load_markets()
        now_ms = self._clock.now_ns() // 1_000_000
        for event in events:
            if getattr(event, "account_id", None) != self.account_id:
                continue
            if isinstance(event, OrderSubmitted):
                self._orders[event.client_order_id] = _Order(event, UNKNOWN)
                since = event.ts_event // 1_000_000 - 60_000
                self._trade_since[event.symbol] = min(self._trade_since.get(event.symbol, since), since)
                continue
            order = self._orders.get(getattr(event, "client_order_id", ""))
            if order is None:
                continue
            if isinstance(event, OrderAccepted):
                order.accepted = True
                self._remember_exchange_id(order, event.exchange_order_id)
            elif isinstance(event, OrderFilled):
                order.filled += event.quantity
                order.fee_booked += event.fee
                self._trade_ids.add(event.trade_id)
                self._advance_cursor(event.symbol, event.trade_id)
                if event.order_completed:
                    order.state = CLOSED
            elif isinstance(event, OrderRejected):
                order.lost = event.code == "LOST"
                order.state = LOST if order.lost else CLOSED
            elif isinstance(event, (OrderCanceled, OrderDenied)):
                order.state = CLOSED
        for symbol in list(self._trade_since):
            if symbol in self._trade_cursor:
                del self._trade_since[symbol]
            else:  # never older than a day: an old account's whole history is not ours to read
                self._trade_since[symbol] = max(self._trade_since[symbol], now_ms - 86_400_000)
        try:
            self._refresh_balances()
        except ccxt.AuthenticationError:
            pass  # in auth_error: the actor pauses the bots; failing here would only loop restarts

    def reconcile(self, open_client_order_ids: Iterable[str]) -> list[Event]:
        """Match the orders the journal holds open with the exchange by client id. One it
        cannot find yet is looked up again by `poll` within the grace window (the crash
        may have come just after sending it); then trades the daemon missed are booked and
        orders with our prefix that the journal lacks are reported."""
        events: list[Event] = []
        now = self._monotonic()
        for client_order_id in open_client_order_ids:
            order = self._orders.get(client_order_id)
            if order is None:
                continue
            order.state, order.unknown_since = UNKNOWN, now
        try:
            events += self._resolve_unknown()
            events += self._poll_trades()
            events += self._check_open_orders()
        except (Unavailable, ccxt.OperationFailed, ccxt.AuthenticationError) as error:
            logger.warning("%s: reconciliation unfinished, the next polls go on: %s", self.account_id, error)
        return events

    def submit(self, order: OrderSubmitted) -> list[Event]:
        """OrderAccepted (+ fills) or OrderRejected at once; nothing yet when the outcome is
        unknown or the order waits in the outbox (`poll` settles it)."""
        if order.account_id != self.account_id:
            raise ValueError(f"venue of {self.account_id} got an order of {order.account_id}")
        tracked = _Order(order, OUTBOX)
        self._orders[order.client_order_id] = tracked
        self._trade_since.setdefault(order.symbol, order.ts_event // 1_000_000 - 60_000)
        market = self._markets.get(order.symbol)
        if market is None:
            return [self._reject(tracked, "UNKNOWN_SYMBOL", f"{order.symbol} is not listed on {self.settings.exchange}")]
        market = self._rules_for(market, order)
        try:  # ccxt would round an off-tick price silently: what leaves must be exact already
            if order.order_type == LIMIT and order.price is not None:
                market.check_order(order.side, order_fills.limit_price(self.settings.exchange, market, order), order.quantity)
            elif not is_multiple(order.quantity, market.step_size):
                raise OrderRuleViolation("AMOUNT_NOT_ON_STEP", f"{order.quantity} is not a multiple of {market.step_size}")
        except OrderRuleViolation as violation:
            return [self._reject(tracked, violation.code, violation.message)]
        if self.auth_error is not None:
            return [self._reject(tracked, "AUTHENTICATION_FAILED", self.auth_error)]
        try:
            return self._send(tracked)
        except Unavailable:
            return []

    def cancel(self, command: CancelOrder) -> list[Event]:
        order = self._orders.get(command.client_order_id)
        if order is None or order.state == CLOSED:
            return [self._event(OrderRejected, command.bot_id, command.client_order_id,
                                code="NOT_FOUND", reason="no such open order on this account")]
        if order.state == OUTBOX:  # never left: nothing to ask the exchange
            order.state = CLOSED
            return [self._event(OrderCanceled, order.submitted.bot_id, order.client_order_id)]
        order.cancel_wanted = True
        if order.state != OPEN:
            return []  # settled by `poll` once the order is found (or lost)
        try:
            return self._send_cancel(order)
        except (Unavailable, ccxt.OperationFailed):
            return []  # `poll` tries again

    def on_ticker(self, ticker: TickerUpdated) -> list[Event]:
        return []  # the exchange matches; prices come from feeds to the bots

    def balance(self, asset: str) -> Balance:
        return self._balances.get(asset, Balance(ZERO, ZERO))

    def balances(self) -> dict[str, Balance]:
        return dict(self._balances)

    # -- polling (the exchange actor's Tick) ------------------------------------------------------

    def poll(self) -> list[Event]:
        """One round: markets (daily), outbox, unknown orders, cancels, trades, reconciliation
        (every few minutes), balances. A failure ends the round; the next one goes on."""
        events: list[Event] = []
        if self.auth_error is not None:
            return events
        try:
            if self._markets_at is None or self._monotonic() - self._markets_at >= self.settings.markets_refresh_s:
                self.load_markets()
            for order in [o for o in self._orders.values() if o.state == OUTBOX]:
                events += self._send(order)
            events += self._resolve_unknown()
            for order in [o for o in self._orders.values() if o.cancel_wanted and o.state == OPEN]:
                events += self._send_cancel(order)
            events += self._poll_trades()
            if self._monotonic() - self._reconciled_at >= self.settings.reconcile_interval_s:
                events += self._check_open_orders()
            due = self._balances_at is None or self._monotonic() - self._balances_at >= self.settings.balance_interval_s
            if events or self._balances_dirty or due:
                self._refresh_balances()
        except (Unavailable, ccxt.OperationFailed) as error:
            logger.debug("%s: poll stopped: %s", self.account_id, error)
        except ccxt.AuthenticationError:
            pass  # recorded in auth_error by _call
        return events

    def status(self) -> dict[str, Any]:
        """The breaker and what waits, for `GetExchangeStatus`."""
        return {
            "breaker": self.breaker.state,
            "consecutive_failures": self.breaker.consecutive_failures,
            "times_opened": self.breaker.times_opened,
            "last_error": self.auth_error or self.breaker.last_error,
            "auth_error": self.auth_error,
            "retry_in_s": max(0.0, self._retry_at - self._monotonic(), self.breaker.seconds_until_probe()),
            "unresolved_orders": sum(o.state in (OUTBOX, UNKNOWN) for o in self._orders.values()),
        }

    def is_transient(self, error: BaseException) -> bool:
        """Whether `error` from a call (say `restore` at boot) is worth trying again later:
        the exchange was unreachable, slow or busy, not wrong about what was asked."""
        return isinstance(error, (Unavailable, ccxt.OperationFailed, ccxt.InvalidNonce))

    # -- markets and balances -------------------------------------------------------------------

    def load_markets(self) -> None:
        raw = self._call(self.exchange.load_markets, True)
        fees_in_received = self.settings.exchange.startswith("binance")
        markets = {}
        for symbol, market in raw.items():
            if not market.get("spot") or market.get("active") is False:
                continue
            try:
                markets[symbol] = self._to_market(symbol, market, fees_in_received)
            except (ValueError, ArithmeticError, TypeError) as error:
                logger.debug("%s: market %s skipped: %s", self.account_id, symbol, error)
        if self.settings.exchange == "upbit":  # ccxt gives no tick and no minimum there (CCXT.md)
            try:
                markets.update(self._call(order_fills.upbit_markets, self.exchange, raw, markets))
            except ccxt.ExchangeError as error:
                logger.warning("%s: no tick sizes from Upbit, orders take the band table: %s", self.account_id, error)
        self._markets = markets
        self._markets_at = self._monotonic()

    def _to_market(self, symbol: str, market: Mapping[str, Any], fees_in_received: bool) -> Market:
        """Our `Market` from a ccxt market. Binance's filters are read from the raw exchange
        info (exact strings); elsewhere from ccxt's precision in TICK_SIZE mode."""
        filters = {f.get("filterType"): f for f in (market.get("info") or {}).get("filters", []) or []}
        precision, limits = market.get("precision") or {}, market.get("limits") or {}
        tick = _positive(filters.get("PRICE_FILTER", {}).get("tickSize")) or self._step(precision.get("price"))
        step = _positive(filters.get("LOT_SIZE", {}).get("stepSize")) or self._step(precision.get("amount"))
        notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {}
        min_notional = notional.get("minNotional")
        return Market(
            symbol=symbol, base=market["base"], quote=market["quote"], tick_size=tick, step_size=step,
            min_amount=self._dec(filters.get("LOT_SIZE", {}).get("minQty") or (limits.get("amount") or {}).get("min")),
            min_notional=self._dec(min_notional if min_notional is not None else (limits.get("cost") or {}).get("min")),
            maker_fee=self._dec(market.get("maker")), taker_fee=self._dec(market.get("taker")),
            fee_in_received_asset=fees_in_received,
        )

    def _step(self, precision: Any) -> Decimal:
        """A tick or step from ccxt's precision: a size in TICK_SIZE mode, else decimals."""
        if precision is None:
            raise ValueError("no precision")
        if self.exchange.precisionMode == ccxt.TICK_SIZE:
            return self._dec(precision)
        return Decimal(1).scaleb(-int(precision))

    def _refresh_balances(self) -> None:
        raw = self._call(self.exchange.fetch_balance)
        balances = {}
        for asset, entry in raw.items():
            if not isinstance(entry, dict) or asset in ("info", "free", "used", "total", "timestamp", "datetime"):
                continue
            free, used = self._dec(entry.get("free")), self._dec(entry.get("used"))
            if free or used:
                balances[asset] = Balance(free, used)
        self._balances = balances
        self._balances_at = self._monotonic()
        self._balances_dirty = False

    # -- orders ------------------------------------------------------------------------------------

    def _send(self, order: _Order) -> list[Event]:
        submitted = order.submitted
        try:
            amount, price, params = order_fills.create_args(
                self.settings.exchange, self._rules_for(self._markets[submitted.symbol], submitted), submitted)
        except OrderRuleViolation as violation:
            return [self._reject(order, violation.code, violation.message)]
        try:
            remote = self._call(
                self.exchange.create_order, submitted.symbol, submitted.order_type, submitted.side.value,
                amount, price, params,
            )
        except Unavailable:
            return []
        except ccxt.OperationFailed as error:
            # Sent, or maybe not: only a lookup by client id may tell (never a blind resend).
            self._balances_dirty = True
            order.state, order.unknown_since = UNKNOWN, self._monotonic()
            order.throttled = isinstance(error, (ccxt.DDoSProtection, ccxt.RateLimitExceeded))
            logger.warning("%s: %s sent with unknown outcome (%s); looking it up", self.account_id,
                           submitted.client_order_id, type(error).__name__)
            return []
        except ccxt.InsufficientFunds as error:
            return [self._reject(order, "INSUFFICIENT_BALANCE", _message(error))]
        except ccxt.AuthenticationError as error:
            return [self._reject(order, "AUTHENTICATION_FAILED", _message(error))]
        except ccxt.BadSymbol as error:
            return [self._reject(order, "UNKNOWN_SYMBOL", _message(error))]
        except ccxt.InvalidOrder as error:
            if "Duplicate order" in str(error):  # the first send arrived: find it
                order.state, order.unknown_since, order.throttled = UNKNOWN, self._monotonic(), False
                return []
            return [self._reject(order, "MARKET_RULES", _message(error))]
        except ccxt.BadRequest as error:  # Binance's NOTIONAL and MAX_NUM_ORDERS filters
            return [self._reject(order, "MARKET_RULES", _message(error))]
        except ccxt.ExchangeError as error:  # an answer we cannot read: the order may stand
            order.state, order.unknown_since, order.throttled = UNKNOWN, self._monotonic(), False
            logger.warning("%s: %s got %s; looking it up", self.account_id, submitted.client_order_id, error)
            return []
        self._balances_dirty = True
        return self._apply_remote(order, remote)

    def _apply_remote(self, order: _Order, remote: Mapping[str, Any]) -> list[Event]:
        """Events that bring our view of `order` up to the exchange's `remote` order."""
        events: list[Event] = []
        status = remote.get("status")
        if remote.get("id") is not None:
            self._remember_exchange_id(order, str(remote["id"]))
        if order.state in (OUTBOX, UNKNOWN, LOST):
            order.state = OPEN
            if order.lost and status == "open":  # its bot has given it up: take it off the book
                order.cancel_wanted = True
        if not order.accepted and not order.lost and order.exchange_id is not None:
            order.accepted = True
            events.append(self._event(OrderAccepted, order.submitted.bot_id, order.client_order_id,
                                      exchange_order_id=order.exchange_id))
        events += self._remote_fills(order, remote)
        if self._dec(remote.get("filled")) > order.filled and order.state != CLOSED:
            events += self._order_trades(order)
        if status in ("canceled", "expired", "rejected") and order.state != CLOSED:
            events += self._closed(order)
        return events

    def _closed(self, order: _Order) -> list[Event]:
        """The exchange holds `order` no longer (canceled, expired): OrderCanceled, unless
        its bot had been told it was lost."""
        order.state, order.cancel_wanted = CLOSED, False
        if order.lost:
            return []
        return [self._event(OrderCanceled, order.submitted.bot_id, order.client_order_id)]

    def _resolve_unknown(self) -> list[Event]:
        events: list[Event] = []
        for order in [o for o in self._orders.values() if o.state == UNKNOWN]:
            try:
                remote = self._call(order_fills.fetch_by_client_id, self.exchange, order.symbol, order.client_order_id)
            except ccxt.OrderNotFound:
                if order.throttled:  # refused unprocessed, and surely not there: send it again
                    order.state, order.throttled = OUTBOX, False
                elif self._monotonic() - (order.unknown_since or 0) >= self.settings.not_found_grace_s:
                    order.state, order.lost = LOST, True
                    events.append(self._event(
                        OrderRejected, order.submitted.bot_id, order.client_order_id, code="LOST",
                        reason=f"not found on {self.settings.exchange} within {self.settings.not_found_grace_s:g} s",
                    ))
                continue
            events += self._apply_remote(order, remote)
            if order.cancel_wanted and order.state == OPEN:
                events += self._send_cancel(order)
        return events

    def _send_cancel(self, order: _Order) -> list[Event]:
        try:
            remote = self._call(order_fills.cancel_by_client_id, self.exchange, order.symbol, order.client_order_id)
        except ccxt.OrderNotFound:
            # Filled (or canceled) before the cancel arrived: fetch it and book what it did.
            order.cancel_wanted = False
            try:
                remote = self._call(order_fills.fetch_by_client_id, self.exchange, order.symbol, order.client_order_id)
            except ccxt.OrderNotFound:
                order.state = CLOSED
                return [self._event(OrderRejected, order.submitted.bot_id, order.client_order_id,
                                    code="NOT_FOUND", reason="the exchange does not know this order")]
            return self._apply_remote(order, remote)
        except (ccxt.InvalidOrder, ccxt.BadRequest) as error:
            order.cancel_wanted = False
            logger.warning("%s: cancel of %s refused: %s", self.account_id, order.client_order_id, error)
            return []
        self._balances_dirty = True
        events: list[Event] = []
        if self._dec(remote.get("filled")) > order.filled:
            events += self._order_trades(order)
        if order.state != CLOSED:
            events += self._closed(order)
        return events

    # -- trades --------------------------------------------------------------------------------

    def _order_trades(self, order: _Order) -> list[Event]:
        if order.exchange_id is None:
            return []
        if self._fills_per_order:
            remote = self._call(self.exchange.fetch_order, order.exchange_id, order.symbol)
            return self._remote_fills(order, remote, complete=True)
        trades = self._call(self.exchange.fetch_my_trades, order.symbol, None, None, {"orderId": order.exchange_id})
        events: list[Event] = []
        for trade in trades:
            events += self._book_trade(order, trade)
        return events

    def _poll_trades(self) -> list[Event]:
        """New trades of every symbol we have orders on, oldest first; each booked once."""
        if self._fills_per_order:
            return self._poll_order_fills()
        events: list[Event] = []
        symbols = sorted({o.symbol for o in self._orders.values() if o.state != CLOSED or o.cancel_wanted}
                         | set(self._trade_cursor) | set(self._trade_since))
        for symbol in symbols:
            if symbol not in self._markets:
                continue
            cursor = self._trade_cursor.get(symbol)
            if cursor is not None:
                trades = self._call(self.exchange.fetch_my_trades, symbol, None, 1000, {"fromId": cursor + 1})
            else:
                since = self._trade_since.get(symbol, self._clock.now_ns() // 1_000_000 - 60_000)
                trades = self._call(self.exchange.fetch_my_trades, symbol, since, 1000)
            for trade in sorted(trades, key=lambda t: _int_or_zero(t.get("id"))):
                order = self._order_of(symbol, trade)
                if order is not None:
                    events += self._book_trade(order, trade)
                self._advance_cursor(symbol, self._trade_id(symbol, trade))
        return events

    @property
    def _fills_per_order(self) -> bool:
        """No `fetchMyTrades` (Upbit): fills are read from each order (`order_fills`)."""
        return not self.exchange.has.get("fetchMyTrades")

    def _rules_for(self, market: Market, order: OrderSubmitted) -> Market:
        ccxt_market = (self.exchange.markets or {}).get(order.symbol) or {}
        return order_fills.rules_for(self.settings.exchange, ccxt_market, market, order.price) if ccxt_market else market

    def _remote_fills(self, order: _Order, remote: Mapping[str, Any], *, complete: bool = False) -> list[Event]:
        """Book the fills `remote` shows: its `trades` (on a fetchMyTrades exchange), or
        what `order_fills.new_fills` finds new in it. `complete`: `remote` is the order's
        full record (fetched by id), not a create, cancel or list answer."""
        if not self._fills_per_order:
            return [e for trade in remote.get("trades") or [] for e in self._book_trade(order, trade)]
        events: list[Event] = []
        for trade in order_fills.new_fills(
            remote, is_booked=lambda t: self._trade_id(order.symbol, t) in self._trade_ids,
            filled_before=order.filled, fee_before=order.fee_booked, quote=self._markets[order.symbol].quote,
            dec=self._dec, derive=complete,
        ):
            booked = self._book_trade(order, trade)
            order.fee_booked += sum((e.fee for e in booked), ZERO)
            events += booked
        return events

    def _poll_order_fills(self) -> list[Event]:
        """Fills on an exchange that only tells them per order: each symbol's open orders in
        one request; an order of ours that left the list or filled more is fetched by id.
        Lost orders are looked up by client id when reconciliation is due."""
        events: list[Event] = []
        reconcile_due = self._monotonic() - self._reconciled_at >= self.settings.reconcile_interval_s
        for order in [o for o in self._orders.values() if o.state == LOST and reconcile_due]:
            try:
                remote = self._call(order_fills.fetch_by_client_id, self.exchange, order.symbol, order.client_order_id)
            except ccxt.OrderNotFound:
                continue
            events += self._apply_remote(order, remote)
        watched = [o for o in self._orders.values() if o.state == OPEN and o.exchange_id is not None]
        for symbol in sorted({o.symbol for o in watched} & set(self._markets)):
            listed = {str(r.get("id")): r for r in self._call(self.exchange.fetch_open_orders, symbol)}
            for order in [o for o in watched if o.symbol == symbol]:
                seen = listed.get(order.exchange_id or "")
                if seen is not None and self._dec(seen.get("filled")) <= order.filled:
                    continue  # resting, nothing new
                remote = self._call(self.exchange.fetch_order, order.exchange_id, symbol)
                events += self._apply_remote(order, remote)
        return events

    def _order_of(self, symbol: str, trade: Mapping[str, Any]) -> _Order | None:
        """Our order behind `trade`: by exchange id, else (an order whose acceptance we never
        saw: lost, or sent before a crash) by fetching it for its client id."""
        exchange_id = trade.get("order")
        if exchange_id is None:
            return None
        client_order_id = self._by_exchange_id.get((symbol, str(exchange_id)))
        if client_order_id is None:
            remote = self._call(self.exchange.fetch_order, str(exchange_id), symbol)
            client_order_id = remote.get("clientOrderId")
            order = self._orders.get(client_order_id or "")
            if order is None:
                return None  # not ours (another program on the account)
            self._remember_exchange_id(order, str(exchange_id))
            return order
        return self._orders.get(client_order_id)

    def _book_trade(self, order: _Order, trade: Mapping[str, Any]) -> list[Event]:
        trade_id = self._trade_id(order.symbol, trade)
        if trade_id in self._trade_ids:
            return []
        self._trade_ids.add(trade_id)
        self._balances_dirty = True
        market = self._markets[order.symbol]
        quantity, price = self._dec(trade.get("amount")), self._dec(trade.get("price"))
        fee = trade.get("fee") or {}
        order.filled += quantity
        completed = order.filled >= order.submitted.quantity
        if completed:
            order.state, order.cancel_wanted = CLOSED, False
        timestamp = trade.get("timestamp")
        stamps = {} if timestamp is None else {"ts_event": int(timestamp) * 1_000_000}
        return [OrderFilled(
            account_id=self.account_id, bot_id=order.submitted.bot_id, client_order_id=order.client_order_id,
            trade_id=trade_id, symbol=order.symbol, side=order.submitted.side, price=price, quantity=quantity,
            fee=self._dec(fee.get("cost")), fee_currency=fee.get("currency") or market.quote,
            is_maker=trade.get("takerOrMaker") == "maker", order_completed=completed,
            correlation_id=order.submitted.correlation_id, **stamps,
        )]

    def _trade_id(self, symbol: str, trade: Mapping[str, Any]) -> str:
        """Unique per account: exchanges number trades per symbol."""
        market_id = self.exchange.markets[symbol]["id"] if self.exchange.markets and symbol in self.exchange.markets else symbol
        return f"{market_id}-{trade.get('id')}"

    def _advance_cursor(self, symbol: str, trade_id: str) -> None:
        number = trade_id.rpartition("-")[2]
        if number.isdigit():
            self._trade_cursor[symbol] = max(self._trade_cursor.get(symbol, 0), int(number))
            self._trade_since.pop(symbol, None)

    # -- reconciliation ---------------------------------------------------------------------------

    def _check_open_orders(self) -> list[Event]:
        """Orders we hold open that the exchange no longer lists are fetched and settled;
        orders with our prefix that we never placed are reported once, never adopted."""
        events: list[Event] = []
        symbols = sorted({o.symbol for o in self._orders.values()} & set(self._markets))
        for symbol in symbols:
            listed = self._call(self.exchange.fetch_open_orders, symbol)
            listed_ids = set()
            for remote in listed:
                client_order_id = remote.get("clientOrderId") or ""
                listed_ids.add(client_order_id)
                ours = self._orders.get(client_order_id)
                if ours is not None and ours.state == LOST:  # it arrived after all: take it off
                    events += self._apply_remote(ours, remote)
                if client_order_id.startswith(CLIENT_ID_PREFIX) and client_order_id not in self._orders \
                        and client_order_id not in self._foreign_seen:
                    self._foreign_seen.add(client_order_id)
                    logger.warning("%s: %s on %s is not in the journal; reported, not adopted",
                                   self.account_id, client_order_id, symbol)
                    events.append(ForeignOrderFound(
                        account_id=self.account_id, bot_id=None, client_order_id=client_order_id, symbol=symbol,
                        exchange_order_id=str(remote.get("id")),
                    ))
            for order in [o for o in self._orders.values() if o.symbol == symbol and o.state == OPEN]:
                if order.client_order_id not in listed_ids:
                    remote = self._call(order_fills.fetch_by_client_id, self.exchange, symbol, order.client_order_id)
                    events += self._apply_remote(order, remote)
        self._reconciled_at = self._monotonic()
        return events

    # -- calls ----------------------------------------------------------------------------------------

    def _call(self, function: Callable[..., Any], *args: Any) -> Any:
        """Every request: refused while backing off or while the breaker is open; a failure
        to reach the exchange counts toward the breaker and sets a back-off with jitter
        (at least the Retry-After the exchange asked for)."""
        if self._monotonic() < self._retry_at:
            raise Unavailable(f"backing off for {self._retry_at - self._monotonic():.1f} s")
        if not self.breaker.allow():
            raise Unavailable(f"circuit breaker open ({self.breaker.last_error})")
        if self._budget is not None:
            wait = self._budget.take(self._monotonic())
            if wait > 0:
                raise Unavailable(f"request budget of {self.settings.requests_per_minute}/min spent; next in {wait:.1f} s")
        try:
            result = function(*args)
        except ccxt.InvalidNonce as error:
            self._failed(error)
            self._resync_time()
            raise
        except ccxt.OperationFailed as error:  # network, timeouts, 5xx, 429/418
            self._failed(error)
            raise
        except ccxt.AuthenticationError as error:
            self.breaker.record_success()  # it answered; the keys are what is wrong
            self.auth_error = f"authentication failed: {_message(error)}"
            logger.error("%s: %s", self.account_id, self.auth_error)
            raise
        except ccxt.BaseError:
            self._answered()
            raise
        self._answered()
        return result

    def _answered(self) -> None:
        self.breaker.record_success()
        self._failures = 0

    def _failed(self, error: Exception) -> None:
        self._failures += 1
        self.breaker.record_failure(f"{type(error).__name__}: {_message(error)}")
        delay = min(self.settings.backoff_max_s, self.settings.backoff_initial_s * 2 ** (self._failures - 1))
        delay *= 0.5 + self._rng.random() / 2  # jitter: accounts do not retry in step
        delay = max(delay, self._retry_after())
        self._retry_at = self._monotonic() + delay

    def _retry_after(self) -> float:
        headers = getattr(self.exchange, "last_response_headers", None) or {}
        try:
            value = headers.get("Retry-After") or headers.get("retry-after")
            return float(value) if value is not None else 0.0
        except (TypeError, ValueError):
            return 0.0

    def _resync_time(self) -> None:
        try:
            self.exchange.load_time_difference()
        except ccxt.BaseError as error:
            logger.warning("%s: cannot resync the clock: %s", self.account_id, error)

    # -- helpers ----------------------------------------------------------------------------------------

    def _remember_exchange_id(self, order: _Order, exchange_id: str) -> None:
        order.exchange_id = exchange_id
        self._by_exchange_id[(order.symbol, exchange_id)] = order.client_order_id

    def _reject(self, order: _Order, code: str, reason: str) -> Event:
        order.state = CLOSED
        return self._event(OrderRejected, order.submitted.bot_id, order.client_order_id, code=code, reason=reason)

    def _event(self, kind: type, bot_id: str | None, client_order_id: str, **fields: Any) -> Event:
        now = self._clock.now_ns()
        return kind(account_id=self.account_id, bot_id=bot_id, client_order_id=client_order_id,
                    ts_event=now, ts_init=now, **fields)

    def _dec(self, value: Any) -> Decimal:
        """A ccxt number as an exact Decimal: through its string form, never float math."""
        if value is None:
            return ZERO
        if isinstance(value, str):
            return Decimal(value)
        return Decimal(self.exchange.number_to_string(value))


def _positive(text: Any) -> Decimal | None:
    if text is None:
        return None
    value = Decimal(str(text))
    return value.normalize() if value > 0 else None


def _plain(value: Decimal) -> str:
    """A Decimal as ccxt takes it: plain notation, no exponent."""
    return format(value.normalize(), "f")


def _int_or_zero(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _message(error: Exception) -> str:
    return str(error).splitlines()[0][:300] if str(error) else type(error).__name__

