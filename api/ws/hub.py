"""The WebSocket hub: who is connected, who subscribed to what, and the fan-out.

Everything here runs on the IOLoop. Messages arrive from the `RelayOutlet` already
serialised, one per channel; the hub writes the same bytes to each subscriber allowed to
see them. On `orders` and `bots` (channels every user shares) a message goes only to its
owner and to admins; `bot:{id}` and `account:{id}` are checked once, at subscribe time.
A message whose owner the cache does not know yet waits for one reload of the cache.
`positions` messages are made per viewer (`api.ws.positions`), after the relayed fills.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tornado.ioloop import PeriodicCallback

from api.ws import channels as channel_names
from api.ws.client import CLOSE_TOO_SLOW, Client, WsLimits
from api.ws.outlet import RelayOutlet
from api.ws.ownership import UNKNOWN, OwnershipCache
from api.ws.positions import PositionUpdates
from api.ws.wire import Outgoing, encode, message, notice, now_ms

logger = logging.getLogger(__name__)

SWEEP_INTERVAL_MS = 500
MAX_PARKED = 10_000
NOT_FOUND = {"bot": "BOT_NOT_FOUND", "account": "ACCOUNT_NOT_FOUND"}


@dataclass
class Subscribers:
    """One channel's subscribers: all of them, and split by admin and by user for the
    channels whose messages are filtered by owner."""

    everyone: set[Client] = field(default_factory=set)
    admins: set[Client] = field(default_factory=set)
    by_user: dict[str, set[Client]] = field(default_factory=dict)

    def add(self, client: Client) -> None:
        self.everyone.add(client)
        if client.is_admin:
            self.admins.add(client)
        elif client.user_id is not None:
            self.by_user.setdefault(client.user_id, set()).add(client)

    def remove(self, client: Client) -> None:
        self.everyone.discard(client)
        self.admins.discard(client)
        users = self.by_user.get(client.user_id or "")
        if users is not None:
            users.discard(client)
            if not users:
                del self.by_user[client.user_id or ""]


class Counters:
    """Plain counts the metrics collector reads when Prometheus scrapes (no locks: the
    loop is the only writer and the only reader)."""

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()
        self.closed: Counter[str] = Counter()


class WebSocketHub:
    def __init__(
        self,
        *,
        version: str,
        limits: WsLimits,
        outlet: RelayOutlet | None,
        ownership: OwnershipCache,
        positions: PositionUpdates | None = None,
        monotonic: Any = time.monotonic,
    ) -> None:
        self.version = version
        self.limits = limits
        self.outlet = outlet
        self.ownership = ownership
        self.positions = positions
        self.monotonic = monotonic
        self.counters = Counters()
        self.clients: set[Client] = set()
        self.by_user: dict[str, set[Client]] = {}
        self.channels: dict[str, Subscribers] = {}
        self._parked: list[Outgoing] = []
        self._reloading = False
        self._sweeper: PeriodicCallback | None = None

    # -- connections --------------------------------------------------------------------

    def start(self) -> None:
        """On the first connection: take the relay's messages and start the sweep."""
        if self._sweeper is not None:
            return
        if self.outlet is not None:
            self.outlet.attach(self.dispatch, self._on_fills if self.positions is not None else None)
        self._sweeper = PeriodicCallback(self._sweep, SWEEP_INTERVAL_MS)
        self._sweeper.start()

    def admit(self, client: Client) -> bool:
        """Count a new connection in; False when the daemon has `max_connections`."""
        if len(self.clients) >= self.limits.max_connections:
            return False
        self.clients.add(client)
        return True

    def authenticate(self, client: Client, principal: Any) -> bool:
        """Tie `client` to its user; False when that user has all their connections."""
        mine = self.by_user.setdefault(principal.user_id, set())
        if len(mine) >= self.limits.max_connections_per_user:
            if not mine:
                del self.by_user[principal.user_id]
            return False
        client.principal = principal
        mine.add(client)
        return True

    def remove(self, client: Client) -> None:
        """The connection closed (or is being closed): forget it everywhere."""
        self.clients.discard(client)
        if client.user_id is not None:
            mine = self.by_user.get(client.user_id)
            if mine is not None:
                mine.discard(client)
                if not mine:
                    del self.by_user[client.user_id]
        for name in client.channels:
            self._unsubscribe(client, name)
        client.channels.clear()
        client.discard()

    def too_slow(self, client: Client, why: str) -> None:
        if client.closing:
            return
        logger.info("closing a WebSocket client of user %s: too slow (%s)", client.user_id, why)
        self.counters.closed["too_slow"] += 1
        self.remove(client)
        client.handler.close(CLOSE_TOO_SLOW, "too slow: " + why)

    # -- subscriptions ------------------------------------------------------------------

    async def subscribe(self, client: Client, raw_channels: Iterable[Any]) -> tuple[list[str], list[dict[str, Any]]]:
        """Subscribe `client` to what it may see; returns (names subscribed, errors)."""
        accepted: list[str] = []
        errors: list[dict[str, Any]] = []
        for raw in raw_channels:
            try:
                channel = channel_names.parse(raw)
            except channel_names.InvalidChannel as error:
                errors.append(_error("INVALID_CHANNEL", str(error), raw))
                continue
            if channel.resource is not None:
                refusal = await self._check_owner(client, channel)
                if refusal is not None:
                    errors.append(_error(refusal[0], refusal[1], raw))
                    continue
            if client.closing:
                break
            if channel.name not in client.channels and len(client.channels) >= self.limits.max_channels:
                errors.append(_error("INVALID_CHANNEL", f"at most {self.limits.max_channels} channels per connection", raw))
                continue
            client.channels.add(channel.name)
            self.channels.setdefault(channel.name, Subscribers()).add(client)
            accepted.append(channel.name)
        return accepted, errors

    def unsubscribe(self, client: Client, raw_channels: Iterable[Any]) -> list[str]:
        removed = []
        for raw in raw_channels:
            try:
                name = channel_names.parse(raw).name
            except channel_names.InvalidChannel:
                continue
            if name in client.channels:
                client.channels.discard(name)
                self._unsubscribe(client, name)
                removed.append(name)
        return removed

    def latest_market_data(self, names: Iterable[str]) -> list[Outgoing]:
        """The last price (or candle) of each market or kline channel in `names`, for a
        client that just subscribed."""
        if self.outlet is None:
            return []
        found = []
        for name in names:
            if name.startswith(("market:", "kline:")):
                latest = self.outlet.latest(name)
                if latest is not None:
                    found.append(latest)
        return found

    async def _check_owner(self, client: Client, channel: channel_names.Channel) -> tuple[str, str] | None:
        assert channel.resource is not None
        if self.ownership.engine is None and client.is_admin:
            return None  # no database to check against; an admin sees everything anyway
        owner = await self.ownership.resolve(channel.kind, channel.resource)
        if owner is UNKNOWN:
            return NOT_FOUND[channel.kind], f"no {channel.kind} {channel.resource}"
        if client.is_admin or (owner is not None and owner == client.user_id):
            return None
        return "INSUFFICIENT_PERMISSION", f"{channel.kind} {channel.resource} belongs to another user"

    def _unsubscribe(self, client: Client, name: str) -> None:
        subscribers = self.channels.get(name)
        if subscribers is not None:
            subscribers.remove(client)
            if not subscribers.everyone:
                del self.channels[name]

    # -- fan-out ------------------------------------------------------------------------

    def dispatch(self, batch: list[Outgoing]) -> None:
        """Write each message to the subscribers of its channel who may see it."""
        channels = self.channels
        for out in batch:
            subscribers = channels.get(out.channel)
            if subscribers is None:
                continue
            if out.owner is not None:
                owner = self.ownership.owner(*out.owner)
                if owner is UNKNOWN:
                    self._park(out)
                    continue
                targets: Iterable[Client] = subscribers.admins
                if owner is not None and owner in subscribers.by_user:
                    targets = [*subscribers.admins, *subscribers.by_user[owner]]
            elif out.admin_only:
                targets = subscribers.admins
            else:
                targets = subscribers.everyone
            for client in tuple(targets):
                client.send(out)

    def _on_fills(self, fills: list[Any]) -> None:
        assert self.positions is not None
        self.positions.on_fills(fills, lambda: self.channels.get("positions"))

    def _park(self, out: Outgoing) -> None:
        if len(self._parked) < MAX_PARKED:
            self._parked.append(out)
        else:
            self.counters.dropped[out.kind] += 1
        if not self._reloading:
            self._reloading = True
            asyncio.ensure_future(self._reload_then_dispatch())

    async def _reload_then_dispatch(self) -> None:
        try:
            await self.ownership.refresh()
        finally:
            self._reloading = False
        parked, self._parked = self._parked, []
        # Still unknown after a reload: a row that does not exist; only admins see it.
        for out in parked:
            if self.ownership.owner(*out.owner) is UNKNOWN:  # type: ignore[misc]
                for client in tuple(self.channels.get(out.channel, Subscribers()).admins):
                    client.send(out)
            else:
                self.dispatch([out])

    def _sweep(self) -> None:
        now = self.monotonic()
        for client in tuple(self.clients):
            client.check_stall(now)

    # -- control messages -----------------------------------------------------------------

    def reply(self, client: Client, kind: str, channel: str | None = None, **fields: Any) -> None:
        """A control message (welcome, pong, subscribed, error, ...) to one client."""
        client.send(Outgoing(channel or "", "control", encode(message(kind, channel, now_ms(), **fields))))

    def stats(self) -> dict[str, Any]:
        return {
            "total_connections": len(self.clients),
            "channels": {name: len(subscribers.everyone) for name, subscribers in sorted(self.channels.items())},
        }

    def shutdown(self) -> None:
        """The daemon is stopping: tell `system` subscribers, then close every socket (1001)."""
        out = notice("shutdown", "the daemon is shutting down")
        for client in tuple(self.channels.get("system", Subscribers()).everyone):
            client.send(out)
        for client in tuple(self.clients):
            self.remove(client)
            client.handler.close(1001, "the daemon is shutting down")
        if self._sweeper is not None:
            self._sweeper.stop()
        if self.outlet is not None:
            self.outlet.detach()


def _error(code: str, text: str, channel: Any) -> dict[str, Any]:
    return {"code": code, "message": text, "channel": channel if isinstance(channel, str) else None}

