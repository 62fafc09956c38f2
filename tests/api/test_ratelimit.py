"""Rate limits: the sliding window itself, and over real HTTP the auth class per IP, the
general class per user, a per-method class, and the headers API.md names."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import tornado.web
from sqlalchemy import Engine

from api.app import make_app
from api.auth.tokens import TokenIssuer
from api.base import BaseHandler
from api.context import ApiContext
from api.ratelimit import AUTH, BOT_CREATE, GENERAL, Limit, RateLimiter, rate_limit_class
from tests.api.auth_helpers import SECRET, access_token, add_user, bearer, login
from tests.api.conftest import LiveServer, Response
from trading.clock import ManualClock

ME = "/api/v1/auth/me"


class Seconds:
    """A monotonic clock for the limiter that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the window ---------------------------------------------------------------------------


def test_at_most_n_in_any_window_and_refusals_do_not_count():
    clock = Seconds()
    limiter = RateLimiter({AUTH: Limit(5, 60.0)}, now=clock)

    verdicts = []
    for _ in range(5):
        verdicts.append(limiter.hit(AUTH, "ip:1"))
        clock.now += 10
    refused = limiter.hit(AUTH, "ip:1")

    assert [v.remaining for v in verdicts] == [4, 3, 2, 1, 0] and all(v.allowed for v in verdicts)
    assert not refused.allowed and refused.remaining == 0
    assert refused.reset_after_s == pytest.approx(10.0)  # the first hit (t=1000) leaves at t=1060
    assert refused.retry_after_s == 10
    clock.now += 10  # t=1060: the first hit has left, one slot is free
    assert limiter.hit(AUTH, "ip:1").allowed
    assert not limiter.hit(AUTH, "ip:1").allowed


def test_callers_and_classes_count_apart_and_unlimited_classes_are_none():
    limiter = RateLimiter({AUTH: Limit(1, 60.0), GENERAL: Limit(1, 60.0), BOT_CREATE: Limit(0, 3600.0)}, now=Seconds())

    assert limiter.hit(AUTH, "ip:1").allowed
    assert not limiter.hit(AUTH, "ip:1").allowed
    assert limiter.hit(AUTH, "ip:2").allowed
    assert limiter.hit(GENERAL, "ip:1").allowed
    assert limiter.hit(BOT_CREATE, "user:a") is None  # 0: off
    assert limiter.hit("unknown", "user:a") is None


def test_idle_callers_are_forgotten():
    clock = Seconds()
    limiter = RateLimiter({AUTH: Limit(5, 60.0)}, now=clock)
    for n in range(100):
        limiter.hit(AUTH, f"ip:{n}")

    clock.now += 61
    limiter.hit(AUTH, "ip:new")

    assert list(limiter._log) == [(AUTH, "ip:new")]


def test_a_declaration_gives_each_method_its_class():
    assert rate_limit_class("auth", "POST") == "auth"
    assert rate_limit_class(None, "GET") is None
    assert rate_limit_class({"POST": BOT_CREATE}, "post") == BOT_CREATE
    assert rate_limit_class({"POST": BOT_CREATE}, "GET") == GENERAL


# -- over HTTP ------------------------------------------------------------------------------


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(time.time_ns())


def limited_server(engine: Engine, clock: ManualClock, **limits: int) -> LiveServer:
    limiter = RateLimiter.per_api_md(now=lambda: clock.now_ns() / 1e9, **limits)
    context = ApiContext(version="9.9.9", clock=clock, engine=engine, tokens=TokenIssuer(SECRET), rate_limiter=limiter)
    return LiveServer(make_app(context))


@pytest.fixture
def server(engine: Engine, clock: ManualClock) -> Iterator[LiveServer]:
    live = limited_server(engine, clock, general_per_minute=3)
    yield live
    live.close()


def header(reply: Response, name: str) -> str | None:
    return {key.lower(): value for key, value in reply.headers.items()}.get(name.lower())


