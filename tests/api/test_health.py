"""`/health/ready`, `/health/detailed` and `/system/actors` over real HTTP, against real
actors (the daemon's journal, risk, paper exchange and a feed) and a real database."""

from __future__ import annotations

import os
import queue
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pykka
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from actors.reply import FutureReply
from actors.risk import exchange_name
from actors.supervisor import ChildSpec, RestartPolicy, StopChild
from api.bridge import ActorGateway
from storage.database import make_engine
from storage.migrate import upgrade
from storage.scratch import throwaway_postgres_database
from tests.actors.helpers import Worker
from tests.actors.trading_stack import ACCOUNT, TradingStack
from tests.api.auth_helpers import access_token, add_user, bearer, serve
from tests.api.conftest import LiveServer
from tests.api.tcp_proxy import TcpProxy
from tests.conftest import POSTGRES_URL_VARIABLE
from trading.venues.paper_markets import paper_market
from tests.waiting import eventually

XRP = paper_market("XRP/USDT", maker_fee=Decimal("0.001"), taker_fee=Decimal("0.001"))
EXCHANGE = exchange_name(ACCOUNT)


def start_stack(engine: Engine, scheduler, bus) -> tuple[TradingStack, str]:
    stack = TradingStack(engine, scheduler, bus, markets={"XRP/USDT": XRP}, balances={"USDT": Decimal("100")})
    return stack, stack.add_feed("XRP/USDT")


def gateway(stack: TradingStack, feed: str) -> ActorGateway:
    """What `daemon.api_wiring` builds, for this stack."""

    def tell_supervisor(message: Any) -> bool:
        try:
            stack.root.tell(message)
        except pykka.ActorDeadError:
            return False
        return True

    return ActorGateway(
        tell=stack.directory.tell,
        tell_supervisor=tell_supervisor,
        exchanges={ACCOUNT: EXCHANGE},
        feeds={"xrp": feed},
        critical=frozenset({"journal", "risk", EXCHANGE, feed}),
        timeout_s=1.0,
    )


@pytest.fixture
def stack(engine: Engine, scheduler, bus) -> tuple[TradingStack, str]:
    return start_stack(engine, scheduler, bus)


@pytest.fixture
def server(engine: Engine, stack) -> Iterator[LiveServer]:
    live = serve(engine, actors=gateway(*stack))
    yield live
    live.close()


def test_ready_is_200_with_every_component_ok(stack, server):
    trading, feed = stack
    assert server.request("GET", "/health/ready").body["components"]["feeds"]["feeds"]["xrp"]["last_event_age_s"] is None
    trading.publish(feed, "1.05")

    reply = server.request("GET", "/health/ready")

    assert reply.status == 200, reply.body
    assert reply.body["status"] == "ready"
    components = reply.body["components"]
    assert components["database"]["status"] == "ok" and components["database"]["latency_ms"] >= 0
    assert components["exchanges"] == {"status": "ok", "accounts": {ACCOUNT: {"status": "ok", "ready": True}}}
    xrp = components["feeds"]["feeds"]["xrp"]
    assert xrp["status"] == "ok" and xrp["events"] == 1 and xrp["subscribers"] == 1
    assert 0 <= xrp["last_event_age_s"] < 5
    assert components["actors"]["status"] == "ok" and components["actors"]["gave_up"] == []
    assert components["actors"]["running"] == components["actors"]["total"] == 4


def test_ready_is_503_when_an_exchange_actor_is_gone(stack, server):
    trading, _ = stack
    stopped = FutureReply()
    trading.root.tell(StopChild(name=EXCHANGE, reply=stopped))
    assert stopped.wait(5) is True

    reply = server.request("GET", "/health/ready")

    assert reply.status == 503
    assert reply.body["status"] == "not_ready"
    components = reply.body["components"]
    assert components["exchanges"]["accounts"][ACCOUNT] == {"status": "down", "ready": False, "error": "not running"}
    assert components["actors"]["failing"] == {EXCHANGE: "missing"}
    assert components["database"]["status"] == "ok"


