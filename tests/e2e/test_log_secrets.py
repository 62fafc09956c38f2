"""The real daemon never writes a secret: its whole output is searched for each secret value.

The config has a live Binance account whose keys come from environment variables and a
file, and a JWT secret from `TRADERD_JWT_SECRET`; the account talks to the fake Binance
server (its own process on 127.0.0.1), which checks those keys' signatures, so the daemon
boots, signs requests with them and logs at DEBUG until a SIGTERM stops it. A second run
plants a component that logs the secrets in every shape it can, to show that the search
would find a leak.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.daemon_process import DaemonProcess

ROOT = Path(__file__).resolve().parents[2]

ENV_SECRETS = {
    "E2E_API_KEY": "key-abcdef-7731",
    "E2E_API_SECRET": "sec-ghijkl-8842",
    "TRADERD_JWT_SECRET": "jwt-secret-of-at-least-32-bytes-9953",
}
FILE_SECRET = "pass-file-secret-1064"
SECRETS = [*ENV_SECRETS.values(), FILE_SECRET]

CONFIG = """\
[logging]
level = "DEBUG"

[[accounts]]
id = "paper"
exchange = "paper"
initial_balances = {{ USDT = "1000" }}

[[accounts]]
id = "binance"
exchange = "binance"
api_key_env = "E2E_API_KEY"
api_secret_env = "E2E_API_SECRET"
password_file = "binance.password"
urls = {{ all = "http://127.0.0.1:{port}" }}
"""

LEAKY_MAIN = """\
import logging, sys, threading
import daemon.service
from daemon.cli import main

real_run_daemon = daemon.service.run_daemon


def leaky_run_daemon(config, *args, **kwargs):
    log = logging.getLogger("leaky")
    account = config.accounts[1]
    key, secret = account.api_key.get_secret_value(), account.api_secret.get_secret_value()
    password = account.password.get_secret_value()
    jwt = config.api.jwt_secret.get_secret_value()
    log.warning("leak: key %s secret %s password %s jwt %s", key, secret, password, jwt)
    log.warning("leak: headers %r", {"X-MBX-APIKEY": key, "Authorization": "Bearer " + jwt})
    log.warning("leak: extra", extra={"credentials": [key, secret], "note": "pw " + password})
    try:
        raise RuntimeError("leak: exchange refused " + secret)
    except RuntimeError:
        log.exception("leak: exception")

    def fail():
        raise ValueError("leak: in a thread, password=" + password)

    thread = threading.Thread(target=fail, name="leaky")
    thread.start()
    thread.join()
    return real_run_daemon(config, *args, **kwargs)


daemon.service.run_daemon = leaky_run_daemon
sys.exit(main(sys.argv[1:]))
"""


class LeakyDaemonProcess(DaemonProcess):
    """`traderd run` with `run_daemon` wrapped by LEAKY_MAIN."""

    def start(self) -> LeakyDaemonProcess:
        script = self.workdir / "leaky_main.py"
        script.write_text(LEAKY_MAIN)
        self.started_at = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(script), "run", "--config", str(self.config)],
                stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=self.workdir,
            )
        return self


@pytest.fixture
def fake_binance_port(tmp_path: Path) -> Iterator[int]:
    """The fake Binance server in its own process, knowing the config's keys."""
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_exchange.binance", "--port", "0", "--state", str(tmp_path / "fake.json"),
         "--balances", '{"USDT": "1000"}', "--api-key", ENV_SECRETS["E2E_API_KEY"],
         "--api-secret", ENV_SECRETS["E2E_API_SECRET"]],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert server.stdout is not None
        yield int(server.stdout.readline().split()[-1])
    finally:
        server.kill()
        server.wait()


def run_and_stop(daemon: DaemonProcess) -> str:
    """Boot the daemon (its Binance account signed in), stop it, return its output."""
    try:
        daemon.start()
        daemon.wait_healthy(timeout=30)
        status, ready = daemon.get_json("/health/ready", timeout=10)
        assert status == 200 and ready["components"]["exchanges"]["accounts"]["binance"]["status"] == "ok", ready
        daemon.send(signal.SIGTERM)
        assert daemon.process is not None and daemon.process.wait(30) == 0, daemon.log()
    finally:
        daemon.kill()
    [entry["msg"] for entry in daemon.log_entries()]  # every line is JSON
    return daemon.log()


def config_file(tmp_path: Path, port: int) -> Path:
    (tmp_path / "binance.password").write_text(FILE_SECRET + "\n")
    path = tmp_path / "traderd.toml"
    path.write_text(CONFIG.format(port=port))
    return path


def test_the_daemon_logs_no_secret_it_loaded(tmp_path, fake_binance_port):
    output = run_and_stop(DaemonProcess(tmp_path, config_file(tmp_path, fake_binance_port), env=ENV_SECRETS))
    assert "boot step journal done" in output
    assert [secret for secret in SECRETS if secret in output] == []


def test_secrets_logged_in_any_shape_come_out_masked(tmp_path, fake_binance_port):
    output = run_and_stop(LeakyDaemonProcess(tmp_path, config_file(tmp_path, fake_binance_port), env=ENV_SECRETS))
    leaks = [line for line in output.splitlines() if "leak" in line]
    assert len(leaks) == 5, output  # four logged, one raised in a thread
    assert all("***" in line for line in leaks), leaks
    assert [secret for secret in SECRETS if secret in output] == []
