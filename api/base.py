"""`BaseHandler`: request ids, JSON in and out, bearer-token auth, and API.md's error
shape for every failure."""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import re
from http import HTTPStatus
from typing import Any, Callable, ClassVar, TypeVar

import pydantic
import tornado.web
from tornado.ioloop import IOLoop

from api.auth.roles import ROLE_LEVELS, role_allows
from api.auth.tokens import Principal
from api.context import ApiContext
from api.errors import STATUS_CODES, ApiError
from api.ratelimit import rate_limit_class

logger = logging.getLogger(__name__)

_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Request ids: this process's random half and a count, 32 hex digits like a uuid4 but
# without its system call on every request.
_PROCESS_ID = os.urandom(8).hex()
_REQUEST_COUNT = itertools.count()
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
T = TypeVar("T")
M = TypeVar("M", bound=pydantic.BaseModel)


class BaseHandler(tornado.web.RequestHandler):
    """Every handler of the API derives from this.

    `required_role` is the least role a caller needs ("viewer", "trader", "admin"); None
    means no token is needed. `prepare` checks the bearer token before any method runs
    and leaves the caller in `current_user`; subclasses that override `prepare` call
    `super().prepare()` first.
    """

    required_role: ClassVar[str | None] = None
    rate_limit: ClassVar[str | dict[str, str] | None] = "general"
    """The rate-limit class of this handler's methods (`api.ratelimit`): one name, a dict
    from HTTP method to name (others are "general"), or None for never limited."""
    request_id: str
    context: ApiContext | None

    def initialize(self, context: ApiContext | None = None) -> None:
        self.context = context

    def prepare(self) -> None:
        if self.required_role is not None:
            self.current_user = self.authenticate(self.required_role)
        self.check_rate_limit()

    def check_rate_limit(self) -> None:
        """Count this request in its class (per user, else per IP), set the
        `X-RateLimit-*` headers, and refuse it with 429 RATE_LIMITED past the limit."""
        limiter = self.context.rate_limiter if self.context is not None else None
        name = rate_limit_class(self.rate_limit, self.request.method or "GET")
        if limiter is None or name is None:
            return
        user = self.current_user
        verdict = limiter.hit(name, f"user:{user.user_id}" if user is not None else f"ip:{self.request.remote_ip}")
        if verdict is None:
            return
        assert self.context is not None
        reset_at = math.ceil(self.context.clock.now_ns() / 1e9 + verdict.reset_after_s)
        self._rate_limit_headers = {
            "X-RateLimit-Limit": str(verdict.limit),
            "X-RateLimit-Remaining": str(verdict.remaining),
            "X-RateLimit-Reset": str(reset_at),
        }
        if not verdict.allowed:
            self._rate_limit_headers["Retry-After"] = str(verdict.retry_after_s)
        for header, value in self._rate_limit_headers.items():
            self.set_header(header, value)
        if not verdict.allowed:
            raise ApiError(429, "RATE_LIMITED", f"too many requests; retry in {verdict.retry_after_s} s", {
                "limit": verdict.limit, "retry_after_s": verdict.retry_after_s,
            })

    def authenticate(self, required_role: str) -> Principal:
        """The caller of a valid access token with at least `required_role`, or ApiError
        401/403. Only a signature check: no database read on the way in."""
        assert required_role in ROLE_LEVELS, required_role
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "MISSING_TOKEN", "this route needs an access token: Authorization: Bearer <token>")
        if self.context is None or self.context.tokens is None:
            raise RuntimeError(f"{type(self).__name__} needs a login but the API has no token issuer")
        principal = self.context.tokens.principal(token)
        if not role_allows(principal.role, required_role):
            raise ApiError(403, "INSUFFICIENT_PERMISSION", f"this route needs the {required_role} role")
        return principal

    async def in_executor(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` on the executor: database calls and password hashing never
        run on the IOLoop."""
        return await IOLoop.current().run_in_executor(None, function, *args)

    def body_fields(self) -> dict[str, Any]:
        """The body as a dict: a JSON object, or form fields (OAuth2's password flow)."""
        content_type = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type in _FORM_TYPES:
            return {name: self.get_body_argument(name) for name in self.request.body_arguments}
        body = self.json_body()
        if not isinstance(body, dict):
            raise ApiError(422, "VALIDATION_ERROR", "the body must be a JSON object", {
                "errors": [{"loc": ["body"], "msg": "expected an object"}],
            })
        return body

    def set_default_headers(self) -> None:
        # Runs in __init__ and again when an error clears the headers, so the request
        # id is made once and then reused.
        if not hasattr(self, "request_id"):
            incoming = self.request.headers.get("X-Request-Id", "")
            self.request_id = incoming if _CLIENT_REQUEST_ID.match(incoming) else _new_request_id()
        self.set_header("X-Request-Id", self.request_id)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        for name, value in getattr(self, "_rate_limit_headers", {}).items():
            self.set_header(name, value)  # kept when an error clears the headers

    def compute_etag(self) -> None:
        """No ETag: every answer is `Cache-Control: no-store`, so no client would send it
        back, and hashing each body costs 3% of a small read."""
        return None

    def write_json(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(body, separators=(",", ":"), default=str))

    def json_body(self) -> Any:
        """The request body parsed as JSON; 400 INVALID_JSON when it is not."""
        try:
            return json.loads(self.request.body or b"null")
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ApiError(400, "INVALID_JSON", f"request body is not valid JSON: {error}") from None

    def parse_body(self, model: type[M]) -> M:
        """The body validated into `model`: 400 INVALID_JSON when it is not JSON, 422
        VALIDATION_ERROR with `details.errors = [{loc, msg}]` when it does not fit."""
        return validated(model, self.body_fields(), "body")

    def parse_query(self, model: type[M]) -> M:
        """The query string validated into `model` (a repeated parameter becomes a list
        only where the model's field is one)."""
        values: dict[str, Any] = {}
        for name, raw in self.request.query_arguments.items():
            decoded = [item.decode("utf-8", "replace") for item in raw]
            field_info = model.model_fields.get(name)
            is_list = field_info is not None and getattr(field_info.annotation, "__origin__", None) is list
            values[name] = decoded if is_list else decoded[-1]
        return validated(model, values, "query")

    def write_model(self, body: pydantic.BaseModel | list[pydantic.BaseModel], status: int = 200) -> None:
        """A response model (or a list of them) as JSON, in its wire form: decimals as
        strings, datetimes as ISO 8601 UTC."""
        if isinstance(body, list):
            self.write_json([item.model_dump(mode="json") for item in body], status)
        else:
            self.write_json(body.model_dump(mode="json"), status)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, ApiError):
            self.set_status(error.status)
            body = {"code": error.code, "message": error.message, "details": error.details}
            if error.status == 401:  # RFC 6750
                invalid = error.code in ("INVALID_TOKEN", "TOKEN_EXPIRED")
                self.set_header("WWW-Authenticate", 'Bearer error="invalid_token"' if invalid else "Bearer")
        else:
            if status_code == 405:
                self.set_header("Allow", ", ".join(self.allowed_methods()))
            message = HTTPStatus(status_code).phrase if status_code in HTTPStatus._value2member_map_ else "Error"
            if isinstance(error, tornado.web.HTTPError) and error.log_message and status_code < 500:
                message = error.log_message % error.args if error.args else error.log_message
            code = STATUS_CODES.get(status_code, "INTERNAL_ERROR" if status_code >= 500 else "BAD_REQUEST")
            body = {"code": code, "message": message, "details": {}}
        self.finish(json.dumps(body, separators=(",", ":")))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, ApiError):
            return  # an answer, not a fault
        if isinstance(value, tornado.web.HTTPError) and value.status_code < 500:
            return
        logger.error(
            "request %s %s failed [request_id=%s]",
            self.request.method, self.request.path, self.request_id,
            exc_info=(typ, value, tb),
        )

    def allowed_methods(self) -> list[str]:
        """The HTTP methods this handler class implements, for the `Allow` header."""
        base = tornado.web.RequestHandler
        return [
            method
            for method in self.SUPPORTED_METHODS
            if getattr(type(self), method.lower(), None) is not getattr(base, method.lower(), None)
        ]


class NotFoundHandler(BaseHandler):
    """Every path the route table does not know: 404 in the API's error shape."""

    def prepare(self) -> None:
        raise ApiError(404, "NOT_FOUND", f"no route for {self.request.path}")


def validated(model: type[M], values: Any, where: str) -> M:
    """`values` validated into `model`, or ApiError 422 in API.md's shape."""
    try:
        return model.model_validate(values)
    except pydantic.ValidationError as error:
        errors = [
            {"loc": [where, *(str(part) for part in item["loc"])], "msg": item["msg"]}
            for item in error.errors(include_url=False)
        ]
        raise ApiError(422, "VALIDATION_ERROR", f"the request {where} does not fit", {"errors": errors}) from None


def _new_request_id() -> str:
    return f"{_PROCESS_ID}{next(_REQUEST_COUNT):016x}"
