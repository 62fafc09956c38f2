"""The real daemon's auth and health routes: a user made with the CLI logs in, an admin
reads the actors, readiness is 200, and tokens outlive a restart (the secret file)."""

from __future__ import annotations

import json
import stat
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.daemon_process import DaemonProcess

PASSWORD = "correct horse battery"


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[DaemonProcess]:
    process = DaemonProcess(tmp_path)
    yield process
    process.kill()


def request(daemon: DaemonProcess, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(daemon.url(path), data, headers, method=method), timeout=5) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def add_admin(daemon: DaemonProcess) -> None:
    daemon.add_user("root", "admin", PASSWORD)


def test_a_cli_user_logs_in_and_reads_readiness_and_the_actor_tree(daemon):
    add_admin(daemon)
    daemon.start()
    daemon.wait_healthy(timeout=10)

    status, ready = daemon.get_json("/health/ready")
    assert status == 200, ready
    assert set(ready["components"]["exchanges"]["accounts"]) == {"paper"}
    assert ready["components"]["actors"]["status"] == "ok"

    status, pair = request(daemon, "POST", "/api/v1/auth/login", {"username": "root", "password": PASSWORD})
    assert status == 200, pair
    status, tree = request(daemon, "GET", "/api/v1/system/actors", token=pair["access_token"])
    assert status == 200
    names = {child["name"] for child in tree["children"]}
    assert {"journal", "risk", "exchange:paper"} <= names
    assert any(name.startswith("feed:") for name in names) and any(name.startswith("bot:") for name in names)
    assert request(daemon, "GET", "/health/detailed")[0] == 401

    secret = daemon.workdir / "state" / "jwt_secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert any("generated a signing secret" in entry["msg"] for entry in daemon.log_entries())
    assert daemon.stop()[0] == 0

    # The same secret after a restart: the access token still works.
    daemon.start()
    daemon.wait_healthy(timeout=10)
    assert request(daemon, "GET", "/api/v1/auth/me", token=pair["access_token"])[0] == 200
    assert daemon.stop()[0] == 0
