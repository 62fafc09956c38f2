"""sd_notify(3) without libsystemd: one datagram to `$NOTIFY_SOCKET`."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

logger = logging.getLogger(__name__)


def notify(*assignments: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send `READY=1`, `STATUS=...` and friends; False when not run under systemd."""
    path = (environ if environ is not None else os.environ).get("NOTIFY_SOCKET")
    if not path:
        return False
    if path.startswith("@"):
        path = "\0" + path[1:]  # abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(path)
            sock.sendall("\n".join(assignments).encode("utf-8"))
    except OSError as error:
        logger.warning("sd_notify to %s failed: %s", path, error)
        return False
    return True


def watchdog_interval_s(environ: Mapping[str, str] | None = None) -> float | None:
    """How often to send `WATCHDOG=1`: half of `$WATCHDOG_USEC`, as sd_watchdog_enabled(3)
    advises; None when systemd set no watchdog, or set it for another process
    (`$WATCHDOG_PID`)."""
    environ = os.environ if environ is None else environ
    pid = environ.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 2 / 1_000_000 if usec > 0 else None


def monotonic_usec() -> str:
    """`MONOTONIC_USEC=...`, which systemd wants beside `RELOADING=1` (CLOCK_MONOTONIC)."""
    return f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}"
