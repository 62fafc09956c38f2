"""The served OpenAPI document: valid OpenAPI 3.1, one operation for every declared
route, and true to what the handlers answer."""

from __future__ import annotations

import jsonschema
import pytest
import tornado.web
from openapi_spec_validator import validate

from api.app import make_app
from api.base import BaseHandler
from api.context import ApiContext
from api.endpoint import endpoint, endpoint_of
from api.openapi import Builder, _methods, _named_after_the_handler, openapi_json, split_pattern
from api.routing import route_rules
from api.schemas.common import Money, Page, PageQuery
from tests.api.auth_helpers import add_user, login, serve
from tests.api.conftest import LiveServer

DOCUMENT = "/api/v1/openapi.json"


def fetch_document(server: LiveServer) -> dict:
    reply = server.request("GET", DOCUMENT)
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    return reply.body


def test_the_served_document_is_valid_openapi_3_1_with_every_declared_route(live_server):
    document = fetch_document(live_server)

    validate(document)  # openapi-spec-validator: the 3.1 meta-schema and every $ref
    assert document["openapi"] == "3.1.0" and document["info"]["version"] == "9.9.9"
    app = make_app(ApiContext(version="9.9.9"))
    declared = 0
    for rule in route_rules(app.wildcard_router):
        split = split_pattern(rule.matcher.regex.pattern)
        if isinstance(rule.target, type) and issubclass(rule.target, tornado.web.StaticFileHandler):
            continue
        assert split is not None, rule.name
        path = _named_after_the_handler(rule.target, *split)[0]
        for method in _methods(rule.target):
            operation = document["paths"][path][method]
            assert operation["operationId"] == f"{rule.name}_{method}"
            if endpoint_of(rule.target, method) is not None:
                declared += 1
                assert operation["summary"] == endpoint_of(rule.target, method).summary
    assert declared >= 4  # at least the auth routes: the check above ran on declarations
    assert Builder(app, "9.9.9").problems == []


def test_auth_operations_carry_security_roles_errors_and_rate_limits(live_server):
    paths = fetch_document(live_server)["paths"]

    login_op = paths["/api/v1/auth/login"]["post"]
    assert login_op["security"] == []
    assert set(login_op["requestBody"]["content"]) == {"application/json", "application/x-www-form-urlencoded"}
    assert login_op["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/TokenPair"}
    assert _codes(login_op, "401") == ["INVALID_CREDENTIALS"]
    assert _codes(login_op, "423") == ["ACCOUNT_LOCKED"]
    assert _codes(login_op, "422") == ["VALIDATION_ERROR"]
    assert "INVALID_JSON" in _codes(login_op, "400")
    assert _codes(login_op, "429") == ["RATE_LIMITED"]
    assert "Retry-After" in login_op["responses"]["429"]["headers"]
    assert "X-RateLimit-Remaining" in login_op["responses"]["200"]["headers"]

    me = paths["/api/v1/auth/me"]["get"]
    assert me["security"] == [{"bearerAuth": []}] and me["x-required-role"] == "viewer"
    assert set(_codes(me, "401")) == {"MISSING_TOKEN", "INVALID_TOKEN", "TOKEN_EXPIRED"}
    assert _codes(me, "403") == ["INSUFFICIENT_PERMISSION"]
    assert "requestBody" not in me

    health = paths["/health"]["get"]
    assert health["security"] == [] and "429" not in health["responses"]


def test_a_real_login_answer_fits_its_documented_schema(engine):
    server = serve(engine)
    try:
        add_user(engine, "ada", "trader")
        document = fetch_document(server)
        reply = login(server, "ada")
        wrong = login(server, "ada", "not it")
    finally:
        server.close()

    assert reply.status == 200
    _fits(document, document["paths"]["/api/v1/auth/login"]["post"]["responses"]["200"], reply.body)
    _fits(document, document["paths"]["/api/v1/auth/login"]["post"]["responses"]["401"], wrong.body)
    with pytest.raises(jsonschema.ValidationError):  # the check can fail: an undeclared code
        _fits(document, document["paths"]["/api/v1/auth/login"]["post"]["responses"]["401"], {**wrong.body, "code": "NOPE"})


class _WidgetQuery(PageQuery):
    status: str | None = None


