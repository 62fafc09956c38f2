"""kill -9 the real daemon while its grid bots trade, again and again, then audit the journal.

The daemon runs `config/examples/paper.toml` (two grid bots on replayed real candles). It
is killed with SIGKILL at random moments at least 20 times, restarted each time, and in
the end stopped cleanly. The journal must then show: no client order id sent twice, no
grid level with two open orders, every paper trade booked once, balances conserved.
"""

from __future__ import annotations

import random
import signal
import time
from decimal import Decimal

from tests.e2e import journal_audit
from tests.e2e.daemon_process import DaemonProcess

KILLS = 20
INITIAL = {"paper": {"USDT": Decimal("10000"), "BTC": Decimal("1"), "ETH": Decimal("5")}}


def database_url(daemon: DaemonProcess) -> str:
    return f"sqlite:///{daemon.workdir / 'state' / 'traderd.sqlite3'}"


def test_kill_9_at_random_moments_loses_and_duplicates_nothing(tmp_path):
    rng = random.Random(20261123)
    daemon = DaemonProcess(tmp_path)
    submitted_before_kill = []
    try:
        for _ in range(KILLS):
            daemon.start()
            daemon.wait_healthy(timeout=10)
            time.sleep(rng.uniform(0.2, 2.0))
            daemon.kill()
            submitted_before_kill.append(len(journal_audit.load(database_url(daemon)).submitted))
        daemon.start()
        daemon.wait_healthy(timeout=10)
        time.sleep(3)
        code, _ = daemon.stop(signal.SIGTERM)
        assert code == 0, daemon.log()[-3000:]
    finally:
        daemon.kill()

    audit = journal_audit.load(database_url(daemon))
    # The test means something only if orders were placed and filled across the kills.
    assert len(audit.fills) > 0, "no fills: the crash test exercised nothing"
    assert len(set(submitted_before_kill)) > 5, f"orders were not being placed: {submitted_before_kill}"
    problems = journal_audit.run_all(audit, INITIAL)
    assert not problems, "\n".join(problems)