def test_the_sixth_login_in_a_minute_from_one_ip_is_429_with_retry_after(engine, server, clock):
    add_user(engine, "ada", "trader")

    replies = [login(server, "ada", "wrong") for _ in range(3)] + [login(server, "ada") for _ in range(2)]
    clock.advance(30)
    sixth = login(server, "ada")

    assert [r.status for r in replies] == [401, 401, 401, 200, 200]
    assert [header(r, "X-RateLimit-Remaining") for r in replies] == ["4", "3", "2", "1", "0"]
    assert {header(r, "X-RateLimit-Limit") for r in replies} == {"5"}
    reset = int(header(replies[0], "X-RateLimit-Reset"))
    assert abs(reset - (clock.now_ns() / 1e9 + 30)) <= 1  # epoch seconds when the first leaves
    assert sixth.status == 429
    assert sixth.body["code"] == "RATE_LIMITED" and sixth.body["details"]["retry_after_s"] == 30
    assert header(sixth, "Retry-After") == "30"
    assert header(sixth, "X-RateLimit-Remaining") == "0"
    assert header(sixth, "X-Request-Id")
    # Refresh shares the auth class and the IP's window.
    assert server.request("POST", "/api/v1/auth/refresh", b'{"refresh_token": "x"}').status == 429


def test_the_window_slides_past_and_logins_work_again(engine, server, clock):
    add_user(engine, "ada", "trader")
    for _ in range(5):
        assert login(server, "ada").status == 200
    assert login(server, "ada").status == 429

    clock.advance(60)

    again = login(server, "ada")
    assert again.status == 200 and header(again, "X-RateLimit-Remaining") == "4"


def test_the_general_limit_counts_per_user(engine, server, clock):
    add_user(engine, "ada", "viewer")
    add_user(engine, "bob", "viewer")
    ada, bob = bearer(access_token(server, "ada")), bearer(access_token(server, "bob"))

    ada_replies = [server.request("GET", ME, headers=ada) for _ in range(4)]
    bob_reply = server.request("GET", ME, headers=bob)

    assert [r.status for r in ada_replies] == [200, 200, 200, 429]
    assert [header(r, "X-RateLimit-Remaining") for r in ada_replies] == ["2", "1", "0", "0"]
    assert header(ada_replies[-1], "Retry-After") == "60"
    assert bob_reply.status == 200 and header(bob_reply, "X-RateLimit-Remaining") == "2"
    clock.advance(60)
    assert server.request("GET", ME, headers=ada).status == 200


def test_health_metrics_and_the_document_are_never_limited(server):
    for path in ["/health", "/api/v1/metrics/json", "/api/v1/openapi.json"] * 4:  # 4 > the limit of 3
        reply = server.request("GET", path)
        assert reply.status == 200 and header(reply, "X-RateLimit-Limit") is None, path


class _Bots(BaseHandler):
    """A stand-in for the bots resource: listing is general, creating is `bot_create`."""

    required_role = "trader"
    rate_limit = {"POST": BOT_CREATE}

    def get(self) -> None:
        self.write_json({"items": []})

    def post(self) -> None:
        self.write_json({}, 201)


def test_a_per_method_class_limits_bot_creation_per_hour(engine, clock):
    limiter = RateLimiter.per_api_md(now=lambda: clock.now_ns() / 1e9)
    context = ApiContext(version="9.9.9", clock=clock, engine=engine, tokens=TokenIssuer(SECRET), rate_limiter=limiter)
    app = make_app(context)
    app.add_handlers(r".*", [tornado.web.url(r"/api/v1/bots", _Bots, {"context": context}, name="bots")])
    server = LiveServer(app)
    try:
        add_user(engine, "ada", "trader")
        ada = bearer(access_token(server, "ada"))
        created = [server.request("POST", "/api/v1/bots", b"{}", ada).status for _ in range(11)]
        listed = server.request("GET", "/api/v1/bots", headers=ada)
        clock.advance(3599)
        still = server.request("POST", "/api/v1/bots", b"{}", ada)
        clock.advance(1)
        later = server.request("POST", "/api/v1/bots", b"{}", ada)
    finally:
        server.close()

    assert created == [201] * 10 + [429]
    assert listed.status == 200 and header(listed, "X-RateLimit-Limit") == "1200"
    assert still.status == 429 and header(still, "Retry-After") == "1"
    assert later.status == 201
