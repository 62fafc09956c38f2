"""`/health`: liveness without auth; `/health/ready`: readiness (503 when not ready);
`/health/detailed`: readiness plus the journal and every actor, for admins.

Liveness answers while the IOLoop turns; readiness asks the database and the actors, each
check with its own timeout (see `api.readiness`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from actors.messages import GetJournalStatus, JournalStatus
from api.base import BaseHandler
from api.bridge import ActorUnavailable
from api.readiness import check_components, is_ready
from trading.clock import ns_to_datetime


class HealthHandler(BaseHandler):
    rate_limit = None  # probes and load balancers ask often, by design

    def get(self) -> None:
        self.write_json({"status": "healthy", **self._identity()})

    def _identity(self) -> dict[str, Any]:
        assert self.context is not None
        now = ns_to_datetime(self.context.clock.now_ns())
        return {
            "version": self.context.version,
            "uptime_s": round(self.context.uptime_s(), 3),
            "timestamp": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        }


class ReadyHandler(HealthHandler):
    """What a load balancer or systemd probe asks: 200 ready, 503 not ready."""

    async def get(self) -> None:
        body, ready = await self._readiness()
        self.write_json(body, 200 if ready else 503)

    async def _readiness(self) -> tuple[dict[str, Any], bool]:
        assert self.context is not None
        components, self._tree = await check_components(
            self.context.database_probe, self.context.actors, self.context.clock.now_ns()
        )
        ready = is_ready(components)
        return {"status": "ready" if ready else "not_ready", "components": components}, ready


class DetailedHealthHandler(ReadyHandler):
    """Readiness plus version, uptime, the journal's backlog and each actor's state."""

    required_role = "admin"

    async def get(self) -> None:
        (body, ready), journal = await asyncio.gather(self._readiness(), self._journal())
        actors = [
            {"name": c.name, "state": c.state, "restarts": c.restarts,
             "mailbox_depth": c.mailbox_depth, "last_error": c.last_error}
            for c in self._tree or ()
        ]
        self.write_json({**body, **self._identity(), "journal": journal, "actors": actors}, 200 if ready else 503)

    async def _journal(self) -> dict[str, Any]:
        gateway = self.context.actors if self.context is not None else None
        if gateway is None:
            return {"status": "down", "error": "not configured"}
        try:
            status: JournalStatus = await gateway.ask(gateway.journal, lambda reply: GetJournalStatus(reply=reply))
        except asyncio.TimeoutError:
            return {"status": "down", "error": f"no answer within {gateway.timeout_s:g} s"}
        except ActorUnavailable:
            return {"status": "down", "error": "not running"}
        return {
            "status": "ok" if status.failed_flushes == 0 else "failing",
            "backlog": status.backlog,
            "last_event_id": status.last_event_id,
            "failed_flushes": status.failed_flushes,
            "last_error": status.last_error,
        }
