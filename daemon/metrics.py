"""The daemon's Prometheus registry: made once per `Daemon` and passed around.

A registry of our own rather than prometheus_client's global one, so tests build isolated
registries and two daemons in one test process never share a counter. It carries the
process, platform and GC collectors the global registry would have, and
`traderd_build_info`.
"""

from __future__ import annotations

import platform

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector


def make_registry(version: str) -> CollectorRegistry:
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    build = Gauge(
        "traderd_build_info", "Always 1; the labels say which traderd and Python run.",
        ["version", "python"], registry=registry,
    )
    build.labels(version, platform.python_version()).set(1)
    return registry
