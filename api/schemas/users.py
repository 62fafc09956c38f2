"""Requests of the admin's `/api/v1/users` routes (answers are `UserOut`, in `auth`)."""

from __future__ import annotations

from pydantic import model_validator

from api.schemas.auth import Role
from api.schemas.common import Model, PageQuery


class UserListQuery(PageQuery):
    """`?limit&offset`, and filters named after the fields."""

    role: Role | None = None
    is_active: bool | None = None


class UserAccessPatch(Model):
    """An admin's change to a user: role and/or active flag. A new role or a deactivation
    revokes the user's refresh tokens (their access token runs out within 30 minutes)."""

    role: Role | None = None
    is_active: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> UserAccessPatch:
        if self.role is None and self.is_active is None:
            raise ValueError("give `role`, `is_active` or both")
        return self
