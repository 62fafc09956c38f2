"""A stand-in for systemd's end of `$NOTIFY_SOCKET`: a datagram socket that keeps what it got."""

from __future__ import annotations

import socket
import time
from pathlib import Path


class NotifySocket:
    """Receives sd_notify datagrams; `lines` holds (monotonic time, "KEY=value") pairs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.lines: list[tuple[float, str]] = []

    def close(self) -> None:
        self.sock.close()

    def receive(self, timeout: float) -> list[str]:
        """What arrives within `timeout` s (one datagram at most); [] if nothing did."""
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data = self.sock.recv(4096)
        except TimeoutError:
            return []
        now = time.monotonic()
        lines = data.decode().splitlines()
        self.lines.extend((now, line) for line in lines)
        return lines

    def wait_for(self, predicate, timeout: float = 10.0) -> str:
        """The first line from now on that satisfies `predicate`; raises after `timeout` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.receive(deadline - time.monotonic()):
                if predicate(line):
                    return line
        raise AssertionError(f"no matching notification within {timeout} s; got {[l for _, l in self.lines][-20:]}")

    def wait_line(self, expected: str, timeout: float = 10.0) -> str:
        return self.wait_for(lambda line: line == expected, timeout)

    def wait_status(self, expected: str, timeout: float = 10.0) -> None:
        """Until the latest `STATUS=` line received (earlier ones too) is `expected`."""
        deadline = time.monotonic() + timeout
        while self._latest_status() != expected:
            if time.monotonic() > deadline:
                raise AssertionError(f"STATUS is {self._latest_status()!r}, not {expected!r}")
            self.receive(0.1)

    def _latest_status(self) -> str | None:
        statuses = [line for _, line in self.lines if line.startswith("STATUS=")]
        return statuses[-1] if statuses else None
