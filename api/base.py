"""`BaseHandler`: request ids, JSON in and out, and API.md's error shape for every failure."""

from __future__ import annotations

import json
import logging
import re
import uuid
from http import HTTPStatus
from typing import Any

import tornado.web

from api.errors import STATUS_CODES, ApiError

logger = logging.getLogger(__name__)

_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class BaseHandler(tornado.web.RequestHandler):
    """Every handler of the API derives from this."""

    request_id: str

    def set_default_headers(self) -> None:
        # Runs in __init__ and again when an error clears the headers, so the request
        # id is made once and then reused.
        if not hasattr(self, "request_id"):
            incoming = self.request.headers.get("X-Request-Id", "")
            self.request_id = incoming if _CLIENT_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        self.set_header("X-Request-Id", self.request_id)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")

    def write_json(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(body, separators=(",", ":"), default=str))

    def json_body(self) -> Any:
        """The request body parsed as JSON; 400 INVALID_JSON when it is not."""
        try:
            return json.loads(self.request.body or b"null")
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ApiError(400, "INVALID_JSON", f"request body is not valid JSON: {error}") from None

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, ApiError):
            self.set_status(error.status)
            body = {"code": error.code, "message": error.message, "details": error.details}
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
