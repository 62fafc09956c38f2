"""Run the real `traderd` as a subprocess: start it, signal it, read what it wrote."""

from __future__ import annotations

import json
import os
import signal as signals
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = ROOT / "config" / "examples" / "paper.toml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DaemonProcess:
    """`traderd run` in a state directory of its own, on a free port, logging to a file."""

    def __init__(self, workdir: Path, config: Path = EXAMPLE_CONFIG, env: dict[str, str] | None = None):
        self.workdir = workdir
        self.port = free_port()
        self.log_path = workdir / "traderd.log"
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("TRADERD_")}
        self.env.update(
            TRADERD_STATE_DIR=str(workdir / "state"),
            TRADERD_API__PORT=str(self.port),
            **(env or {}),
        )
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self) -> DaemonProcess:
        self.started_at = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "daemon", "run", "--config", str(self.config)],
                stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=self.workdir,
            )
        return self

    def add_user(self, name: str, role: str, password: str) -> None:
        """`traderd user add` against this daemon's config and database."""
        password_file = self.workdir / "password"
        password_file.write_text(password + "\n")
        subprocess.run(
            [sys.executable, "-m", "daemon", "user", "add", name, "--role", role,
             "--config", str(self.config), "--password-file", str(password_file)],
            env=self.env, cwd=self.workdir, check=True, capture_output=True, timeout=30,
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get_json(self, path: str, timeout: float = 2.0) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(self.url(path), timeout=timeout) as reply:
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def wait_healthy(self, timeout: float = 5.0) -> float:
        """Seconds from start until /health answered 200; raises if it did not in time."""
        deadline = self.started_at + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"daemon exited with {self.process.returncode}:\n{self.log()}")
            try:
                if self.get_json("/health", timeout=0.5)[0] == 200:
                    return time.monotonic() - self.started_at
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        raise AssertionError(f"/health did not answer within {timeout} s:\n{self.log()}")

    def send(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def stop(self, signum: int = signals.SIGTERM, timeout: float = 5.0) -> tuple[int, float]:
        """Send `signum` and wait; returns the exit code and the seconds it took."""
        assert self.process is not None
        sent_at = time.monotonic()
        self.process.send_signal(signum)
        code = self.process.wait(timeout)
        return code, time.monotonic() - sent_at

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def log_entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log().splitlines() if line.strip()]
