"""`/api/v1/users`: the admin's user management (the caller's own record is `/users/me`).

Deleting a user who owns bots or exchange accounts is refused (409 CONFLICT): their
trading history would lose its owner. Deactivate them instead (`PATCH {"is_active":
false}`): their logins and refreshes are refused from then on. An admin cannot delete,
deactivate or demote themselves, so the daemon is never left without the admin at hand.
"""

from __future__ import annotations

from typing import Any

from api.auth.handlers import AuthHandler
from api.auth.sessions import user_body
from api.endpoint import endpoint
from api.errors import ApiError
from api.schemas.auth import UserOut
from api.schemas.common import Page
from api.schemas.users import UserAccessPatch, UserListQuery
from storage.user_admin import Deletion, delete_user, list_users, update_access
from storage.users import get_user

TAGS = ("users",)


def _not_found(user_id: str) -> ApiError:
    return ApiError(404, "USER_NOT_FOUND", f"no user {user_id}")


class UsersHandler(AuthHandler):
    required_role = "admin"

    @endpoint("List users", query=UserListQuery, response=Page[UserOut], tags=TAGS,
              description="Every user, oldest first; `?role=` and `?is_active=` filter.")
    async def get(self) -> None:
        query = self.parse_query(UserListQuery)
        engine, _ = self._parts()
        users, total = await self.in_executor(
            lambda: list_users(engine, limit=query.limit, offset=query.offset, role=query.role, is_active=query.is_active)
        )
        self.write_model(Page[UserOut](
            items=[UserOut.model_validate(user_body(user)) for user in users],
            total=total, limit=query.limit, offset=query.offset,
        ))


class UserHandler(AuthHandler):
    required_role = "admin"

    @endpoint("Get a user", response=UserOut, tags=TAGS, errors=("USER_NOT_FOUND",))
    async def get(self, user_id: str) -> None:
        engine, _ = self._parts()
        user = await self.in_executor(get_user, engine, user_id)
        if user is None:
            raise _not_found(user_id)
        self.write_model(UserOut.model_validate(user_body(user)))

    @endpoint(
        "Change a user's role or active flag", body=UserAccessPatch, response=UserOut, tags=TAGS,
        errors=("USER_NOT_FOUND", "CONFLICT"),
        description="A role change or a deactivation revokes the user's refresh tokens; their "
        "current access token runs out within 30 minutes. An admin cannot demote or deactivate "
        "themselves (409 CONFLICT).",
    )
    async def patch(self, user_id: str) -> None:
        change = self.parse_body(UserAccessPatch)
        if user_id == self.current_user.user_id and (
            change.is_active is False or (change.role is not None and change.role != "admin")
        ):
            raise ApiError(409, "CONFLICT", "an admin cannot demote or deactivate themselves", {"reason": "self"})
        engine, _ = self._parts()
        now = self._now()
        user, _revoked = await self.in_executor(
            lambda: update_access(engine, user_id, role=change.role, is_active=change.is_active, now=now)
        )
        if user is None:
            raise _not_found(user_id)
        self.write_model(UserOut.model_validate(user_body(user)))

    @endpoint(
        "Delete a user", status=204, tags=TAGS, errors=("USER_NOT_FOUND", "CONFLICT"),
        description="Refused (409 CONFLICT) for the caller themselves and for a user who owns "
        "bots or exchange accounts (`details.bots`, `details.accounts`): deactivate them instead.",
    )
    async def delete(self, user_id: str) -> None:
        if user_id == self.current_user.user_id:
            raise ApiError(409, "CONFLICT", "an admin cannot delete themselves", {"reason": "self"})
        engine, _ = self._parts()
        outcome, holdings = await self.in_executor(delete_user, engine, user_id)
        if outcome is Deletion.NOT_FOUND:
            raise _not_found(user_id)
        if outcome is Deletion.OWNS_THINGS:
            details: dict[str, Any] = {"reason": "owner", "bots": holdings.bots, "accounts": holdings.accounts}
            raise ApiError(
                409, "CONFLICT",
                f"the user owns {holdings.bots} bots and {holdings.accounts} exchange accounts;"
                " deactivate them instead (PATCH is_active=false)",
                details,
            )
        self.set_status(204)
        self.finish()
