"""The API's skeleton over real HTTP: health, request ids, the error shape."""

from __future__ import annotations

import re
from datetime import datetime

import tornado.web

from api.base import BaseHandler, NotFoundHandler
from tests.api.conftest import LiveServer


def test_health_answers_with_version_uptime_and_a_utc_timestamp(live_server):
    reply = live_server.request("GET", "/health")
    assert reply.status == 200
    assert reply.body["status"] == "healthy"
    assert reply.body["version"] == "9.9.9"
    assert reply.body["uptime_s"] >= 0
    assert reply.body["timestamp"].endswith("Z")
    datetime.fromisoformat(reply.body["timestamp"].replace("Z", "+00:00"))
    assert reply.headers["Content-Type"].startswith("application/json")


def test_every_response_carries_a_request_id_and_echoes_a_sane_one(live_server):
    made = live_server.request("GET", "/health").headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert live_server.request("GET", "/health").headers["X-Request-Id"] != made
    echoed = live_server.request("GET", "/health", headers={"X-Request-Id": "client-42"})
    assert echoed.headers["X-Request-Id"] == "client-42"
    hostile = live_server.request("GET", "/health", headers={"X-Request-Id": "bad id\twith tabs"})
    assert hostile.headers["X-Request-Id"] != "bad id\twith tabs"


def test_unknown_path_is_a_404_in_the_error_shape(live_server):
    reply = live_server.request("GET", "/api/v1/nothing-here")
    assert reply.status == 404
    assert reply.body == {"code": "NOT_FOUND", "message": "no route for /api/v1/nothing-here", "details": {}}
    assert "X-Request-Id" in reply.headers


def test_a_path_inside_a_route_section_that_no_route_of_it_takes_is_a_404(live_server):
    reply = live_server.request("GET", "/api/v1/bots/some-id/no-such-action")
    assert reply.status == 404
    assert reply.body["code"] == "NOT_FOUND"
    assert live_server.request("GET", "/health/ready").status != 404  # a later section still answers


def test_wrong_method_is_a_405_with_allow(live_server):
    reply = live_server.request("POST", "/health", body=b"{}")
    assert reply.status == 405
    assert reply.body["code"] == "METHOD_NOT_ALLOWED"
    assert reply.headers["Allow"] == "GET"
    assert "Traceback" not in str(reply.body)


class _Exploding(BaseHandler):
    def get(self) -> None:
        raise RuntimeError("secret internals: password=hunter2")


class _Echo(BaseHandler):
    def post(self) -> None:
        self.write_json({"got": self.json_body()})


def test_failures_inside_handlers_keep_the_shape_and_hide_internals():
    app = tornado.web.Application(
        [("/boom", _Exploding), ("/echo", _Echo)], default_handler_class=NotFoundHandler
    )
    server = LiveServer(app)
    try:
        boom = server.request("GET", "/boom")
        assert boom.status == 500
        assert boom.body == {"code": "INTERNAL_ERROR", "message": "Internal Server Error", "details": {}}
        assert "hunter2" not in str(boom.body)

        bad = server.request("POST", "/echo", body=b"{not json")
        assert bad.status == 400
        assert bad.body["code"] == "INVALID_JSON"

        good = server.request("POST", "/echo", body=b'{"price": "0.00125"}')
        assert good.status == 200 and good.body == {"got": {"price": "0.00125"}}
    finally:
        server.close()
