"""The real daemon on the example config, scraped over HTTP the way Prometheus does."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.daemon_process import DaemonProcess

JUNK = f"/no-such-page-{uuid.uuid4().hex}"


@dataclass
class Scrape:
    text: str
    content_type: str

    def values(self, name: str, **labels: str) -> list[float]:
        return [
            sample.value
            for family in text_string_to_metric_families(self.text)
            for sample in family.samples
            if sample.name == name and labels.items() <= sample.labels.items()
        ]

    def total(self, name: str, **labels: str) -> float:
        return sum(self.values(name, **labels))

    def label_sets(self, name: str) -> list[dict[str, str]]:
        return [
            dict(sample.labels)
            for family in text_string_to_metric_families(self.text)
            for sample in family.samples
            if sample.name == name
        ]


def scrape(daemon: DaemonProcess) -> Scrape:
    with urllib.request.urlopen(daemon.url("/metrics"), timeout=5) as reply:
        return Scrape(reply.read().decode(), reply.headers["Content-Type"])


def trading_and_counted(found: Scrape) -> bool:
    return (
        found.total("traderd_orders_submitted_total") > 0
        and found.total("traderd_fills_total") > 0
        and found.total("traderd_bots", status="running") == 2
        and len(found.values("traderd_bot_grid_profit")) == 2
        and found.total("traderd_tick_to_order_seconds_count") > 0
    )


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scrape]:
    """One daemon for the module: booted, trading, asked for a junk page, then scraped."""
    daemon = DaemonProcess(tmp_path_factory.mktemp("metrics"))
    try:
        daemon.start()
        daemon.wait_healthy(timeout=10)
        assert daemon.get_json(JUNK)[0] == 404
        deadline = time.monotonic() + 30  # bots' profit is polled every 5 s
        found = scrape(daemon)
        while not trading_and_counted(found) and time.monotonic() < deadline:
            time.sleep(0.5)
            found = scrape(daemon)
        assert trading_and_counted(found), found.text
        yield found
        code, _ = daemon.stop()
        assert code == 0, daemon.log()
    finally:
        daemon.kill()


def test_the_daemon_exposes_its_families_with_sane_values(scraped):
    assert scraped.content_type.startswith("text/plain; version=0.0.4")
    build = scraped.label_sets("traderd_build_info")
    assert len(build) == 1 and scraped.total("traderd_build_info") == 1
    assert set(build[0]) == {"version", "python"}

    assert scraped.total("traderd_orders_submitted_total", account="paper") > 0
    assert scraped.total("traderd_fills_total", account="paper") > 0
    assert scraped.total("traderd_fees_total", account="paper") > 0
    assert scraped.total("traderd_bots", status="running") == 2
    assert scraped.total("traderd_bots", status="error") == 0
    assert {labels["currency"] for labels in scraped.label_sets("traderd_bot_total_profit")} == {"USDT", "BTC"}

    assert scraped.total("traderd_venue_request_duration_seconds_count", account="paper", method="submit") > 0
    assert scraped.total("traderd_venue_request_duration_seconds_count", account="paper", method="on_ticker") > 0
    assert scraped.total("traderd_tick_to_order_seconds_count") > 0
    assert scraped.total("traderd_journal_commit_duration_seconds_count") > 0
    assert scraped.total("traderd_journal_batch_events_sum") > 0
    assert scraped.values("traderd_journal_backlog_events")
    assert scraped.total("traderd_market_data_received_total", feed="xrp-usdt") > 0
    assert scraped.total("traderd_market_data_received_total", feed="eth-btc") > 0
    assert scraped.values("traderd_market_data_conflated_total", feed="xrp-usdt")
    actors = {labels["actor"] for labels in scraped.label_sets("traderd_actor_mailbox_depth")}
    assert {"journal", "metrics", "risk", "exchange:paper", "feed:xrp-usdt", "feed:eth-btc"} <= actors
    assert len([name for name in actors if name.startswith("bot:")]) == 2
    assert scraped.values("process_resident_memory_bytes")  # the standard process collector


def test_http_requests_are_counted_by_route_template(scraped):
    assert scraped.total("traderd_http_requests_total", route="health", method="GET", status="200") >= 1
    assert scraped.total("traderd_http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert JUNK.strip("/") not in scraped.text
    routes = {labels["route"] for labels in scraped.label_sets("traderd_http_requests_total")}
    assert routes <= {"health", "unmatched", "metrics"}


def test_the_circuit_breaker_family_is_there(scraped):
    names = {family.name for family in text_string_to_metric_families(scraped.text)}
    assert "traderd_circuit_breaker_state" in names


def test_websocket_families_are_there_from_the_start(scraped):
    assert scraped.values("traderd_websocket_connections") == [0.0]
    kinds = {labels["kind"] for labels in scraped.label_sets("traderd_websocket_messages_sent_total")}
    assert {"market", "orders", "bots", "bot", "account", "system", "control"} <= kinds


@pytest.mark.skipif(shutil.which("promtool") is None,
                    reason="promtool is not installed (Debian: apt-get install prometheus)")
def test_promtool_accepts_the_scrape(scraped):
    checked = subprocess.run(
        ["promtool", "check", "metrics"], input=scraped.text, capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == "" and checked.stderr.strip() == "", checked.stdout + checked.stderr
