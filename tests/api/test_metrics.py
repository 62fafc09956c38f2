"""`/metrics` and `/api/v1/metrics/json` over real HTTP, and the HTTP request metrics."""

from __future__ import annotations

import urllib.request
import uuid

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.parser import text_string_to_metric_families

from api.app import make_app
from api.context import ApiContext
from tests.api.conftest import LiveServer


def scrape(server: LiveServer) -> tuple[str, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5) as reply:
        return reply.headers["Content-Type"], reply.read().decode()


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (s.labels, s.value) for family in text_string_to_metric_families(text) for s in family.samples if s.name == name
    ]


def test_metrics_serves_the_registry_as_prometheus_text_and_json_without_a_token():
    registry = CollectorRegistry()
    Gauge("traderd_answer", "A test gauge.", registry=registry).set(42)
    server = LiveServer(make_app(ApiContext(version="9.9.9", registry=registry)))
    try:
        content_type, text = scrape(server)
        assert content_type.startswith("text/plain; version=0.0.4")
        assert samples(text, "traderd_answer") == [({}, 42.0)]

        reply = server.request("GET", "/api/v1/metrics/json")
        assert reply.status == 200
        families = {family["name"]: family for family in reply.body["families"]}
        assert families["traderd_answer"] == {
            "name": "traderd_answer", "type": "gauge", "help": "A test gauge.",
            "samples": [{"name": "traderd_answer", "labels": {}, "value": 42.0}],
        }
        requests = families["traderd_http_requests_total"]
        assert requests["type"] == "counter"
        assert {"route": "metrics", "method": "GET", "status": "200"} in [s["labels"] for s in requests["samples"]]
    finally:
        server.close()


def test_requests_are_counted_by_route_template_never_by_raw_path(live_server):
    junk = f"/junk-{uuid.uuid4().hex}"
    assert live_server.request("GET", "/health").status == 200
    assert live_server.request("GET", junk).status == 404
    assert live_server.request("GET", junk + "/deeper?x=1").status == 404
    assert live_server.request("POST", "/health", body=b"{}").status == 405
    assert live_server.request("BREW", "/health").status == 405

    _, text = scrape(live_server)
    assert junk.strip("/") not in text
    counted = {
        (labels["route"], labels["method"], labels["status"]): value
        for labels, value in samples(text, "traderd_http_requests_total")
    }
    assert counted[("health", "GET", "200")] == 1
    assert counted[("unmatched", "GET", "404")] == 2
    assert counted[("health", "POST", "405")] == 1
    assert counted[("health", "OTHER", "405")] == 1
    durations = {
        (labels["route"], labels["method"]): value
        for labels, value in samples(text, "traderd_http_request_duration_seconds_count")
    }
    assert durations[("health", "GET")] == 1
