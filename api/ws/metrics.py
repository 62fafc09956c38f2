"""The WebSocket families on the API's registry, read from the hub's counts at scrape time
(the fan-out counts in plain ints; a prometheus counter per message would cost a lock)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from api.ws.hub import WebSocketHub

KINDS = ("market", "kline", "all_markets", "orders", "positions", "bots", "bot", "account", "system", "control")


class WebSocketCollector(Collector):
    def __init__(self, hub: WebSocketHub) -> None:
        self.hub = hub

    def describe(self) -> list[Metric]:
        return list(self._families(empty=True))

    def collect(self) -> Iterator[Metric]:
        return self._families(empty=False)

    def _families(self, empty: bool) -> Iterator[Metric]:
        hub = self.hub
        connections = GaugeMetricFamily("traderd_websocket_connections", "Open WebSocket connections.")
        sent = CounterMetricFamily(
            "traderd_websocket_messages_sent", "WebSocket messages written to clients, by channel kind.",
            labels=["kind"],
        )
        dropped = CounterMetricFamily(
            "traderd_websocket_messages_dropped",
            "WebSocket messages never written: market data conflated away (latest wins), or "
            "waiting for a client that was closed; by channel kind.",
            labels=["kind"],
        )
        closed = CounterMetricFamily(
            "traderd_websocket_slow_clients_closed", "WebSocket clients closed with 1013 for not keeping up.",
        )
        if not empty:
            connections.add_metric([], len(hub.clients))
            for kind in KINDS:
                sent.add_metric([kind], hub.counters.sent.get(kind, 0))
                dropped.add_metric([kind], hub.counters.dropped.get(kind, 0))
            closed.add_metric([], hub.counters.closed.get("too_slow", 0))
        yield from (connections, sent, dropped, closed)


def register(registry: CollectorRegistry, hub: WebSocketHub) -> None:
    registry.register(WebSocketCollector(hub))
