"""`make_app`: the whole route table in one place."""

from __future__ import annotations

import logging

import tornado.routing
import tornado.web

from api.accounts import (
    AccountBalanceHandler,
    AccountHandler,
    AccountPositionsHandler,
    AccountsHandler,
    AccountTestHandler,
    AccountValidateHandler,
)
from api.auth.handlers import LoginHandler, LogoutHandler, MeHandler, RefreshHandler
from api.auth.profile_handlers import ChangePasswordHandler, ProfileHandler, RegisterHandler, UsersMeHandler
from api.auth.totp_handlers import TotpDisableHandler, TotpEnableHandler, TotpSetupHandler
from api.base import NotFoundHandler
from api.bot_activity import (
    BotEventsHandler,
    BotGridLevelsHandler,
    BotOrdersHandler,
    BotPerformanceHandler,
    BotTradesHandler,
)
from api.bots import (
    BotDetailHandler,
    BotPauseHandler,
    BotResumeHandler,
    BotsHandler,
    BotStartHandler,
    BotStatsHandler,
    BotStopHandler,
)
from api.context import ApiContext
from api.docs import ASSETS_PATH, DocsHandler
from api.health import DetailedHealthHandler, HealthHandler, ReadyHandler
from api.market import (
    ExchangesHandler,
    KlinesHandler,
    MarketsHandler,
    MultiKlinesHandler,
    TickerHandler,
    TickersHandler,
)
from api.metrics import HttpMetrics, MetricsHandler, MetricsJsonHandler
from api.openapi import OpenApiHandler
from api.order_book import OrderBookHandler
from api.orders import (
    ActiveOrdersHandler,
    CostBasisHandler,
    OrderHandler,
    OrderHistoryHandler,
    OrdersHandler,
    OrderStatsHandler,
    TradesHandler,
)
from api.portfolio import (
    ActivityHandler,
    AllocationHandler,
    DashboardStatsHandler,
    PerformanceHandler,
    PnlHandler,
    PortfolioHandler,
)
from api.positions import (
    ClosePositionHandler,
    PositionHandler,
    PositionsHandler,
    PositionSummaryHandler,
)
from api.routing import section
from api.strategies import StrategiesHandler
from api.system import ActorsHandler, CircuitBreakersHandler
from api.users import UserHandler, UsersHandler
from api.ws.handler import WebSocketHandler, WsStatsHandler

access_log = logging.getLogger("api.access")


