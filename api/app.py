"""`make_app`: the whole route table in one place."""

from __future__ import annotations

import logging

import tornado.web

from api.base import NotFoundHandler
from api.context import ApiContext
from api.health import HealthHandler

access_log = logging.getLogger("api.access")


def make_app(context: ApiContext) -> tornado.web.Application:
    routes: list[tornado.web.URLSpec] = [
        tornado.web.url(r"/health", HealthHandler, {"context": context}, name="health"),
    ]
    return tornado.web.Application(
        routes,
        default_handler_class=NotFoundHandler,
        compress_response=True,
        log_function=_log_request,
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
