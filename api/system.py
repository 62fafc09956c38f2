"""`/api/v1/system/...`: the supervision tree (admin) and the exchange accounts' circuit
breakers (an admin sees every account, other users their own)."""

from __future__ import annotations

import asyncio

from actors.messages import ChildStatus, ExchangeStatus, GetExchangeStatus, GetSupervisionTree
from api.base import BaseHandler
from api.bridge import ActorGateway, ActorUnavailable
from api.endpoint import endpoint
from api.errors import ApiError
from api.schemas.system import CircuitBreakerOut, CircuitBreakersOut
from api.scope import ScopedHandler
from storage.accounts import list_accounts


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


class CircuitBreakersHandler(ScopedHandler):
    @endpoint("Circuit breakers of the exchange accounts", response=CircuitBreakersOut, tags=("system",))
    async def get(self) -> None:
        """Each account's breaker: closed, half_open (probing) or open (its exchange failed
        too often; orders wait until it answers again)."""
        gateway = self.context.actors if self.context is not None else None
        if gateway is None:
            raise ApiError(503, "ACTOR_UNAVAILABLE", "no actors run in this process")
        names = dict(gateway.exchanges)
        if self.owner is not None:  # not an admin: only the caller's own accounts
            engine = self.context.engine if self.context is not None else None
            owned: set[str] = set()
            if engine is not None:
                records, _ = await asyncio.get_running_loop().run_in_executor(
                    None, lambda: list_accounts(engine, self.owner, limit=10_000)
                )
                owned = {record.id for record in records}
            names = {account: name for account, name in names.items() if account in owned}
        entries = await asyncio.gather(*(_breaker(gateway, account, name) for account, name in sorted(names.items())))
        self.write_model(CircuitBreakersOut(data=list(entries)))


async def _breaker(gateway: ActorGateway, account_id: str, name: str) -> CircuitBreakerOut:
    try:
        status: ExchangeStatus = await gateway.ask(name, lambda reply: GetExchangeStatus(reply=reply))
    except (asyncio.TimeoutError, ActorUnavailable):
        return CircuitBreakerOut(account_id=account_id, state="unknown", ready=False)
    return CircuitBreakerOut(
        account_id=account_id, state=status.circuit_breaker or "none", ready=status.ready,
        consecutive_failures=status.consecutive_failures, times_opened=status.times_opened,
        last_error=status.last_error, auth_error=status.auth_error,
    )
