"""Log lines through the handler and formatter `setup_logging` installs: one JSON object a
line, the bot they are about, and no secret in them."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from config.loader import load_config
from daemon.logs import setup_logging
from daemon.redact import MASK, SECRETS, config_secrets

SECRET = "Zq8/registered+secret@4711"
"""Registered like a secret the config loaded."""

logger = logging.getLogger("tests.daemon.logs")


class Captured:
    """What the daemon's logging wrote, line by line."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def text(self) -> str:
        return self.stream.getvalue()

    def entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text().splitlines()]

    def last(self) -> dict[str, Any]:
        return self.entries()[-1]


def install(fmt: str) -> Captured:
    captured = Captured()
    setup_logging("DEBUG", fmt, stream=captured.stream)
    return captured


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    hooks = sys.excepthook, threading.excepthook
    SECRETS.add([SECRET])
    yield
    SECRETS.clear()
    sys.excepthook, threading.excepthook = hooks
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.fixture
def captured() -> Captured:
    return install("json")


@pytest.mark.parametrize(
    ("message", "args", "secret"),
    [
        ("connecting with %s", (SECRET,), SECRET),
        ("signed with key=%s.", (SECRET,), SECRET),
        ("quoted in a URL: https://h/x?s=%s", (quote(SECRET, safe=""),), "Zq8%2Fregistered"),
        ("request headers %r", ({"Authorization": "Bearer abc.DEF-123_x"},), "abc.DEF-123_x"),
        ("sent Authorization: Bearer %s", ("t0k3n-value",), "t0k3n-value"),
        ("session %s expired", ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJl",), "eyJzdWIiOiJib2IifQ"),
        ("login failed: password=%s", ("hunter2",), "hunter2"),
        ("reply %s", ('{"apiKey": "k-123456", "ok": true}',), "k-123456"),
        ("body %s", ('{"api_key":"k-7890ab"}',), "k-7890ab"),
        ("params %r", ({"secret": "s-111", "passphrase": "p-222"},), "s-111"),
        ("params %r", ({"secret": "s-111", "passphrase": "p-222"},), "p-222"),
        ("connected to %s", ("postgresql+psycopg2://traderd:pg-pass@db/traderd",), "pg-pass"),
        ("callback %s", ("https://h/cb?token=tk-333&x=1",), "tk-333"),
        ("key file private_key=%s", ("-----BEGIN-KEY",), "-----BEGIN-KEY"),
        ("X-MBX-APIKEY: %s", ("mbx-444",), "mbx-444"),
    ],
)
def test_each_kind_of_secret_is_masked_and_the_line_stays_json(captured, message, args, secret):
    logger.warning(message, *args)
    line = captured.text()
    assert secret not in line
    entry = json.loads(line)
    assert MASK in entry["msg"]
    assert entry["msg"].split()[0] == message.split()[0]  # the rest of the line is kept


def test_secrets_in_an_exception_and_in_extras_are_masked(captured):
    try:
        raise RuntimeError(f"exchange rejected api_key {SECRET} with password=pw-555")
    except RuntimeError:
        logger.exception("order failed", extra={"api_secret": "as-666", "request": {"token": "tk-777", "n": 1}})
    text = captured.text()
    for secret in (SECRET, "pw-555", "as-666", "tk-777"):
        assert secret not in text
    entry = captured.last()
    assert "RuntimeError: exchange rejected api_key ***" in entry["exc"]
    assert entry["api_secret"] == MASK
    assert entry["request"] == {"token": MASK, "n": 1}


def test_the_text_format_is_masked_too():
    captured = install("text")
    try:
        raise ValueError(SECRET)
    except ValueError:
        logger.error("with %s", f"Authorization: Bearer {SECRET}", exc_info=True)
    assert SECRET not in captured.text()
    assert "with Authorization: Bearer ***" in captured.text()
    assert "ValueError: ***" in captured.text()


def test_an_uncaught_exception_in_a_thread_is_logged_masked(captured):
    def fail() -> None:
        raise RuntimeError(SECRET)

    thread = threading.Thread(target=fail, name="feed:x")
    thread.start()
    thread.join()
    entry = captured.last()
    assert entry["level"] == "CRITICAL" and entry["msg"] == "uncaught exception in thread feed:x"
    assert entry["exc"].endswith("RuntimeError: ***")
    assert SECRET not in captured.text()


@pytest.mark.parametrize(
    "message",
    [
        "boot step database done in 12 ms",
        "database sqlite:////var/lib/traderd/traderd.sqlite3 at revision 0002",
        "traderd 0.1.0 ready on http://127.0.0.1:8000",
        "order td-7f3a-000123 filled 20 XRP/USDT at 1.05 (fee 0.001)",
        "rate limit: 5 tokens left, retry in 1.5 s",
        "account 'binance': api_key_env = 'BINANCE_API_KEY', api_secret_file = '/etc/traderd/b.secret'",
        "unknown key 'api_secret': paper accounts take no API keys",
        "Current state of bot:7f3a (ident: 140234): File \"a.py\", line 3, in run",
        '{"bot_id": "7f3a", "status": "running", "levels": [1.02, 1.03]}',
    ],
)
def test_ordinary_lines_are_untouched(captured, message):
    logger.info("%s", message)
    assert captured.last()["msg"] == message


def test_a_line_names_the_bot_it_is_about(captured):
    def log_from_a_bot_actor() -> None:
        logger.info("bot restored")

    thread = threading.Thread(target=log_from_a_bot_actor, name="bot:6b1e0c2a")
    thread.start()
    thread.join()
    logger.info("bot stopped by the API", extra={"bot_id": "9d2f"})
    logger.info("boot step bots done")
    from_actor, from_extra, neither = captured.entries()
    assert (from_actor["thread"], from_actor["bot_id"]) == ("bot:6b1e0c2a", "6b1e0c2a")
    assert from_extra["bot_id"] == "9d2f"
    assert "bot_id" not in neither


def test_short_values_are_not_registered(captured):
    SECRETS.add(["1234"])
    logger.info("price 1234")
    assert captured.last()["msg"] == "price 1234"


def test_config_secrets_are_every_secret_the_config_loaded(tmp_path):
    (tmp_path / "password").write_text("pass-phrase-9\n")
    path = tmp_path / "traderd.toml"
    path.write_text(
        '[database]\nurl = "postgresql+psycopg2://traderd:db%40pass@db/traderd"\n'
        '[[accounts]]\nid = "binance"\nexchange = "binance"\n'
        'api_key_env = "KEY"\napi_secret_env = "SECRET"\npassword_file = "password"\n'
    )
    environ = {"KEY": "api-key-1", "SECRET": "api-secret-2", "TRADERD_JWT_SECRET": "j" * 32}
    found = set(config_secrets(load_config(path, environ)))
    assert found == {"api-key-1", "api-secret-2", "pass-phrase-9", "j" * 32, "db@pass"}
