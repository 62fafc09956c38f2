"""The JWT secret: configured, or generated once into a 0600 file and reused."""

from __future__ import annotations

import logging
import stat

import pytest

from api.auth.secret import SECRET_FILENAME, jwt_secret


def test_without_a_configured_secret_one_is_made_once_0600_and_reused(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="api.auth.secret")

    first = jwt_secret(None, tmp_path / "state")
    second = jwt_secret(None, tmp_path / "state")

    path = tmp_path / "state" / SECRET_FILENAME
    assert first == second == path.read_bytes()
    assert len(first) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [r.getMessage() for r in caplog.records if "generated" in r.getMessage()] != []
    assert all(first.hex() not in r.getMessage() and repr(first) not in r.getMessage() for r in caplog.records)


def test_a_configured_secret_wins_and_no_file_is_made(tmp_path):
    assert jwt_secret("x" * 40, tmp_path) == b"x" * 40
    assert not (tmp_path / SECRET_FILENAME).exists()


def test_a_secret_file_readable_by_others_is_made_private(tmp_path):
    path = tmp_path / SECRET_FILENAME
    path.write_bytes(b"k" * 64)
    path.chmod(0o644)

    assert jwt_secret(None, tmp_path) == b"k" * 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_truncated_secret_file_is_refused(tmp_path):
    (tmp_path / SECRET_FILENAME).write_bytes(b"short")
    with pytest.raises(ValueError, match="at least 32"):
        jwt_secret(None, tmp_path)
