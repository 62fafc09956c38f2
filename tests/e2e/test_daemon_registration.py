"""The real daemon's wiring of the user routes: `[api] allow_registration` from the
environment, and a new TOTP secret masked in the daemon's log (the redaction registry)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.auth import totp
from tests.e2e.daemon_process import DaemonProcess
from tests.e2e.test_daemon_api import request

PASSWORD = "a long enough passphrase"
ALICE = {"username": "alice", "email": "alice@example.com", "password": PASSWORD}


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[DaemonProcess]:
    # DEBUG: the access log writes each request's path, which the test puts the secret into.
    process = DaemonProcess(tmp_path, env={"TRADERD_API__ALLOW_REGISTRATION": "true", "TRADERD_LOGGING__LEVEL": "DEBUG"})
    yield process
    process.kill()


def test_registration_on_from_the_environment_then_two_factor_login(daemon):
    daemon.start()
    daemon.wait_healthy(timeout=10)

    status, pair = request(daemon, "POST", "/api/v1/auth/register", ALICE)
    assert status == 201, pair
    assert pair["user"]["role"] == "trader"
    token = pair["access_token"]
    status, setup = request(daemon, "POST", "/api/v1/auth/2fa/setup", token=token)
    assert status == 200, setup
    secret = setup["secret"]
    status, enabled = request(daemon, "POST", "/api/v1/auth/2fa/enable", {"code": totp.code_at(secret, time.time())}, token)
    assert status == 200, enabled

    status, refused = request(daemon, "POST", "/api/v1/auth/login", {"username": "alice", "password": PASSWORD})
    assert status == 401 and refused["details"] == {"totp_required": True}
    # The enable code's step is spent; the next step's code is within the drift window.
    code = totp.code_at(secret, time.time() + 30)
    status, logged_in = request(daemon, "POST", "/api/v1/auth/login",
                                {"username": "alice", "password": PASSWORD, "totp_code": code})
    assert status == 200, logged_in

    assert request(daemon, "GET", f"/api/v1/no-such-route/{secret}")[0] == 404  # its path is logged
    assert daemon.stop()[0] == 0
    log = daemon.log()
    assert "/api/v1/no-such-route/***" in log  # masked: the daemon registered the secret
    assert secret not in log
    assert "stored unsealed" in log  # the paper example has no encryption key: said so
