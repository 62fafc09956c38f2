"""The real daemon as a subprocess: boot, health, sd_notify, signals, clean exit."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.daemon_process import DaemonProcess


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[DaemonProcess]:
    process = DaemonProcess(tmp_path)
    yield process
    process.kill()


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    sock.settimeout(5)
    yield sock
    sock.close()


def read_notifications(sock: socket.socket, until: str) -> list[str]:
    received: list[str] = []
    while until not in received:
        received.extend(sock.recv(4096).decode().splitlines())
    return received


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_it_answers_health_within_5_s_and_exits_0_within_5_s(daemon, signum):
    daemon.start()
    assert daemon.wait_healthy(timeout=5.0) < 5.0
    status, body = daemon.get_json("/health")
    assert status == 200 and body["status"] == "healthy"

    code, took = daemon.stop(signum, timeout=5.0)
    assert code == 0, daemon.log()
    assert took < 5.0
    messages = [entry["msg"] for entry in daemon.log_entries()]
    boot_steps = [m.split()[2] for m in messages if m.startswith("boot step ")]
    assert boot_steps == ["database", "journal", "exchanges", "feeds", "bots", "relay", "http"]
    assert any(m.startswith("stopped in ") for m in messages)


def test_it_tells_systemd_ready_and_stopping(tmp_path, notify_socket):
    daemon = DaemonProcess(tmp_path, env={"NOTIFY_SOCKET": str(tmp_path / "notify.sock")})
    try:
        daemon.start()
        assert "READY=1" in read_notifications(notify_socket, until="READY=1")
        # READY=1 is sent only once HTTP listens.
        assert daemon.get_json("/health")[0] == 200
        code, _ = daemon.stop(signal.SIGTERM)
        assert code == 0
        assert "STOPPING=1" in read_notifications(notify_socket, until="STOPPING=1")
    finally:
        daemon.kill()


def test_logs_are_json_lines_and_sigusr1_dumps_every_thread(daemon):
    daemon.start()
    daemon.wait_healthy()
    daemon.send(signal.SIGUSR1)
    time.sleep(0.5)
    assert daemon.get_json("/health")[0] == 200  # still serving after the dump
    daemon.stop()
    entries = daemon.log_entries()  # every line parses as JSON, or this raises
    assert all({"ts", "level", "logger", "msg"} <= set(entry) for entry in entries)
    dumped = {entry["msg"].split(" (ident")[0] for entry in entries if entry["msg"].startswith("Current state of ")}
    assert {"Current state of MainThread", "Current state of journal", "Current state of supervisor"} <= dumped


def test_a_taken_port_fails_the_boot_with_a_clear_line_and_exit_1(daemon):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", daemon.port))
        squatter.listen()
        daemon.start()
        assert daemon.process is not None
        code = daemon.process.wait(10)
    assert code == 1
    errors = [entry["msg"] for entry in daemon.log_entries() if entry["level"] == "ERROR"]
    assert any(f"cannot listen on 127.0.0.1:{daemon.port}" in message for message in errors), errors


def test_a_restart_on_the_same_state_dir_boots_again(daemon):
    daemon.start()
    daemon.wait_healthy()
    assert daemon.stop()[0] == 0
    daemon.start()
    daemon.wait_healthy()
    assert daemon.stop()[0] == 0
