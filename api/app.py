"""`make_app`: the whole route table in one place."""

from __future__ import annotations

import logging

import tornado.web

from api.auth.handlers import LoginHandler, LogoutHandler, MeHandler, RefreshHandler
from api.base import NotFoundHandler
from api.context import ApiContext
from api.health import DetailedHealthHandler, HealthHandler, ReadyHandler
from api.metrics import HttpMetrics, MetricsHandler, MetricsJsonHandler
from api.system import ActorsHandler

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
        tornado.web.url(r"/api/v1/users/me", MeHandler, {"context": context}, name="users_me"),
        tornado.web.url(r"/api/v1/system/actors", ActorsHandler, {"context": context}, name="system_actors"),
        tornado.web.url(r"/metrics", MetricsHandler, {"context": context}, name="metrics"),
        tornado.web.url(r"/api/v1/metrics/json", MetricsJsonHandler, {"context": context}, name="metrics_json"),
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
