"""Whose rows a caller sees: their own, or everyone's for an admin; and the per-method
role of handlers whose reads a viewer may make but whose writes need a trader."""

from __future__ import annotations

from typing import ClassVar

from api.auth.roles import role_allows
from api.auth.tokens import Principal
from api.base import BaseHandler
from api.errors import ApiError


def owner_scope(principal: Principal) -> str | None:
    """The owner id queries filter on; None (every row) for an admin."""
    return None if principal.role == "admin" else principal.user_id


class ScopedHandler(BaseHandler):
    """Reads need `required_role` (viewer); the methods in `write_methods` need trader."""

    required_role = "viewer"
    write_methods: ClassVar[frozenset[str]] = frozenset({"POST", "PUT", "PATCH", "DELETE"})

    def prepare(self) -> None:
        super().prepare()
        if self.request.method in self.write_methods and not role_allows(self.principal.role, "trader"):
            raise ApiError(403, "INSUFFICIENT_PERMISSION", "this route needs the trader role")

    @property
    def principal(self) -> Principal:
        return self.current_user

    @property
    def owner(self) -> str | None:
        return owner_scope(self.current_user)
