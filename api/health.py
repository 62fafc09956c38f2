"""`GET /health`: liveness, without auth; answers while the IOLoop turns."""

from __future__ import annotations

from api.base import BaseHandler
from api.context import ApiContext
from trading.clock import ns_to_datetime


class HealthHandler(BaseHandler):
    def initialize(self, context: ApiContext) -> None:
        self.context = context

    def get(self) -> None:
        now = ns_to_datetime(self.context.clock.now_ns())
        self.write_json(
            {
                "status": "healthy",
                "version": self.context.version,
                "uptime_s": round(self.context.uptime_s(), 3),
                "timestamp": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
            }
        )
