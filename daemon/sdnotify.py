"""sd_notify(3) without libsystemd: one datagram to `$NOTIFY_SOCKET`."""

from __future__ import annotations

import logging
import os
import socket
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
