"""`systemd/traderd.service`: systemd accepts it, and it carries what operations rely on.

`systemd-analyze verify` also checks that ExecStart's binary exists, which it does only on an
installed server; so the unit is verified as a copy whose ExecStart points at a stand-in
script, and the untouched file may fail on that one point only.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "traderd.service"
BINARY = "/opt/traderd/venv/bin/traderd"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")

needs_systemd_analyze = pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")


def directives(text: str) -> dict[str, list[str]]:
    """Every `Key=value` of a unit file, by key, in order (comments and sections skipped)."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        found.setdefault(key.strip(), []).append(value.strip())
    return found


def verify(unit: Path) -> tuple[int, str]:
    """`systemd-analyze verify` on `unit`: its exit code and everything it printed."""
    assert SYSTEMD_ANALYZE is not None
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", "--recursive-errors=no", str(unit)],
        capture_output=True, text=True, timeout=60,
    )
    return result.returncode, (result.stdout + result.stderr).strip()


def installable_copy(tmp_path: Path, text: str) -> Path:
    """`text` as `traderd.service` in `tmp_path`, its ExecStart binary a real script."""
    binary = tmp_path / "traderd"
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(0o755)
    assert BINARY in text
    unit = tmp_path / "traderd.service"
    unit.write_text(text.replace(BINARY, str(binary)))
    return unit


@needs_systemd_analyze
def test_systemd_accepts_the_unit_without_a_warning(tmp_path):
    code, output = verify(installable_copy(tmp_path, UNIT.read_text()))
    assert (code, output) == (0, "")


@needs_systemd_analyze
def test_the_untouched_unit_fails_verification_only_for_want_of_the_installed_binary():
    code, output = verify(UNIT)
    if Path(BINARY).exists():
        assert (code, output) == (0, "")
    else:
        assert output.splitlines() == [f"traderd.service: Command {BINARY} is not executable: No such file or directory"]


@needs_systemd_analyze
@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("RestartSec=5", "RestartSek=5"),  # an unknown key
        ("Type=notify", "Type=notifyy"),  # a bad value
        ("TimeoutStopSec=60", "TimeoutStopSec=a minute"),
        ("StateDirectory=traderd", "StateDirectory=/var/lib/traderd"),  # must be relative
        ("ReadWritePaths=/var/lib/traderd", "ReadWritePaths=var/lib/traderd"),  # must be absolute
    ],
    ids=["unknown-key", "bad-type", "bad-duration", "absolute-state-dir", "relative-rw-path"],
)
def test_verification_fails_on_a_broken_copy(tmp_path, old, new):
    text = UNIT.read_text()
    assert old in text
    code, output = verify(installable_copy(tmp_path, text.replace(old, new)))
    assert code != 0 and output


def test_the_unit_runs_traderd_as_a_notify_service_with_a_watchdog():
    unit = directives(UNIT.read_text())
    expected = {
        "Type": ["notify"],
        "NotifyAccess": ["main"],
        "WatchdogSec": ["30"],
        "Restart": ["on-failure"],
        "User": ["traderd"],
        "Group": ["traderd"],
        "StateDirectory": ["traderd"],
        "ExecStart": [f"{BINARY} run --config /etc/traderd/traderd.toml"],
        "ExecReload": ["/bin/kill -HUP $MAINPID"],
        "EnvironmentFile": ["-/etc/traderd/traderd.env"],
        "KillMode": ["mixed"],
    }
    assert {key: unit.get(key) for key in expected} == expected
    assert 1 <= int(unit["RestartSec"][0]) <= 30
    assert int(unit["TimeoutStopSec"][0]) >= 30


def test_the_unit_is_hardened_and_writes_only_its_state_directory():
    unit = directives(UNIT.read_text())
    hardening = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectControlGroups": "yes",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        "LockPersonality": "yes",
        "RestrictRealtime": "yes",
        "SystemCallArchitectures": "native",
        "UMask": "0077",
        "CapabilityBoundingSet": "",
    }
    assert {key: unit.get(key) for key in hardening} == {key: [value] for key, value in hardening.items()}
    assert unit["ReadWritePaths"] == ["/var/lib/traderd"]
    assert not {"ReadWriteDirectories", "BindPaths"} & set(unit)
    # The journal writer is a child process: nothing may forbid fork/exec.
    assert "MemoryDenyWriteExecute" not in unit
    for syscall_filter in unit.get("SystemCallFilter", []):
        assert "@process" not in syscall_filter and "@resources" not in syscall_filter
