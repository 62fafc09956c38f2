"""The real daemon never writes a secret: its whole output is searched for each secret value.

The config has a live account whose keys come from environment variables and a file, and
a JWT secret from `TRADERD_JWT_SECRET`. The daemon cannot trade live yet, so that boot stops
at the exchanges step; by then the config is loaded, the database and actors have run and
logged. A second run plants a component that logs the secrets in every shape it can, to
show that the search would find a leak.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.e2e.daemon_process import DaemonProcess

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
initial_balances = { USDT = "1000" }

[[accounts]]
id = "binance"
exchange = "binance"
api_key_env = "E2E_API_KEY"
api_secret_env = "E2E_API_SECRET"
password_file = "binance.password"
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
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(script), "run", "--config", str(self.config)],
                stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=self.workdir,
            )
        return self


def run_to_exit(daemon: DaemonProcess) -> str:
    """Start the daemon, wait for its boot to fail at the live account, return its output."""
    try:
        daemon.start()
        assert daemon.process is not None
        assert daemon.process.wait(30) == 1, daemon.log()
    finally:
        daemon.kill()
    messages = [entry["msg"] for entry in daemon.log_entries()]  # every line is JSON
    assert "boot failed: step exchanges: account 'binance': exchange 'binance' is not supported yet (only paper)" in messages
    return daemon.log()


def config_file(tmp_path: Path) -> Path:
    (tmp_path / "binance.password").write_text(FILE_SECRET + "\n")
    path = tmp_path / "traderd.toml"
    path.write_text(CONFIG)
    return path


def test_the_daemon_logs_no_secret_it_loaded(tmp_path):
    output = run_to_exit(DaemonProcess(tmp_path, config_file(tmp_path), env=ENV_SECRETS))
    assert "boot step journal done" in output
    assert [secret for secret in SECRETS if secret in output] == []


def test_secrets_logged_in_any_shape_come_out_masked(tmp_path):
    output = run_to_exit(LeakyDaemonProcess(tmp_path, config_file(tmp_path), env=ENV_SECRETS))
    leaks = [line for line in output.splitlines() if "leak" in line]
    assert len(leaks) == 5, output  # four logged, one raised in a thread
    assert all("***" in line for line in leaks), leaks
    assert [secret for secret in SECRETS if secret in output] == []
