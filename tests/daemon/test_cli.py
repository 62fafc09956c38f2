"""The `traderd` command line, run as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from api.auth.passwords import verify_password
from storage.database import make_engine
from storage.models import UserRow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "examples" / "paper.toml"
MALFORMED = sorted((ROOT / "tests" / "config" / "malformed").glob("*.toml"))


def traderd(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TRADERD_")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "daemon", *args],
        capture_output=True, text=True, timeout=60, env=environment, input=stdin, cwd=ROOT,
    )


def test_check_config_accepts_the_example():
    result = traderd("check-config", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert "ok (1 accounts, 2 feeds, 2 bots)" in result.stdout


@pytest.mark.parametrize("path", MALFORMED, ids=lambda path: path.stem)
def test_check_config_rejects_a_malformed_file_with_one_line_and_exit_2(path: Path):
    expected = path.read_text(encoding="utf-8").splitlines()[0].removeprefix("# expect: ")
    result = traderd("check-config", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"traderd: {path}: ")
    assert expected in lines[0]


def test_check_config_names_a_missing_file():
    result = traderd("check-config", "/nonexistent/traderd.toml")
    assert result.returncode == 2
    assert "/nonexistent/traderd.toml" in result.stderr and "cannot read" in result.stderr


def test_user_add_creates_a_user_with_a_hashed_password(tmp_path):
    password_file = tmp_path / "password"
    password_file.write_text("correct horse battery\n")
    env = {"TRADERD_STATE_DIR": str(tmp_path / "state")}
    result = traderd("user", "add", "alice", "--role", "admin", "--config", str(EXAMPLE),
                     "--password-file", str(password_file), env=env)
    assert result.returncode == 0, result.stderr
    assert "created admin 'alice'" in result.stdout

    engine = make_engine(f"sqlite:///{tmp_path / 'state' / 'traderd.sqlite3'}")
    try:
        with engine.connect() as connection:
            user = connection.execute(select(UserRow).where(UserRow.username == "alice")).one()
    finally:
        engine.dispose()
    assert user.role == "admin"
    assert "correct horse" not in user.password_hash
    assert verify_password("correct horse battery", user.password_hash)

    again = traderd("user", "add", "alice", "--config", str(EXAMPLE),
                    "--password-file", str(password_file), env=env)
    assert again.returncode == 2
    assert "username 'alice' is taken" in again.stderr


def test_user_add_refuses_a_short_password_and_a_missing_terminal(tmp_path):
    short = tmp_path / "short"
    short.write_text("abc\n")
    env = {"TRADERD_STATE_DIR": str(tmp_path / "state")}
    weak = traderd("user", "add", "bob", "--config", str(EXAMPLE), "--password-file", str(short), env=env)
    assert weak.returncode == 2 and "at least 10 characters" in weak.stderr
    no_tty = traderd("user", "add", "bob", "--config", str(EXAMPLE), env=env, stdin="")
    assert no_tty.returncode == 2 and "--password-file" in no_tty.stderr


def test_db_upgrade_reports_the_revision(tmp_path):
    env = {"TRADERD_STATE_DIR": str(tmp_path / "state")}
    result = traderd("db", "upgrade", "--config", str(EXAMPLE), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("database is at revision ")
    assert (tmp_path / "state" / "traderd.sqlite3").exists()
