"""What handlers may reach: passed to `make_app`, never imported as globals."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from api.account_control import AccountControl
from api.auth.tokens import TokenIssuer
from api.bot_feed import BotViewFeed
from api.bot_view import BotView
from api.bridge import ActorGateway
from api.control import BotControl
from api.order_ids import ManualOrderIds
from api.ratelimit import RateLimiter
from api.readiness import DatabaseProbe
from api.ws import make_hub
from api.ws.client import WsLimits
from api.ws.hub import WebSocketHub
from api.ws.outlet import RelayOutlet
from storage.sealing import Sealer
from trading.clock import SYSTEM_CLOCK, Clock
from trading.markets import Market


@dataclass
class ApiContext:
    """The daemon's pieces the API needs; grows as resources are added."""

    version: str
    clock: Clock = SYSTEM_CLOCK
    started_monotonic: float = field(default_factory=time.monotonic)
    monotonic: Callable[[], float] = time.monotonic
    engine: Engine | None = None
    """The database; handlers touch it only in an executor (`BaseHandler.in_executor`)."""
    tokens: TokenIssuer | None = None
    """Signs and checks the JWTs; routes that need a login fail without it."""
    actors: ActorGateway | None = None
    """How handlers reach actors, by name and message; None where no actors run."""
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    """What `/metrics` exposes; the daemon passes the one its actors count on."""
    bots: BotControl | None = None
    """Starts and stops bot actors (the daemon's `daemon.fleet.Fleet`); None where no
    actors run: bots can then be read and edited but not started."""
    rate_limiter: RateLimiter | None = None
    """API.md's rate limits; None limits nothing (tests that are not about limits). The
    daemon always sets one, from `[api]`."""
    markets: Mapping[str, Mapping[str, Market]] = field(default_factory=dict)
    """Account id -> symbol -> the market rules its exchange trades by (orders are
    checked and quantized with them; positions are rounded to them)."""
    candle_files: Mapping[str, Path] = field(default_factory=dict)
    """Symbol -> the candle CSV a replay feed reads (the source of `/market/klines`)."""

    sealer: Sealer | None = None
    """Seals exchange credentials (AES-256-GCM); None when no encryption key is set, and
    then the API refuses to store live exchange keys. Also seals users' TOTP secrets
    (stored unsealed, with a warning, without a key)."""
    allow_registration: bool = False
    """`[api] allow_registration`: whether `POST /auth/register` makes users (off by default)."""
    protect: Callable[[Iterable[str]], None] | None = None
    """Adds secrets the API makes (a new TOTP secret) to the daemon's log redaction
    registry; None where nothing logs (tests)."""
    accounts: AccountControl | None = None
    """Starts and stops the exchange actors of accounts made through the API."""
    ws_outlet: RelayOutlet | None = None
    """Where the `RelayActor` hands events to the WebSocket hub; None: no live events."""
    ws_limits: WsLimits = field(default_factory=WsLimits)
    """`[api] ws_*`: connections, inbound rate, outbound queue."""
    bot_feed: BotViewFeed | None = None
    """Where the `RelayActor` hands bots' figures and the journal's commit notices to the
    read model of bots; None: no read model, bot summaries read the database."""

    def uptime_s(self) -> float:
        return self.monotonic() - self.started_monotonic

    @functools.cached_property
    def manual_order_ids(self) -> ManualOrderIds:
        """The sequence of manual client order ids, one per context (per daemon)."""
        return ManualOrderIds()

    @functools.cached_property
    def ws_hub(self) -> WebSocketHub:
        """The WebSocket hub, one per context (`make_app` routes to it)."""
        return make_hub(self)

    @functools.cached_property
    def bot_view(self) -> BotView | None:
        """The read model of bots, one per context (needs the database and a feed)."""
        if self.engine is None or self.bot_feed is None:
            return None
        return BotView(self.engine, self.bot_feed)

    @functools.cached_property
    def database_probe(self) -> DatabaseProbe | None:
        """One probe per context, so concurrent readiness checks share a ping."""
        return None if self.engine is None else DatabaseProbe(self.engine)
