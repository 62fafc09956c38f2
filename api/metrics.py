"""`GET /metrics` (Prometheus text) and `GET /api/v1/metrics/json` (the same families as
JSON), without auth: Prometheus scrapes them. Also the API's own HTTP metrics.

The registry comes from `ApiContext`; collecting runs on the IOLoop, so every collector
on it must be cheap and never block (they read counters and queue sizes only).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import tornado.routing
import tornado.web
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from api.base import BaseHandler
from api.context import ApiContext
from api.routing import route_rules

UNMATCHED = "unmatched"
OTHER = "OTHER"
METHODS = frozenset(tornado.web.RequestHandler.SUPPORTED_METHODS)
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HttpMetrics:
    """Requests by route template, method and status, and their durations.

    The route is the matched rule's name (or its pattern when it has none), never the raw
    path; a request no rule matched counts as `unmatched`, and a method Tornado does not
    know as `OTHER`, so no client can make new series.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "traderd_http_requests", "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"], registry=registry,
        )
        self.duration = Histogram(
            "traderd_http_request_duration_seconds", "Time to answer an HTTP request, by route template.",
            ["route", "method"], registry=registry, buckets=BUCKETS,
        )
        self._rules: dict[type, list[tornado.routing.Rule]] | None = None
        self._counts: dict[tuple[str, str, int], Any] = {}
        self._durations: dict[tuple[str, str], Any] = {}

    def counting(self, log_function: Callable[[tornado.web.RequestHandler], None]) -> Callable[[tornado.web.RequestHandler], None]:
        """`log_function` that also counts the request (Tornado's one hook for every request)."""

        def log(handler: tornado.web.RequestHandler) -> None:
            self.observe(handler)
            log_function(handler)

        return log

    def observe(self, handler: tornado.web.RequestHandler) -> None:
        route = self.route_of(handler)
        method = handler.request.method if handler.request.method in METHODS else OTHER
        status = handler.get_status()
        # `labels()` locks and builds a key each time; the series are few and bounded.
        count = self._counts.get((route, method, status))
        if count is None:
            count = self._counts[route, method, status] = self.requests.labels(route, method, str(status))
        duration = self._durations.get((route, method))
        if duration is None:
            duration = self._durations[route, method] = self.duration.labels(route, method)
        count.inc()
        duration.observe(handler.request.request_time())

    def route_of(self, handler: tornado.web.RequestHandler) -> str:
        if self._rules is None:
            # Built on first use, when the route table is complete.
            self._rules = {}
            for rule in route_rules(handler.application.wildcard_router):
                self._rules.setdefault(rule.target, []).append(rule)
        rules = self._rules.get(type(handler), ())
        if len(rules) == 1:
            return _label(rules[0])
        for rule in rules:  # one handler class on several routes: find which one matched
            if rule.matcher.match(handler.request) is not None:
                return _label(rule)
        return UNMATCHED


def _label(rule: tornado.routing.Rule) -> str:
    if rule.name:
        return rule.name
    regex = getattr(rule.matcher, "regex", None)
    return regex.pattern if regex is not None else type(rule.matcher).__name__


class MetricsHandler(BaseHandler):
    """Prometheus' text exposition format, version 0.0.4: every name here is a classic one,
    so the body is the same in 1.0.0, and every Prometheus server reads 0.0.4."""

    required_role = None  # Prometheus scrapes without a token
    rate_limit = None

    def initialize(self, context: ApiContext) -> None:
        self.context = context

    def get(self) -> None:
        self.set_header("Content-Type", CONTENT_TYPE_PLAIN_0_0_4)
        self.finish(generate_latest(self.context.registry))


class MetricsJsonHandler(BaseHandler):
    """`{"families": [{name, type, help, samples: [{name, labels, value}]}]}`; a value that
    JSON cannot hold (NaN, infinities) is given as Prometheus writes it ("NaN", "+Inf")."""

    required_role = None  # the same data as /metrics, as open
    rate_limit = None

    def initialize(self, context: ApiContext) -> None:
        self.context = context

    def get(self) -> None:
        self.write_json({"families": families_as_json(self.context.registry)})


def families_as_json(registry: CollectorRegistry) -> list[dict[str, Any]]:
    families = []
    for family in registry.collect():
        # The text format names a counter family with its `_total`; so does this.
        name = family.name + "_total" if family.type == "counter" else family.name
        families.append({
            "name": name,
            "type": family.type,
            "help": family.documentation,
            "samples": [
                {"name": sample.name, "labels": dict(sample.labels), "value": _json_number(sample.value)}
                for sample in family.samples
            ],
        })
    return families


def _json_number(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return value