def make_app(context: ApiContext) -> tornado.web.Application:
    def url(pattern: str, handler: type, name: str, **kwargs: object) -> tornado.web.URLSpec:
        return tornado.web.url(pattern, handler, kwargs or {"context": context}, name=name)

    ws = {"context": context, "hub": context.ws_hub}
    routes: list[tornado.routing.Rule | tornado.web.URLSpec] = [
        # -- bots and strategies (api/bots.py, api/bot_activity.py); `stats` before `{id}` --
        section("/api/v1/bots", [
            url(r"/api/v1/bots", BotsHandler, "bots"),
            url(r"/api/v1/bots/stats", BotStatsHandler, "bots_stats"),
            url(r"/api/v1/bots/(?P<bot_id>[^/]+)", BotDetailHandler, "bot"),
            url(r"/api/v1/bots/(?P<bot_id>[^/]+)/start", BotStartHandler, "bot_start"),
            url(r"/api/v1/bots/(?P<bot_id>[^/]+)/stop", BotStopHandler, "bot_stop"),
            url(r"/api/v1/bots/(?P<bot_id>[^/]+)/pause", BotPauseHandler, "bot_pause"),
            url(r"/api/v1/bots/(?P<bot_id>[^/]+)/resume", BotResumeHandler, "bot_resume"),
            url(r"/api/v1/bots/(?P<bot_id>[^/]+)/grid-levels", BotGridLevelsHandler, "bot_grid_levels"),
            url(r"/api/v1/bots/(?P<bot_id>[^/]+)/trades", BotTradesHandler, "bot_trades"),
            url(r"/api/v1/bots/(?P<bot_id>[^/]+)/orders", BotOrdersHandler, "bot_orders"),
            url(r"/api/v1/bots/(?P<bot_id>[^/]+)/performance", BotPerformanceHandler, "bot_performance"),
            url(r"/api/v1/bots/(?P<bot_id>[^/]+)/events", BotEventsHandler, "bot_events"),
        ]),
        url(r"/api/v1/strategies", StrategiesHandler, "strategies"),
        # -- market data (api/market.py, api/order_book.py) --
        section("/api/v1/market", [
            url(r"/api/v1/market/tickers", TickersHandler, "market_tickers"),
            url(r"/api/v1/market/ticker/([^/]+)", TickerHandler, "market_ticker"),
            url(r"/api/v1/market/orderbook/([^/]+)", OrderBookHandler, "market_orderbook"),
            url(r"/api/v1/market/klines/multi", MultiKlinesHandler, "market_klines_multi"),
            url(r"/api/v1/market/klines/([^/]+)", KlinesHandler, "market_klines"),
        ]),
        section("/api/v1/exchanges", [
            url(r"/api/v1/exchanges", ExchangesHandler, "exchanges"),
            url(r"/api/v1/exchanges/([^/]+)/markets", MarketsHandler, "exchange_markets"),
        ]),
        # -- orders, trades, positions, portfolio, dashboard (api/orders.py, api/positions.py,
        # api/portfolio.py); fixed paths before `{id}` --
        section("/api/v1/orders", [
            url(r"/api/v1/orders", OrdersHandler, "orders"),
            url(r"/api/v1/orders/active", ActiveOrdersHandler, "orders_active"),
            url(r"/api/v1/orders/history", OrderHistoryHandler, "orders_history"),
            url(r"/api/v1/orders/stats", OrderStatsHandler, "orders_stats"),
            url(r"/api/v1/orders/([^/]+)", OrderHandler, "order"),
        ]),
        url(r"/api/v1/trades", TradesHandler, "trades"),
        url(r"/api/v1/journal/cost-basis/([^/]+)", CostBasisHandler, "cost_basis"),
        section("/api/v1/positions", [
            url(r"/api/v1/positions", PositionsHandler, "positions"),
            url(r"/api/v1/positions/summary", PositionSummaryHandler, "positions_summary"),
            url(r"/api/v1/positions/([^/]+)", PositionHandler, "position"),
            url(r"/api/v1/positions/([^/]+)/close", ClosePositionHandler, "position_close"),
        ]),
        section("/api/v1/portfolio", [
            url(r"/api/v1/portfolio", PortfolioHandler, "portfolio"),
            url(r"/api/v1/portfolio/performance", PerformanceHandler, "portfolio_performance"),
            url(r"/api/v1/portfolio/pnl", PnlHandler, "portfolio_pnl"),
            url(r"/api/v1/portfolio/allocation", AllocationHandler, "portfolio_allocation"),
        ]),
        section("/api/v1/dashboard", [
            url(r"/api/v1/dashboard/stats", DashboardStatsHandler, "dashboard_stats"),
            url(r"/api/v1/dashboard/activity", ActivityHandler, "dashboard_activity"),
        ]),
        # -- exchange accounts (api/accounts.py); `validate` before the `{id}` routes --
        section("/api/v1/accounts", [
            url(r"/api/v1/accounts", AccountsHandler, "accounts"),
            url(r"/api/v1/accounts/validate", AccountValidateHandler, "accounts_validate"),
            url(r"/api/v1/accounts/(?P<account_id>[^/]+)", AccountHandler, "account"),
            url(r"/api/v1/accounts/(?P<account_id>[^/]+)/test", AccountTestHandler, "account_test"),
            url(r"/api/v1/accounts/(?P<account_id>[^/]+)/balance", AccountBalanceHandler, "account_balance"),
            url(r"/api/v1/accounts/(?P<account_id>[^/]+)/positions", AccountPositionsHandler, "account_positions"),
        ]),
        # -- WebSocket (api/ws/): `/ws` and its alias, and the hub's stats --
        url(r"/ws", WebSocketHandler, "ws", **ws),
        section("/api/v1/ws", [
            url(r"/api/v1/ws", WebSocketHandler, "ws_v1", **ws),
            url(r"/api/v1/ws/stats", WsStatsHandler, "ws_stats", **ws),
        ]),
        # -- auth, profile, 2FA (api/auth/), admin's users (api/users.py); `/users/me`
        # before `/users/{id}` --
        section("/api/v1/auth", [
            url(r"/api/v1/auth/login", LoginHandler, "auth_login"),
            url(r"/api/v1/auth/refresh", RefreshHandler, "auth_refresh"),
            url(r"/api/v1/auth/logout", LogoutHandler, "auth_logout"),
            url(r"/api/v1/auth/me", MeHandler, "auth_me"),
            url(r"/api/v1/auth/register", RegisterHandler, "auth_register"),
            url(r"/api/v1/auth/profile", ProfileHandler, "auth_profile"),
            url(r"/api/v1/auth/change-password", ChangePasswordHandler, "auth_change_password"),
            url(r"/api/v1/auth/2fa/setup", TotpSetupHandler, "auth_2fa_setup"),
            url(r"/api/v1/auth/2fa/enable", TotpEnableHandler, "auth_2fa_enable"),
            url(r"/api/v1/auth/2fa/disable", TotpDisableHandler, "auth_2fa_disable"),
        ]),
        section("/api/v1/users", [
            url(r"/api/v1/users/me", UsersMeHandler, "users_me"),
            url(r"/api/v1/users", UsersHandler, "users"),
            url(r"/api/v1/users/(?P<user_id>[^/]+)", UserHandler, "user"),
        ]),
        # -- health, metrics, the daemon's actors, the API's own document --
        section("/health", [
            url(r"/health", HealthHandler, "health"),
            url(r"/health/ready", ReadyHandler, "health_ready"),
            url(r"/health/detailed", DetailedHealthHandler, "health_detailed"),
        ]),
        url(r"/metrics", MetricsHandler, "metrics"),
        url(r"/api/v1/metrics/json", MetricsJsonHandler, "metrics_json"),
        section("/api/v1/system", [
            url(r"/api/v1/system/actors", ActorsHandler, "system_actors"),
            url(r"/api/v1/system/circuit-breakers", CircuitBreakersHandler, "system_circuit_breakers"),
        ]),
        url(r"/api/v1/openapi.json", OpenApiHandler, "openapi"),
        section("/api/v1/docs", [
            url(r"/api/v1/docs", DocsHandler, "docs"),
            url(r"/api/v1/docs/(.+)", tornado.web.StaticFileHandler, "docs_assets", path=ASSETS_PATH),
        ]),
    ]
    return tornado.web.Application(
        routes,
        default_handler_class=NotFoundHandler,
        compress_response=True,
        log_function=HttpMetrics(context.registry).counting(_log_request),
    )


def _log_request(handler: tornado.web.RequestHandler) -> None:
    """Access log at DEBUG: one line per request, with its id and duration."""
    if access_log.isEnabledFor(logging.DEBUG):
        access_log.debug(
            "%s %s %d %.1f ms [request_id=%s]",
            handler.request.method,
            handler.request.path,
            handler.get_status(),
            1000 * handler.request.request_time(),
            getattr(handler, "request_id", "-"),
        )