def test_a_given_up_bot_is_reported_but_the_daemon_stays_ready(stack, server):
    trading, _ = stack
    trading.start(ChildSpec("bot:doomed", Worker, {"log": queue.Queue(), "fail_on_start": True},
                            policy=RestartPolicy(max_restarts=0)))

    actors = eventually(lambda: (b := server.request("GET", "/health/ready").body)["components"]["actors"]["gave_up"] and b)

    assert actors["status"] == "ready"
    assert actors["components"]["actors"]["gave_up"] == ["bot:doomed"]


def test_admin_routes_need_an_admin(engine, server):
    add_user(engine, "root", "admin")
    add_user(engine, "vera", "viewer")
    admin, viewer = access_token(server, "root"), access_token(server, "vera")

    for path in ("/health/detailed", "/api/v1/system/actors"):
        assert server.request("GET", path).body["code"] == "MISSING_TOKEN"
        assert server.request("GET", path).status == 401
        refused = server.request("GET", path, headers=bearer(viewer))
        assert refused.status == 403 and refused.body["code"] == "INSUFFICIENT_PERMISSION"
        assert server.request("GET", path, headers=bearer(admin)).status == 200, path


def test_system_actors_shows_the_supervision_tree(engine, stack, server):
    add_user(engine, "root", "admin")
    _, feed = stack

    tree = server.request("GET", "/api/v1/system/actors", headers=bearer(access_token(server, "root"))).body

    assert tree["name"] == "supervisor" and tree["state"] == "running"
    children = {child["name"]: child for child in tree["children"]}
    assert set(children) == {"journal", "risk", EXCHANGE, feed}
    assert children[EXCHANGE] == {
        "name": EXCHANGE, "state": "running", "restarts": 0, "mailbox_depth": children[EXCHANGE]["mailbox_depth"],
        "last_error": None, "critical": True,
    }
    assert all(isinstance(child["mailbox_depth"], int) for child in children.values())


def test_detailed_health_adds_version_uptime_journal_and_actors(engine, stack, server):
    add_user(engine, "root", "admin")

    body = server.request("GET", "/health/detailed", headers=bearer(access_token(server, "root"))).body

    assert body["status"] == "ready" and body["version"] == "9.9.9" and body["uptime_s"] >= 0
    assert set(body["components"]) == {"database", "exchanges", "feeds", "actors"}
    assert body["journal"] == {"status": "ok", "backlog": 0, "last_event_id": 0, "failed_flushes": 0, "last_error": None}
    assert {actor["name"]: actor["state"] for actor in body["actors"]}["journal"] == "running"


# -- the database going away and coming back ------------------------------------------------


@pytest.mark.postgres
@pytest.mark.skipif(
    not os.environ.get(POSTGRES_URL_VARIABLE),
    reason=f"needs PostgreSQL: set {POSTGRES_URL_VARIABLE} (SQLite keeps its file open, so it cannot be cut off reliably)",
)
def test_ready_is_503_while_the_database_is_unreachable_and_200_when_it_returns(scheduler, bus):
    with throwaway_postgres_database(os.environ[POSTGRES_URL_VARIABLE]) as url:
        direct = make_engine(url)
        upgrade(direct)
        target = make_url(url)
        proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432).start()
        through_proxy = make_engine(target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
        trading, feed = start_stack(direct, scheduler, bus)
        server = serve(through_proxy, actors=gateway(trading, feed))
        try:
            up = server.request("GET", "/health/ready")
            assert up.status == 200, up.body

            proxy.stop()
            down = server.request("GET", "/health/ready")
            assert down.status == 503
            assert down.body["status"] == "not_ready"
            assert down.body["components"]["database"]["status"] == "down"
            assert down.body["components"]["database"]["error"] == "OperationalError"
            assert down.body["components"]["exchanges"]["status"] == "ok"  # only the database is out

            proxy.start()
            back = server.request("GET", "/health/ready")
            assert back.status == 200, back.body
            assert back.body["components"]["database"]["status"] == "ok"
        finally:
            server.close()
            proxy.stop()
            pykka.ActorRegistry.stop_all(block=True, timeout=5)
            through_proxy.dispose()
            direct.dispose()
