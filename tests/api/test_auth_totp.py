"""TOTP: the RFC 6238 vectors, drift and replay, and two-factor login over real HTTP with
a manual clock, against a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import base64
import time
import urllib.parse

import pytest
from sqlalchemy import Engine

from api.auth import totp
from storage.sealing import Sealer, new_key_text, parse_key
from storage.users import get_user_by_username
from tests.api.auth_helpers import PASSWORD, access_token, add_user, post_json, send_json, serve
from trading.clock import ManualClock

SETUP = "/api/v1/auth/2fa/setup"
ENABLE = "/api/v1/auth/2fa/enable"
DISABLE = "/api/v1/auth/2fa/disable"
ME = "/api/v1/auth/me"

# RFC 6238 appendix B: SHA1, the ASCII seed "12345678901234567890", 8 digits.
RFC_6238_SHA1 = [
    (59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"),
    (1234567890, "89005924"), (2000000000, "69279037"), (20000000000, "65353130"),
]
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize("unix_s,code", RFC_6238_SHA1)
def test_rfc_6238_vectors(unix_s, code):
    assert totp.hotp(b"12345678901234567890", totp.step_at(unix_s), digits=8) == code
    assert totp.code_at(RFC_SECRET, unix_s) == code[-6:]  # 6 digits: the same number mod 10**6


def test_one_step_of_drift_either_way_and_no_more():
    now = 1_700_000_015.0
    step = totp.step_at(now)
    for drift in (-1, 0, 1):
        assert totp.matching_step(RFC_SECRET, totp.code_at(RFC_SECRET, now + 30 * drift), now) == step + drift
    for drift in (-2, 2):
        assert totp.matching_step(RFC_SECRET, totp.code_at(RFC_SECRET, now + 30 * drift), now) is None
    assert totp.matching_step(RFC_SECRET, "12345", now) is None and totp.matching_step(RFC_SECRET, "abcdef", now) is None


def test_a_step_used_or_older_is_refused():
    now = 1_700_000_015.0
    step = totp.step_at(now)
    code = totp.code_at(RFC_SECRET, now)
    assert totp.matching_step(RFC_SECRET, code, now, after_step=step - 1) == step
    assert totp.matching_step(RFC_SECRET, code, now, after_step=step) is None
    assert totp.matching_step(RFC_SECRET, totp.code_at(RFC_SECRET, now - 30), now, after_step=step) is None


def test_new_secrets_and_the_provisioning_uri():
    secret = totp.new_secret()
    assert len(secret) == 32 and len(base64.b32decode(secret)) == 20 and secret != totp.new_secret()
    uri = urllib.parse.urlsplit(totp.provisioning_uri(secret, "ada"))
    query = dict(urllib.parse.parse_qsl(uri.query))
    assert (uri.scheme, uri.netloc, uri.path) == ("otpauth", "totp", "/traderd:ada")
    assert query == {"secret": secret, "issuer": "traderd", "algorithm": "SHA1", "digits": "6", "period": "30"}


# -- over HTTP ---------------------------------------------------------------------------


@pytest.fixture
def clock() -> ManualClock:
    # Near real time (the token issuer's expiry runs on it), 10 s into a 30 s step.
    return ManualClock(((time.time_ns() // 30_000_000_000) * 30 + 10) * 1_000_000_000)


@pytest.fixture
def protected() -> list[str]:
    return []


@pytest.fixture
def sealer() -> Sealer:
    return Sealer(parse_key(new_key_text()))


@pytest.fixture
def server(engine: Engine, clock, protected, sealer):
    live = serve(engine, clock=clock, sealer=sealer, protect=protected.extend)
    yield live
    live.close()


def _now(clock: ManualClock) -> float:
    return clock.now_ns() / 1e9


def _login(server, code: str | None = None, password: str = PASSWORD):
    body = {"username": "ada", "password": password}
    if code is not None:
        body["totp_code"] = code
    return post_json(server, "/api/v1/auth/login", body)


def _enable(server, clock) -> tuple[str, str]:
    """Two-factor login on for ada; her secret and an access token."""
    token = access_token(server, "ada")
    secret = send_json(server, "POST", SETUP, None, token).body["secret"]
    assert send_json(server, "POST", ENABLE, {"code": totp.code_at(secret, _now(clock))}, token).status == 200
    return secret, token


def test_setup_then_enable_turns_two_factor_login_on(engine, server, clock, protected):
    add_user(engine, "ada", "trader")
    token = access_token(server, "ada")

    setup = send_json(server, "POST", SETUP, None, token)

    assert setup.status == 200, setup.body
    secret = setup.body["secret"]
    assert setup.body["otpauth_uri"] == totp.provisioning_uri(secret, "ada")
    assert (setup.body["digits"], setup.body["period"], setup.body["algorithm"]) == (6, 30, "SHA1")
    assert protected == [secret]  # handed to the log redaction
    # Pending only: login and /me are as before.
    assert _login(server).status == 200
    assert server.request("GET", ME, headers={"Authorization": f"Bearer {token}"}).body["totp_enabled"] is False

    wrong = send_json(server, "POST", ENABLE, {"code": totp.code_at(secret, _now(clock) + 300)}, token)
    right = send_json(server, "POST", ENABLE, {"code": totp.code_at(secret, _now(clock))}, token)

    assert wrong.status == 401 and wrong.body["code"] == "INVALID_CREDENTIALS"
    assert right.status == 200 and right.body == {"success": True, "totp_enabled": True, "message": "two-factor login is on"}
    me = server.request("GET", ME, headers={"Authorization": f"Bearer {token}"}).body
    assert me["totp_enabled"] is True and "totp_secret" not in me and secret not in str(me)


def test_the_secret_is_stored_sealed(engine, server, clock):
    add_user(engine, "ada", "trader")
    secret, _ = _enable(server, clock)
    stored = get_user_by_username(engine, "ada")

    assert stored.totp_secret.startswith("sealed:") and secret not in stored.totp_secret
    assert stored.totp_pending is None and stored.totp_last_step == totp.step_at(_now(clock))


def test_login_needs_a_current_unused_code(engine, server, clock):
    add_user(engine, "ada", "trader")
    secret, _ = _enable(server, clock)
    enable_code = totp.code_at(secret, _now(clock))

    missing = _login(server)
    replayed = _login(server, enable_code)  # the step enable spent

    assert missing.status == 401 and missing.body["code"] == "INVALID_CREDENTIALS"
    assert missing.body["details"] == {"totp_required": True}
    assert replayed.status == 401 and replayed.body["details"] == {"totp_required": True}
    assert get_user_by_username(engine, "ada").failed_logins == 2  # each counts as a failed login

    clock.advance(30)
    code = totp.code_at(secret, _now(clock))
    first = _login(server, code)
    again = _login(server, code)

    assert first.status == 200, first.body
    assert first.body["user"]["totp_enabled"] is True
    assert again.status == 401  # the same code twice, within its window
    assert _login(server, code, password="not the password").status == 401  # the code does not stand in for it


def test_one_step_of_clock_drift_is_accepted_and_two_are_not(engine, server, clock):
    add_user(engine, "ada", "trader")
    secret, _ = _enable(server, clock)

    clock.advance(30)
    ahead = _login(server, totp.code_at(secret, _now(clock) + 30))  # the phone runs 30 s fast
    clock.advance(90)
    behind = _login(server, totp.code_at(secret, _now(clock) - 30))  # ... and then 30 s slow
    clock.advance(120)
    too_far = [_login(server, totp.code_at(secret, _now(clock) + drift)).status for drift in (-60, 60)]

    assert ahead.status == 200 and behind.status == 200
    assert too_far == [401, 401]


def test_five_wrong_codes_lock_the_user(engine, server, clock):
    add_user(engine, "ada", "trader")
    secret, _ = _enable(server, clock)
    clock.advance(30)
    wrong = totp.code_at(secret, _now(clock) + 600)

    statuses = [_login(server, wrong).status for _ in range(5)]

    assert statuses == [401, 401, 401, 401, 423]
    assert _login(server, totp.code_at(secret, _now(clock))).status == 423


def test_disable_with_a_code_or_the_password(engine, server, clock):
    add_user(engine, "ada", "trader")
    secret, token = _enable(server, clock)
    clock.advance(30)

    wrong = send_json(server, "POST", DISABLE, {"code": totp.code_at(secret, _now(clock) + 600)}, token)
    wrong_password = send_json(server, "POST", DISABLE, {"password": "not the password"}, token)
    nothing = send_json(server, "POST", DISABLE, {}, token)
    by_code = send_json(server, "POST", DISABLE, {"code": totp.code_at(secret, _now(clock))}, token)

    assert wrong.status == 401 and wrong_password.status == 401 and nothing.status == 422
    assert by_code.status == 200 and by_code.body["totp_enabled"] is False
    assert _login(server).status == 200  # no code needed any more
    assert send_json(server, "POST", DISABLE, {"password": PASSWORD}, token).status == 409  # off already

    secret, token = _enable(server, clock)
    assert send_json(server, "POST", DISABLE, {"password": PASSWORD}, token).status == 200
    stored = get_user_by_username(engine, "ada")
    assert (stored.totp_secret, stored.totp_pending, stored.totp_last_step) == (None, None, None)


def test_setup_and_enable_out_of_order_are_409(engine, server, clock):
    add_user(engine, "ada", "trader")
    token = access_token(server, "ada")

    early = send_json(server, "POST", ENABLE, {"code": "123456"}, token)
    _, token = _enable(server, clock)
    again = send_json(server, "POST", SETUP, None, token)
    malformed = send_json(server, "POST", ENABLE, {"code": "12ab56"}, token)

    assert early.status == 409 and early.body["code"] == "CONFLICT"
    assert again.status == 409 and again.body["code"] == "CONFLICT"
    assert malformed.status == 422


def test_without_a_key_the_secret_is_stored_as_is_and_a_sealed_one_needs_the_key(engine, clock):
    add_user(engine, "ada", "trader")
    add_user(engine, "bob", "trader")
    keyed = serve(engine, clock=clock, sealer=Sealer(parse_key(new_key_text())))
    keyless = serve(engine, clock=clock)
    try:
        ada_secret, _ = _enable(keyed, clock)  # sealed
        bob_token = access_token(keyless, "bob")
        bob_secret = send_json(keyless, "POST", SETUP, None, bob_token).body["secret"]
        assert send_json(keyless, "POST", ENABLE, {"code": totp.code_at(bob_secret, _now(clock))}, bob_token).status == 200
        clock.advance(30)

        no_key = _login(keyless, totp.code_at(ada_secret, _now(clock)))
        bob = post_json(keyless, "/api/v1/auth/login",
                        {"username": "bob", "password": PASSWORD, "totp_code": totp.code_at(bob_secret, _now(clock))})
        with_key = _login(keyed, totp.code_at(ada_secret, _now(clock)))
    finally:
        keyed.close()
        keyless.close()

    assert get_user_by_username(engine, "bob").totp_secret == bob_secret
    assert no_key.status == 503 and no_key.body["code"] == "ENCRYPTION_KEY_MISSING"
    assert bob.status == 200 and with_key.status == 200