def test_path_parameters_query_models_and_generic_pages_become_parameters_and_schemas():
    from pydantic import BaseModel

    class Widget(BaseModel):
        id: str
        price: Money

    class WidgetsHandler(BaseHandler):
        required_role = "trader"

        @endpoint("List widgets", query=_WidgetQuery, response=Page[Widget], tags=("widgets",))
        def get(self, shop_id: str) -> None:
            pass

        @endpoint("Delete a widget", status=204, errors=("NOT_FOUND",))
        def delete(self, shop_id: str) -> None:
            pass

    app = tornado.web.Application([
        tornado.web.url(r"/api/v1/shops/(?P<shop_id>[0-9a-f-]+)/widgets", WidgetsHandler, name="widgets"),
    ])
    builder = Builder(app, "1")
    document = builder.document
    validate(document)

    assert builder.problems == []
    item = document["paths"]["/api/v1/shops/{shop_id}/widgets"]
    listing = item["get"]
    parameters = {(p["in"], p["name"]): p for p in listing["parameters"]}
    assert parameters[("path", "shop_id")]["schema"] == {"type": "string", "pattern": "^(?:[0-9a-f-]+)$"}
    assert parameters[("query", "limit")]["schema"]["maximum"] == 500
    assert parameters[("query", "status")]["required"] is False
    page = listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    widget = document["components"]["schemas"][page]["properties"]["items"]["items"]["$ref"].rsplit("/", 1)[1]
    assert document["components"]["schemas"][widget]["properties"]["price"]["type"] == "string"  # serialization mode
    assert "content" not in item["delete"]["responses"]["204"]
    assert _codes(item["delete"], "404") == ["NOT_FOUND"]


def test_unnamed_groups_take_the_names_of_the_handler_arguments():
    class OrderHandler(BaseHandler):
        @endpoint("One order")
        def get(self, order_id: str) -> None:
            pass

    app = tornado.web.Application([tornado.web.url(r"/api/v1/orders/([^/]+)", OrderHandler, name="order")])
    operation = Builder(app, "1").document["paths"]["/api/v1/orders/{order_id}"]["get"]

    assert [(p["in"], p["name"]) for p in operation["parameters"]] == [("path", "order_id")]


def test_an_unknown_error_code_is_a_problem_not_a_silent_gap():
    class Odd(BaseHandler):
        @endpoint("Odd", errors=("NO_SUCH_CODE",))
        def get(self) -> None:
            pass

    builder = Builder(tornado.web.Application([tornado.web.url(r"/odd", Odd, name="odd")]), "1")
    assert builder.problems == ["route odd: error code 'NO_SUCH_CODE' is not in API.md's table"]


@pytest.mark.parametrize("pattern,expected", [
    (r"/api/v1/bots/(?P<bot_id>[^/]+)$", ("/api/v1/bots/{bot_id}", [("bot_id", "[^/]+")])),
    (r"/api/v1/openapi.json$", ("/api/v1/openapi.json", [])),
    (r"/api/v1/market/klines/(?P<symbol>[A-Z]+(?:-[A-Z]+)?)$", ("/api/v1/market/klines/{symbol}", [("symbol", "[A-Z]+(?:-[A-Z]+)?")])),
    (r"/things/([0-9]+)/parts/(\w+)$", ("/things/{arg1}/parts/{arg2}", [("arg1", "[0-9]+"), ("arg2", r"\w+")])),
    (r"/a\.b$", ("/a.b", [])),
    (r"/api/v1/docs/?$", None),
    (r"/x/(?:y|z)$", None),
])
def test_split_pattern(pattern, expected):
    assert split_pattern(pattern) == expected


def test_the_document_is_built_once_per_application():
    app = make_app(ApiContext(version="1"))
    assert openapi_json(app, "1") is openapi_json(app, "1")
    assert openapi_json(make_app(ApiContext(version="2")), "2") != openapi_json(app, "1")


def _codes(operation: dict, status: str) -> list[str]:
    return operation["responses"][status]["content"]["application/json"]["schema"]["properties"]["code"]["enum"]


def _fits(document: dict, response: dict, body: object) -> None:
    schema = {**response["content"]["application/json"]["schema"], "components": document["components"]}
    jsonschema.validate(body, schema, cls=jsonschema.Draft202012Validator)

