"""The fake Binance in a process of its own, driven through its `/_fake/...` endpoints.

For end-to-end tests that SIGKILL the daemon: the exchange outlives every kill and keeps
its state (orders, trades, balances) in a file, as a real exchange would; `stop` and
`start` again make an outage, after which it is back on the same port with that state.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


class FakeBinanceProcess:
    """`python -m tests.fake_exchange.binance` on 127.0.0.1 (a free port at first)."""

    def __init__(self, state: Path, *, balances: dict[str, str], api_key: str, api_secret: str) -> None:
        self.state_path = state
        self.arguments = ["--balances", json.dumps(balances), "--api-key", api_key, "--api-secret", api_secret]
        self.port = 0
        self.start()

    def start(self) -> None:
        """Run the server: on a free port the first time, on the same port after that."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fake_exchange.binance", "--port", str(self.port),
             "--state", str(self.state_path), *self.arguments],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline().split()[-1])
        self.url = f"http://127.0.0.1:{self.port}"

    def post(self, what: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(f"{self.url}/_fake/{what}", data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=5) as answer:
            return json.loads(answer.read())

    def price(self, price: str, symbol: str = "XRPUSDT") -> None:
        self.post("price", {"symbol": symbol, "price": price})

    def faults(self, rate: float) -> None:
        """`rate` of requests fail: 503, 429 with Retry-After, or an answer too slow to wait for."""
        self.post("faults", {"failure_rate": rate, "kinds": ["503", "429", "timeout"], "slow_s": 2.5,
                             "retry_after_s": 1})

    def state(self) -> dict[str, Any]:
        """Orders, trades, balances and client ids sent twice, money as Decimal."""
        with urllib.request.urlopen(f"{self.url}/_fake/state", timeout=5) as answer:
            return json.loads(answer.read(), parse_float=Decimal)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
