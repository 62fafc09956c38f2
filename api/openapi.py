"""The OpenAPI 3.1 document at `/api/v1/openapi.json`, generated from the route table.

Each route's pattern becomes a path (`(?P<bot_id>[^/]+)` -> `{bot_id}`), each handler
method with an `@endpoint` declaration an operation: its body, query and response models
become JSON schemas (pydantic's, the ones the handler validates with) in
`components/schemas`; its errors, the role of its handler and its rate-limit class become
error responses in API.md's shape. Routes without a declaration (health, metrics, the
WebSocket) get a hand-written operation below, or a minimal one.

The document is built once per application, on first request, when the table is complete.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pydantic
import tornado.routing
import tornado.web
from pydantic.json_schema import models_json_schema

from api.base import BaseHandler
from api.endpoint import Endpoint, endpoint_of
from api.errors import ERROR_STATUSES
from api.ratelimit import rate_limit_class
from api.routing import route_rules

logger = logging.getLogger(__name__)

OPENAPI_VERSION = "3.1.0"
REF_TEMPLATE = "#/components/schemas/{model}"
METHODS = ("get", "put", "post", "patch", "delete")
BEARER = "bearerAuth"
TOKEN_ERRORS = ("MISSING_TOKEN", "INVALID_TOKEN", "TOKEN_EXPIRED")

_documents: weakref.WeakKeyDictionary[tornado.web.Application, bytes] = weakref.WeakKeyDictionary()


class OpenApiHandler(BaseHandler):
    """The document, built on the first request and served from memory after."""

    rate_limit = None

    def get(self) -> None:
        self.set_header("Cache-Control", "no-cache")
        self.finish(openapi_json(self.application, self.context.version if self.context else "0"))


def openapi_json(app: tornado.web.Application, version: str) -> bytes:
    """The document of `app`, serialised; built once per application."""
    document = _documents.get(app)
    if document is None:
        builder = Builder(app, version)
        for problem in builder.problems:
            logger.warning("OpenAPI document: %s", problem)
        document = _documents[app] = json.dumps(builder.document, separators=(",", ":")).encode()
    return document


@dataclass
class Route:
    """One rule of the table, as OpenAPI sees it."""

    name: str
    path: str
    handler: type[tornado.web.RequestHandler]
    params: list[tuple[str, str]]
    """Path parameters in order: (name, the group's regex)."""


@dataclass
class Builder:
    """Builds the document of one application; `problems` lists what it could not
    document (a test keeps that list empty)."""

    app: tornado.web.Application
    version: str
    problems: list[str] = field(default_factory=list)
    document: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        routes = list(self._routes())
        schemas = self._model_schemas(routes)
        paths: dict[str, dict[str, Any]] = {}
        for route in routes:
            item = paths.setdefault(route.path, {})
            for method in _methods(route.handler):
                declared = endpoint_of(route.handler, method)
                if declared is not None:
                    item[method] = self._operation(route, method, declared, schemas)
                else:
                    item[method] = self._undeclared_operation(route, method)
        self.document = {
            "openapi": OPENAPI_VERSION,
            "info": {
                "title": "traderd",
                "version": self.version,
                "description": _INFO,
            },
            "paths": paths,
            "components": {
                "schemas": {**schemas.components, **_ERROR_SCHEMAS},
                "securitySchemes": {BEARER: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
                "headers": _HEADERS,
            },
        }

    # -- routes --------------------------------------------------------------------------

    def _routes(self) -> Iterator[Route]:
        for rule in route_rules(self.app.wildcard_router):
            handler = rule.target
            regex = getattr(rule.matcher, "regex", None)
            if not isinstance(handler, type) or regex is None:
                self.problems.append(f"rule {rule.name or rule.matcher!r} is not a handler class on a path")
                continue
            if issubclass(handler, tornado.web.StaticFileHandler):
                continue  # files (the Swagger UI's assets), not API operations
            split = split_pattern(regex.pattern)
            if split is None:
                self.problems.append(f"route {rule.name or regex.pattern}: pattern {regex.pattern!r} is no plain path")
                continue
            path, params = _named_after_the_handler(handler, *split)
            yield Route(rule.name or _name_of(path), path, handler, params)

    # -- schemas -------------------------------------------------------------------------

    def _model_schemas(self, routes: list[Route]) -> _Schemas:
        wanted: list[tuple[type[pydantic.BaseModel], str]] = []
        others: list[tuple[Any, str]] = []
        for route in routes:
            for method in _methods(route.handler):
                declared = endpoint_of(route.handler, method)
                if declared is None:
                    continue
                for model, mode in ((declared.body, "validation"), (declared.query, "validation"),
                                    (declared.response, "serialization")):
                    if model is None:
                        continue
                    if isinstance(model, type) and issubclass(model, pydantic.BaseModel):
                        if (model, mode) not in wanted:
                            wanted.append((model, mode))
                    else:
                        others.append((model, mode))
        refs, defs = models_json_schema(wanted, ref_template=REF_TEMPLATE) if wanted else ({}, {})
        schemas = _Schemas(dict(refs), dict(defs.get("$defs", {})))
        for annotation, mode in others:  # list[Model] and the like
            schema = pydantic.TypeAdapter(annotation).json_schema(mode=mode, ref_template=REF_TEMPLATE)  # type: ignore[arg-type]
            for name, definition in schema.pop("$defs", {}).items():
                schemas.components.setdefault(name, definition)
            schemas.refs[(annotation, mode)] = schema
        return schemas

    # -- operations ----------------------------------------------------------------------

    def _operation(self, route: Route, method: str, declared: Endpoint, schemas: _Schemas) -> dict[str, Any]:
        role = getattr(route.handler, "required_role", None)
        limited = rate_limit_class(getattr(route.handler, "rate_limit", None), method) is not None
        operation: dict[str, Any] = {
            "operationId": f"{route.name}_{method}",
            "summary": declared.summary,
            "tags": list(declared.tags) or [_tag_of(route.path)],
            "parameters": self._path_parameters(route) + self._query_parameters(route, declared, schemas),
        }
        description = declared.description
        if role is not None:
            description = f"{description}\n\nNeeds the `{role}` role or higher.".strip()
        if description:
            operation["description"] = description
        if declared.body is not None:
            body_schema = schemas.refs[(declared.body, "validation")]
            content = {"application/json": {"schema": body_schema}}
            if declared.form:
                content["application/x-www-form-urlencoded"] = {"schema": body_schema}
            operation["requestBody"] = {"required": True, "content": content}
        success: dict[str, Any] = {"description": _STATUS_TEXT.get(declared.status, "Success")}
        if declared.status != 204:
            schema = schemas.refs[(declared.response, "serialization")] if declared.response is not None else {}
            success["content"] = {"application/json": {"schema": schema}}
        success["headers"] = _response_headers(limited)
        codes = list(declared.errors)
        if role is not None:
            codes += [*TOKEN_ERRORS, "INSUFFICIENT_PERMISSION"]
        if declared.body is not None:
            codes += ["INVALID_JSON", "BAD_REQUEST", "VALIDATION_ERROR"]
        if declared.query is not None:
            codes.append("VALIDATION_ERROR")
        if limited:
            codes.append("RATE_LIMITED")
        codes.append("INTERNAL_ERROR")
        operation["responses"] = {str(declared.status): success, **self._error_responses(route, codes, limited)}
        operation["security"] = [{BEARER: []}] if role is not None else []
        if role is not None:
            operation["x-required-role"] = role
        operation.update(getattr(declared, "extra", {}) or {})
        return operation

    def _error_responses(self, route: Route, codes: list[str], limited: bool) -> dict[str, Any]:
        by_status: dict[int, list[str]] = {}
        for code in codes:
            status = ERROR_STATUSES.get(code)
            if status is None:
                self.problems.append(f"route {route.name}: error code {code!r} is not in API.md's table")
                continue
            if code not in by_status.setdefault(status, []):
                by_status[status].append(code)
        responses = {}
        for status in sorted(by_status):
            response: dict[str, Any] = {
                "description": ", ".join(by_status[status]),
                "content": {"application/json": {"schema": _error_schema(by_status[status])}},
                "headers": _response_headers(limited and status == 429, retry_after=status == 429),
            }
            responses[str(status)] = response
        return responses

    def _path_parameters(self, route: Route) -> list[dict[str, Any]]:
        parameters = []
        for name, regex in route.params:
            schema: dict[str, Any] = {"type": "string"}
            if "(" not in regex:
                schema["pattern"] = f"^(?:{regex})$"
            parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
        return parameters

    def _query_parameters(self, route: Route, declared: Endpoint, schemas: _Schemas) -> list[dict[str, Any]]:
        if declared.query is None:
            return []
        schema = schemas.resolve(schemas.refs[(declared.query, "validation")])
        required = set(schema.get("required", ()))
        parameters = []
        for name, property_schema in schema.get("properties", {}).items():
            parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": property_schema}
            if "description" in property_schema:
                parameter["description"] = property_schema["description"]
            parameters.append(parameter)
        return parameters

    def _undeclared_operation(self, route: Route, method: str) -> dict[str, Any]:
        """A hand-written operation for the known routes without `@endpoint`, else the
        least that is true of any route: its role and API.md's error shape."""
        role = getattr(route.handler, "required_role", None)
        known = _HAND_WRITTEN.get((route.name, method))
        doc = (route.handler.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        operation: dict[str, Any] = {
            "operationId": f"{route.name}_{method}",
            "summary": doc.split(". ")[0][:120] or f"{method.upper()} {route.path}",
            "tags": [_tag_of(route.path)],
            "parameters": self._path_parameters(route),
        }
        if doc:
            operation["description"] = doc
        responses: dict[str, Any] = {"200": {"description": "Success", "content": {"application/json": {"schema": {}}}}}
        if known is not None:
            operation.update({key: value for key, value in known.items() if key != "responses"})
            responses = dict(known.get("responses", responses))
        if issubclass(route.handler, BaseHandler):
            codes = [*TOKEN_ERRORS, "INSUFFICIENT_PERMISSION"] if role is not None else []
            limited = rate_limit_class(getattr(route.handler, "rate_limit", None), method) is not None
            if limited:
                codes.append("RATE_LIMITED")
            for status, response in self._error_responses(route, [*codes, "INTERNAL_ERROR"], limited).items():
                responses.setdefault(status, response)
        operation["responses"] = responses
        operation["security"] = [{BEARER: []}] if role is not None else []
        if role is not None:
            operation["x-required-role"] = role
        return operation


@dataclass
class _Schemas:
    refs: dict[tuple[Any, str], dict[str, Any]]
    components: dict[str, Any]

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        if ref is None:
            return schema
        return self.components[ref.rsplit("/", 1)[1]]


def split_pattern(pattern: str) -> tuple[str, list[tuple[str, str]]] | None:
    """`/api/v1/bots/(?P<bot_id>[^/]+)$` -> (`/api/v1/bots/{bot_id}`, [("bot_id", "[^/]+")]);
    None for a pattern that is not a plain path with groups."""
    pattern = pattern.removeprefix("^").removesuffix("$")
    out: list[str] = []
    params: list[tuple[str, str]] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(pattern[i + 1])
            i += 2
        elif char == "(":
            end = _group_end(pattern, i)
            if end is None:
                return None
            inner = pattern[i + 1:end]
            named = re.match(r"\?P<(\w+)>", inner)
            if named is not None:
                params.append((named.group(1), inner[named.end():]))
            elif inner.startswith("?"):
                return None
            else:
                params.append((f"arg{len(params) + 1}", inner))
            out.append("{" + params[-1][0] + "}")
            i = end + 1
        elif char in "*+?[]|{}^$":
            return None
        else:
            out.append(char)  # a bare "." in a route means a dot
            i += 1
    return "".join(out), params


def _named_after_the_handler(
    handler: type[tornado.web.RequestHandler], path: str, params: list[tuple[str, str]]
) -> tuple[str, list[tuple[str, str]]]:
    """Unnamed groups (`/orders/([^/]+)`) take the names of the handler method's
    arguments (`get(self, order_id)`), as Tornado passes them positionally."""
    if not any(re.fullmatch(r"arg\d+", name) for name, _ in params):
        return path, params
    for method in _methods(handler):
        arguments = [
            parameter.name for parameter in list(inspect.signature(getattr(handler, method)).parameters.values())[1:]
            if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
        ]
        if len(arguments) >= len(params):
            renamed = []
            for (name, regex), argument in zip(params, arguments):
                if re.fullmatch(r"arg\d+", name):
                    path = path.replace("{" + name + "}", "{" + argument + "}", 1)
                    name = argument
                renamed.append((name, regex))
            return path, renamed
    return path, params


def _group_end(pattern: str, start: int) -> int | None:
    depth, in_class, i = 0, False, start
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _methods(handler: type[tornado.web.RequestHandler]) -> list[str]:
    base = tornado.web.RequestHandler
    return [method for method in METHODS if getattr(handler, method, None) is not getattr(base, method)]


def _name_of(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "root"


def _tag_of(path: str) -> str:
    parts = [part for part in path.removeprefix("/api/v1").split("/") if part and not part.startswith("{")]
    return parts[0] if parts else "root"


def _error_schema(codes: list[str]) -> dict[str, Any]:
    return {
        "allOf": [{"$ref": "#/components/schemas/Error"}],
        "properties": {"code": {"enum": codes}},
    }


def _response_headers(limited: bool, *, retry_after: bool = False) -> dict[str, Any]:
    headers: dict[str, Any] = {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}}
    if limited:
        for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
            headers[name] = {"$ref": f"#/components/headers/{name}"}
    if retry_after:
        headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
    return headers


_INFO = (
    "The REST API of the traderd daemon (API.md). JSON with snake_case fields; money, prices "
    "and quantities are decimal strings; timestamps ISO 8601 UTC. Log in at "
    "`POST /api/v1/auth/login` and send `Authorization: Bearer <access_token>`. Every error is "
    "`{code, message, details}`. Rate-limited routes answer `X-RateLimit-*` headers and 429 "
    "`RATE_LIMITED` with `Retry-After`. The WebSocket is at `/ws` (alias `/api/v1/ws`)."
)

_STATUS_TEXT = {200: "Success", 201: "Created", 202: "Accepted", 204: "No content"}

_ERROR_SCHEMAS: dict[str, Any] = {
    "Error": {
        "title": "Error",
        "description": "API.md's error shape. A 422 VALIDATION_ERROR has "
        "`details.errors = [{loc, msg}]`.",
        "type": "object",
        "required": ["code", "message", "details"],
        "properties": {
            "code": {"type": "string", "examples": ["BOT_NOT_FOUND"]},
            "message": {"type": "string"},
            "details": {"type": "object"},
        },
    },
}

_INT_HEADER = {"schema": {"type": "integer"}}
_HEADERS: dict[str, Any] = {
    "X-Request-Id": {"description": "The request's id (the client's, when it sent a valid one).",
                     "schema": {"type": "string"}},
    "X-RateLimit-Limit": {"description": "Requests allowed in the window of this route's class.", **_INT_HEADER},
    "X-RateLimit-Remaining": {"description": "Requests left in the window.", **_INT_HEADER},
    "X-RateLimit-Reset": {"description": "Unix time (s) when the oldest request counted leaves the "
                          "window, so Remaining grows again.", **_INT_HEADER},
    "Retry-After": {"description": "Seconds to wait before retrying.", "required": True, **_INT_HEADER},
}

_ANY_OBJECT = {"application/json": {"schema": {"type": "object"}}}
_HEALTH = {
    "type": "object",
    "required": ["status", "version", "uptime_s", "timestamp"],
    "properties": {
        "status": {"const": "healthy"},
        "version": {"type": "string"},
        "uptime_s": {"type": "number"},
        "timestamp": {"type": "string", "format": "date-time"},
    },
}
_READINESS = {
    "type": "object",
    "required": ["status", "components"],
    "properties": {"status": {"enum": ["ready", "not_ready"]}, "components": {"type": "object"}},
}
_WEBSOCKET = {
    "summary": "WebSocket: live orders, fills, bots, market data", "tags": ["websocket"],
    "description": "Upgrade with `?token=<access token>`, or send `{\"type\": \"auth\", \"token\": ...}` "
    "within 10 s. Then `subscribe` / `unsubscribe` with `channels` (`market:{symbol}`, "
    "`kline:{symbol}:{interval}`, `all_markets`, `orders`, `positions`, `bots`, `bot:{id}`, "
    "`account:{id}`, `system`) and `ping`. Every server message has `type`, `channel` and "
    "`timestamp` (epoch ms). See API.md, WebSocket.",
    "responses": {
        "101": {"description": "Switching to the WebSocket protocol"},
        "400": {"description": "Not a WebSocket upgrade request"},
    },
}
_HAND_WRITTEN: dict[tuple[str, str], dict[str, Any]] = {
    ("health", "get"): {
        "summary": "Liveness", "tags": ["health"],
        "responses": {"200": {"description": "The IOLoop turns", "content": {"application/json": {"schema": _HEALTH}}}},
    },
    ("health_ready", "get"): {
        "summary": "Readiness", "tags": ["health"],
        "responses": {
            "200": {"description": "Ready", "content": {"application/json": {"schema": _READINESS}}},
            "503": {"description": "Not ready (a component is down)", "content": {"application/json": {"schema": _READINESS}}},
        },
    },
    ("health_detailed", "get"): {
        "summary": "Readiness with the journal and every actor", "tags": ["health"],
        "responses": {
            "200": {"description": "Ready", "content": _ANY_OBJECT},
            "503": {"description": "Not ready", "content": _ANY_OBJECT},
        },
    },
    ("metrics", "get"): {
        "summary": "Prometheus metrics", "tags": ["metrics"],
        "responses": {"200": {"description": "Prometheus text format 0.0.4",
                              "content": {"text/plain": {"schema": {"type": "string"}}}}},
    },
    ("metrics_json", "get"): {
        "summary": "The metrics as JSON", "tags": ["metrics"],
        "responses": {"200": {"description": "`{families: [{name, type, help, samples}]}`", "content": {
            "application/json": {"schema": {"type": "object", "required": ["families"],
                                            "properties": {"families": {"type": "array"}}}}}}},
    },
    ("system_actors", "get"): {
        "summary": "The supervision tree", "tags": ["system"],
        "responses": {
            "200": {"description": "Each actor: state, restarts, mailbox depth, last error", "content": {
                "application/json": {"schema": {"type": "object", "required": ["name", "state", "children"],
                                                "properties": {"children": {"type": "array"}}}}}},
            "503": {"description": "ACTOR_UNAVAILABLE: no actors run in this process",
                    "content": {"application/json": {"schema": _error_schema(["ACTOR_UNAVAILABLE"])}}},
            "504": {"description": "ACTOR_TIMEOUT", "content": {"application/json": {"schema": _error_schema(["ACTOR_TIMEOUT"])}}},
        },
    },
    ("ws", "get"): _WEBSOCKET,
    ("ws_v1", "get"): _WEBSOCKET,
    ("openapi", "get"): {
        "summary": "This document", "tags": ["docs"],
        "responses": {"200": {"description": "OpenAPI 3.1", "content": _ANY_OBJECT}},
    },
    ("docs", "get"): {
        "summary": "Swagger UI", "tags": ["docs"],
        "responses": {"200": {"description": "An HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}},
    },
}
