"""The real daemon under a pretend systemd: READY, STATUS, the watchdog pings, STOPPING,
and the pings stopping when a critical actor hangs."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.daemon_process import DaemonProcess
from tests.e2e.notify_socket import NotifySocket

WATCHDOG_USEC = 400_000  # a ping every 0.2 s
PING_INTERVAL_S = WATCHDOG_USEC / 2 / 1e6


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifySocket]:
    sock = NotifySocket(tmp_path / "notify.sock")
    yield sock
    sock.close()


def watchdog_daemon(tmp_path: Path, notify_socket: NotifySocket, **env: str) -> DaemonProcess:
    return DaemonProcess(
        tmp_path, env={"NOTIFY_SOCKET": str(notify_socket.path), "WATCHDOG_USEC": str(WATCHDOG_USEC), **env}
    )


def pings_between(notify_socket: NotifySocket, start: float, end: float) -> int:
    return sum(1 for at, line in notify_socket.lines if line == "WATCHDOG=1" and start <= at <= end)


def test_ready_status_watchdog_pings_and_stopping(tmp_path, notify_socket):
    daemon = watchdog_daemon(tmp_path, notify_socket)
    try:
        daemon.start()
        notify_socket.wait_line("READY=1", timeout=15)
        assert daemon.get_json("/health")[0] == 200  # READY=1 only once HTTP listens
        # The example's two bots run; STATUS= says so once their status is known.
        notify_socket.wait_status("STATUS=serving; 2 bots running", timeout=10)
        ready_at = time.monotonic()
        for _ in range(5):
            notify_socket.wait_line("WATCHDOG=1", timeout=5)
        took = time.monotonic() - ready_at
        assert took < 5 * PING_INTERVAL_S + 2.0  # periodic, at about half of WATCHDOG_USEC

        code, _ = daemon.stop(signal.SIGTERM, timeout=10)
        assert code == 0, daemon.log()
        notify_socket.wait_line("STOPPING=1", timeout=5)
    finally:
        daemon.kill()


def test_a_wedged_supervisor_stops_the_watchdog_pings(tmp_path, notify_socket):
    daemon = watchdog_daemon(
        tmp_path, notify_socket, TRADERD_TEST_HOOKS="1", TRADERD_SUPERVISOR__SWEEP_INTERVAL_S="0.2"
    )
    try:
        daemon.start()
        notify_socket.wait_line("READY=1", timeout=15)
        for _ in range(3):
            notify_socket.wait_line("WATCHDOG=1", timeout=5)

        daemon.send(signal.SIGUSR2)  # the test hook: the supervisor's thread blocks
        wedged_at = time.monotonic()
        silence_s = 10 * PING_INTERVAL_S
        last_ping = wedged_at
        deadline = wedged_at + 20.0
        while time.monotonic() - last_ping < silence_s:
            assert time.monotonic() < deadline, "the watchdog pings did not stop after the wedge"
            if "WATCHDOG=1" in notify_socket.receive(0.1):
                last_ping = time.monotonic()
        assert daemon.process is not None and daemon.process.poll() is None  # alive, just not well
        assert pings_between(notify_socket, last_ping + 0.001, time.monotonic()) == 0
        withheld = [e["msg"] for e in daemon.log_entries() if e["msg"].startswith("watchdog pings withheld")]
        assert withheld and "supervisor has not handled a tick" in withheld[0], withheld

        code, _ = daemon.stop(signal.SIGTERM, timeout=15)  # shutdown releases the wedge
        assert code == 0, daemon.log()
    finally:
        daemon.kill()


def test_without_the_test_hooks_variable_sigusr2_wedges_nothing(tmp_path, notify_socket):
    daemon = watchdog_daemon(tmp_path, notify_socket)
    try:
        daemon.start()
        notify_socket.wait_line("READY=1", timeout=15)
        daemon.send(signal.SIGUSR2)  # no handler: the default action ends the process
        assert daemon.process is not None
        assert daemon.process.wait(10) == -signal.SIGUSR2
        # (Not log_entries(): the journal writer, orphaned by the kill, may print a traceback.)
        assert "test hook" not in daemon.log()
    finally:
        daemon.kill()
