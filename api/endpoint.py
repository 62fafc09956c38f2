"""`@endpoint`: one declaration per handler method that both validates and documents it.

A handler method says what it takes and gives with pydantic models; the same models
validate the request at run time and become the OpenAPI document (`api.openapi`)::

    class BotHandler(BaseHandler):
        required_role = "viewer"

        @endpoint("Get one bot", response=BotOut, errors=("BOT_NOT_FOUND",), tags=("bots",))
        async def get(self, bot_id: str) -> None:
            ...
            self.write_model(bot)

        @endpoint("Change a bot", body=BotPatch, response=BotOut, tags=("bots",))
        async def patch(self, bot_id: str) -> None:
            change = self.parse_body(BotPatch)   # 400 INVALID_JSON / 422 VALIDATION_ERROR
            ...

Query parameters are a model too (`query=BotListQuery`, read with `self.parse_query`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

F = TypeVar("F", bound=Callable[..., Any])

ENDPOINT_ATTRIBUTE = "__endpoint__"


@dataclass(frozen=True)
class Endpoint:
    """What one HTTP method of one route takes and answers."""

    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: Sequence[str] = ()
    """API.md error codes this method may answer with, beyond the ones every route has."""
    tags: Sequence[str] = ()
    form: bool = False
    """The body may also come form-encoded (the OAuth2 password flow of login)."""
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def endpoint(
    summary: str,
    *,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    errors: Sequence[str] = (),
    tags: Sequence[str] = (),
    form: bool = False,
    description: str = "",
) -> Callable[[F], F]:
    """Attach an `Endpoint` to a handler method (`get`, `post`, ...)."""

    def attach(method: F) -> F:
        setattr(method, ENDPOINT_ATTRIBUTE, Endpoint(
            summary=summary, body=body, query=query, response=response, status=status,
            errors=tuple(errors), tags=tuple(tags), form=form,
            description=description or (method.__doc__ or "").strip(),
        ))
        return method

    return attach


def endpoint_of(handler_class: type, method: str) -> Endpoint | None:
    """The `Endpoint` declared on `handler_class.<method>`, if any."""
    function = getattr(handler_class, method.lower(), None)
    return getattr(function, ENDPOINT_ATTRIBUTE, None)
