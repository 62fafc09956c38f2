"""The real daemon's WebSocket: an admin sees the example's config bots trade live, and a
SIGTERM says goodbye on `system` and closes with 1001."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.ws_helpers import ClientLoop
from tests.e2e.daemon_process import DaemonProcess
from tests.e2e.test_daemon_api import PASSWORD, add_admin, request


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[DaemonProcess]:
    process = DaemonProcess(tmp_path)
    yield process
    process.kill()


def test_an_admin_watches_the_example_bots_trade_and_hears_the_shutdown(daemon):
    add_admin(daemon)
    daemon.start()
    daemon.wait_healthy(timeout=10)
    status, pair = request(daemon, "POST", "/api/v1/auth/login", {"username": "root", "password": PASSWORD})
    assert status == 200, pair
    loop = ClientLoop()
    try:
        client = loop.connect(daemon.port, f"?token={pair['access_token']}", "/api/v1/ws")
        assert client.recv()["type"] == "welcome"
        subscribed = client.subscribe("market:XRP-USDT", "orders", "bots", "system")[-1]
        assert subscribed["channels"] == ["market:XRP-USDT", "orders", "bots", "system"]
        ticker = client.recv_until(lambda m: m["type"] == "ticker")
        assert ticker["channel"] == "market:XRP-USDT" and isinstance(ticker["data"]["last"], str)
        # The replay runs 1500 times real time: the grids trade within seconds.
        fill = client.recv_until(lambda m: m["type"] == "fill", timeout=30)
        assert fill["channel"] == "orders" and isinstance(fill["data"]["price"], str)
        client.recv_until(lambda m: m["type"] == "bot_update" and "total_profit" in m["data"], timeout=30)

        daemon.send(signal.SIGTERM)
        code, _ = client.recv_close(timeout=15)
        assert code == 1001
        notices = [m for m in client.received if m["type"] == "notification"]
        assert notices and notices[-1]["data"]["event"] == "shutdown" and notices[-1]["channel"] == "system"
        assert daemon.process is not None and daemon.process.wait(10) == 0
    finally:
        loop.close()
