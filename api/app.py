"""`make_app`: the whole route table in one place."""

from __future__ import annotations

import logging

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
from api.strategies import StrategiesHandler
from api.system import ActorsHandler, CircuitBreakersHandler
from api.users import UserHandler, UsersHandler
from api.ws.handler import WebSocketHandler, WsStatsHandler

access_log = logging.getLogger("api.access")


def make_app(context: ApiContext) -> tornado.web.Application:
    routes: list[tornado.web.URLSpec] = [
        tornado.web.url(r"/health", HealthHandler, {"context": context}, name="health"),
        tornado.web.url(r"/health/ready", ReadyHandler, {"context": context}, name="health_ready"),
        tornado.web.url(r"/health/detailed", DetailedHealthHandler, {"context": context}, name="health_detailed"),
        tornado.web.url(r"/api/v1/auth/login", LoginHandler, {"context": context}, name="auth_login"),
        tornado.web.url(r"/api/v1/auth/refresh", RefreshHandler, {"context": context}, name="auth_refresh"),
        tornado.web.url(r"/api/v1/auth/logout", LogoutHandler, {"context": context}, name="auth_logout"),
        tornado.web.url(r"/api/v1/auth/me", MeHandler, {"context": context}, name="auth_me"),
        # -- register, profile, password, 2FA, admin's users (api/auth/*_handlers.py,
        # api/users.py); `/users/me` before `/users/{id}` --
        tornado.web.url(r"/api/v1/auth/register", RegisterHandler, {"context": context}, name="auth_register"),
        tornado.web.url(r"/api/v1/auth/profile", ProfileHandler, {"context": context}, name="auth_profile"),
        tornado.web.url(r"/api/v1/auth/change-password", ChangePasswordHandler, {"context": context}, name="auth_change_password"),
        tornado.web.url(r"/api/v1/auth/2fa/setup", TotpSetupHandler, {"context": context}, name="auth_2fa_setup"),
        tornado.web.url(r"/api/v1/auth/2fa/enable", TotpEnableHandler, {"context": context}, name="auth_2fa_enable"),
        tornado.web.url(r"/api/v1/auth/2fa/disable", TotpDisableHandler, {"context": context}, name="auth_2fa_disable"),
        tornado.web.url(r"/api/v1/users/me", UsersMeHandler, {"context": context}, name="users_me"),
        tornado.web.url(r"/api/v1/users", UsersHandler, {"context": context}, name="users"),
        tornado.web.url(r"/api/v1/users/(?P<user_id>[^/]+)", UserHandler, {"context": context}, name="user"),
        # -- end of register ... users --
        tornado.web.url(r"/api/v1/system/actors", ActorsHandler, {"context": context}, name="system_actors"),
        tornado.web.url(r"/api/v1/system/circuit-breakers", CircuitBreakersHandler, {"context": context},
                        name="system_circuit_breakers"),
        tornado.web.url(r"/metrics", MetricsHandler, {"context": context}, name="metrics"),
        tornado.web.url(r"/api/v1/metrics/json", MetricsJsonHandler, {"context": context}, name="metrics_json"),
        tornado.web.url(r"/api/v1/openapi.json", OpenApiHandler, {"context": context}, name="openapi"),
        tornado.web.url(r"/api/v1/docs", DocsHandler, {"context": context}, name="docs"),
        tornado.web.url(r"/api/v1/docs/(.+)", tornado.web.StaticFileHandler, {"path": ASSETS_PATH}, name="docs_assets"),
        # -- exchange accounts (api/accounts.py); `validate` before the `{id}` routes --
        tornado.web.url(r"/api/v1/accounts", AccountsHandler, {"context": context}, name="accounts"),
        tornado.web.url(r"/api/v1/accounts/validate", AccountValidateHandler, {"context": context}, name="accounts_validate"),
        tornado.web.url(r"/api/v1/accounts/(?P<account_id>[^/]+)", AccountHandler, {"context": context}, name="account"),
        tornado.web.url(r"/api/v1/accounts/(?P<account_id>[^/]+)/test", AccountTestHandler, {"context": context}, name="account_test"),
        tornado.web.url(r"/api/v1/accounts/(?P<account_id>[^/]+)/balance", AccountBalanceHandler, {"context": context}, name="account_balance"),
        tornado.web.url(r"/api/v1/accounts/(?P<account_id>[^/]+)/positions", AccountPositionsHandler, {"context": context}, name="account_positions"),
        # -- end of exchange accounts --
        # -- WebSocket (api/ws/): `/ws` and its alias, and the hub's stats --
        tornado.web.url(r"/ws", WebSocketHandler, {"context": context, "hub": context.ws_hub}, name="ws"),
        tornado.web.url(r"/api/v1/ws", WebSocketHandler, {"context": context, "hub": context.ws_hub}, name="ws_v1"),
        tornado.web.url(r"/api/v1/ws/stats", WsStatsHandler, {"context": context, "hub": context.ws_hub}, name="ws_stats"),
        # -- end of WebSocket --
        # -- orders, trades, positions, portfolio, dashboard, market data (api/orders.py,
        # api/positions.py, api/portfolio.py, api/market.py); fixed paths before `{id}` --
        tornado.web.url(r"/api/v1/orders", OrdersHandler, {"context": context}, name="orders"),
        tornado.web.url(r"/api/v1/orders/active", ActiveOrdersHandler, {"context": context}, name="orders_active"),
        tornado.web.url(r"/api/v1/orders/history", OrderHistoryHandler, {"context": context}, name="orders_history"),
        tornado.web.url(r"/api/v1/orders/stats", OrderStatsHandler, {"context": context}, name="orders_stats"),
        tornado.web.url(r"/api/v1/orders/([^/]+)", OrderHandler, {"context": context}, name="order"),
        tornado.web.url(r"/api/v1/trades", TradesHandler, {"context": context}, name="trades"),
        tornado.web.url(r"/api/v1/journal/cost-basis/([^/]+)", CostBasisHandler, {"context": context}, name="cost_basis"),
        tornado.web.url(r"/api/v1/positions", PositionsHandler, {"context": context}, name="positions"),
        tornado.web.url(r"/api/v1/positions/summary", PositionSummaryHandler, {"context": context}, name="positions_summary"),
        tornado.web.url(r"/api/v1/positions/([^/]+)", PositionHandler, {"context": context}, name="position"),
        tornado.web.url(r"/api/v1/positions/([^/]+)/close", ClosePositionHandler, {"context": context}, name="position_close"),
        tornado.web.url(r"/api/v1/portfolio", PortfolioHandler, {"context": context}, name="portfolio"),
        tornado.web.url(r"/api/v1/portfolio/performance", PerformanceHandler, {"context": context}, name="portfolio_performance"),
        tornado.web.url(r"/api/v1/portfolio/pnl", PnlHandler, {"context": context}, name="portfolio_pnl"),
        tornado.web.url(r"/api/v1/portfolio/allocation", AllocationHandler, {"context": context}, name="portfolio_allocation"),
        tornado.web.url(r"/api/v1/dashboard/stats", DashboardStatsHandler, {"context": context}, name="dashboard_stats"),
        tornado.web.url(r"/api/v1/dashboard/activity", ActivityHandler, {"context": context}, name="dashboard_activity"),
        tornado.web.url(r"/api/v1/exchanges", ExchangesHandler, {"context": context}, name="exchanges"),
        tornado.web.url(r"/api/v1/exchanges/([^/]+)/markets", MarketsHandler, {"context": context}, name="exchange_markets"),
        tornado.web.url(r"/api/v1/market/tickers", TickersHandler, {"context": context}, name="market_tickers"),
        tornado.web.url(r"/api/v1/market/ticker/([^/]+)", TickerHandler, {"context": context}, name="market_ticker"),
        tornado.web.url(r"/api/v1/market/orderbook/([^/]+)", OrderBookHandler, {"context": context}, name="market_orderbook"),
        tornado.web.url(r"/api/v1/market/klines/multi", MultiKlinesHandler, {"context": context}, name="market_klines_multi"),
        tornado.web.url(r"/api/v1/market/klines/([^/]+)", KlinesHandler, {"context": context}, name="market_klines"),
        # -- end of orders ... market data --
        # -- bots and strategies (api/bots.py, api/bot_activity.py, api/strategies.py);
        # `stats` before `{id}` --
        tornado.web.url(r"/api/v1/strategies", StrategiesHandler, {"context": context}, name="strategies"),
        tornado.web.url(r"/api/v1/bots", BotsHandler, {"context": context}, name="bots"),
        tornado.web.url(r"/api/v1/bots/stats", BotStatsHandler, {"context": context}, name="bots_stats"),
        tornado.web.url(r"/api/v1/bots/(?P<bot_id>[^/]+)", BotDetailHandler, {"context": context}, name="bot"),
        tornado.web.url(r"/api/v1/bots/(?P<bot_id>[^/]+)/start", BotStartHandler, {"context": context}, name="bot_start"),
        tornado.web.url(r"/api/v1/bots/(?P<bot_id>[^/]+)/stop", BotStopHandler, {"context": context}, name="bot_stop"),
        tornado.web.url(r"/api/v1/bots/(?P<bot_id>[^/]+)/pause", BotPauseHandler, {"context": context}, name="bot_pause"),
        tornado.web.url(r"/api/v1/bots/(?P<bot_id>[^/]+)/resume", BotResumeHandler, {"context": context}, name="bot_resume"),
        tornado.web.url(r"/api/v1/bots/(?P<bot_id>[^/]+)/grid-levels", BotGridLevelsHandler, {"context": context}, name="bot_grid_levels"),
        tornado.web.url(r"/api/v1/bots/(?P<bot_id>[^/]+)/trades", BotTradesHandler, {"context": context}, name="bot_trades"),
        tornado.web.url(r"/api/v1/bots/(?P<bot_id>[^/]+)/orders", BotOrdersHandler, {"context": context}, name="bot_orders"),
        tornado.web.url(r"/api/v1/bots/(?P<bot_id>[^/]+)/performance", BotPerformanceHandler, {"context": context}, name="bot_performance"),
        tornado.web.url(r"/api/v1/bots/(?P<bot_id>[^/]+)/events", BotEventsHandler, {"context": context}, name="bot_events"),
        # -- end of bots and strategies --
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
