"""The JWT signing secret: from the config (or `TRADERD_JWT_SECRET`), else made once.

Zero setup must still mean signed tokens that survive a restart, so without a configured
secret the daemon generates 64 random bytes into a 0600 file in its state directory and
reuses it. The secret itself is never logged.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

logger = logging.getLogger(__name__)

SECRET_FILENAME = "jwt_secret"
SECRET_BYTES = 64


def jwt_secret(configured: str | None, state_dir: Path) -> bytes:
    """`configured` if given, else the state directory's secret file (made if missing)."""
    if configured:
        return configured.encode("utf-8")
    return load_or_create_secret(Path(state_dir) / SECRET_FILENAME)


def load_or_create_secret(path: Path) -> bytes:
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_bytes(SECRET_BYTES)
    try:
        # O_EXCL: of two processes racing here, one writes and the other reads its secret.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    with os.fdopen(descriptor, "wb") as file:
        file.write(secret)
        file.flush()
        os.fsync(file.fileno())
    logger.info(
        "no [api] jwt_secret or TRADERD_JWT_SECRET set: generated a signing secret in %s", path
    )
    return secret


def _read(path: Path) -> bytes:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning("%s was readable by others (mode %o); making it 0600", path, stat.S_IMODE(mode))
        path.chmod(0o600)
    secret = path.read_bytes()
    if len(secret) < 32:
        raise ValueError(f"{path} holds {len(secret)} bytes; a JWT secret needs at least 32 (delete it to get a new one)")
    return secret
