"""Who owns each bot and account, cached on the IOLoop and loaded in the executor.

The hub asks it for every message on a shared channel (`orders`, `bots`), so lookups are
dict reads. An id it does not know (a bot made a moment ago) makes it load the tables
again, at most one load at a time; callers await `refresh()` and look again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import Engine
from tornado.ioloop import IOLoop

from storage.ownership import load_owners

logger = logging.getLogger(__name__)

UNKNOWN = object()


class OwnershipCache:
    def __init__(self, engine: Engine | None) -> None:
        self.engine = engine
        self._owners: dict[str, dict[str, str | None]] = {"bot": {}, "account": {}}
        self._loading: asyncio.Future[Any] | None = None

    def owner(self, kind: str, resource_id: str) -> Any:
        """The owner id, None for config rows (admins only), or `UNKNOWN`."""
        return self._owners[kind].get(resource_id, UNKNOWN)

    async def refresh(self) -> None:
        """Load the owners again (joining a load under way); errors are logged, not raised."""
        if self.engine is None:
            return
        if self._loading is None:
            self._loading = asyncio.ensure_future(self._load())
        loading = self._loading
        await asyncio.shield(loading)

    async def resolve(self, kind: str, resource_id: str) -> Any:
        """`owner`, loading again first if the id is not known yet."""
        found = self.owner(kind, resource_id)
        if found is UNKNOWN:
            await self.refresh()
            found = self.owner(kind, resource_id)
        return found

    async def _load(self) -> None:
        try:
            bots, accounts = await IOLoop.current().run_in_executor(None, load_owners, self.engine)
            self._owners = {"bot": bots, "account": accounts}
        except Exception:
            logger.exception("could not load bot and account owners for the WebSocket hub")
        finally:
            self._loading = None
