"""`GET /api/v1/system/actors` (admin): the supervision tree, as the supervisor sees it."""

from __future__ import annotations

from actors.messages import ChildStatus, GetSupervisionTree
from api.base import BaseHandler
from api.errors import ApiError


class ActorsHandler(BaseHandler):
    required_role = "admin"

    async def get(self) -> None:
        gateway = self.context.actors if self.context is not None else None
        if gateway is None:
            raise ApiError(503, "ACTOR_UNAVAILABLE", "no actors run in this process")
        tree: tuple[ChildStatus, ...] = await gateway.ask_or_fail(None, lambda reply: GetSupervisionTree(reply=reply))
        children = [
            {
                "name": child.name,
                "state": child.state,
                "restarts": child.restarts,
                "mailbox_depth": child.mailbox_depth,
                "last_error": child.last_error,
                "critical": child.name in gateway.critical,
            }
            for child in tree
        ]
        # One supervisor today; nested supervisors would appear as children with children.
        self.write_json({"name": "supervisor", "state": "running", "children": children})
