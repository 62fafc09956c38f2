"""What the API gets from the daemon: the database, the token issuer, and a gateway that
tells actors by name. The API never sees an actor class or ref (DESIGN.md's rooms)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pykka

from actors.risk import exchange_name
from api.auth.secret import jwt_secret
from api.auth.tokens import TokenIssuer
from api.bridge import ActorGateway
from api.context import ApiContext
from api.ratelimit import RateLimiter
from api.ws.client import WsLimits
from config.loader import resolve_state_dir
from config.schema import ReplayFeedConfig
from daemon.redact import SECRETS
from daemon.wiring import feed_name

if TYPE_CHECKING:
    from daemon.service import Daemon

logger = logging.getLogger(__name__)

ALWAYS_CRITICAL = ("journal", "risk")


def wire_api(context: ApiContext, daemon: Daemon) -> None:
    """Fill in `context` from a daemon booted up to its HTTP step. Blocking (it may write
    the secret file): run it in the executor."""
    config = daemon.config
    secret = config.api.jwt_secret.get_secret_value() if config.api.jwt_secret is not None else None
    context.engine = daemon.engine
    context.tokens = TokenIssuer(jwt_secret(secret, config.state_dir or resolve_state_dir(config)))
    # Users: self-registration (off by default), and new TOTP secrets masked in the logs.
    context.allow_registration = config.api.allow_registration
    context.protect = SECRETS.add
    context.rate_limiter = RateLimiter.per_api_md(
        general_per_minute=config.api.rate_limit_per_minute,
        auth_per_minute=config.api.auth_rate_limit_per_minute,
        bot_create_per_hour=config.api.bot_create_rate_limit_per_hour,
        now=context.monotonic,
    )
    exchanges = {account.id: exchange_name(account.id) for account in config.accounts}
    feeds = {feed.id: feed_name(feed.id) for feed in config.feeds}
    # Orders, positions and market data: the accounts' markets (the daemon's own dict, so
    # accounts added later show up) and the candle files the replay feeds read.
    context.markets = daemon.markets
    context.candle_files = {feed.symbol: feed.path for feed in config.feeds if isinstance(feed, ReplayFeedConfig)}
    # Bots: start, stop and replace bot actors (made in the bots boot step).
    context.bots = daemon.fleet
    root = daemon.root

    def tell_supervisor(message: Any) -> bool:
        if root is None:
            return False
        try:
            root.tell(message)
        except pykka.ActorDeadError:
            return False
        return True

    context.actors = ActorGateway(
        tell=daemon.directory.tell,
        tell_supervisor=tell_supervisor,
        exchanges=exchanges,
        feeds=feeds,
        critical=frozenset(ALWAYS_CRITICAL) | frozenset(exchanges.values()) | frozenset(feeds.values()),
    )
    # Exchange accounts: the sealing key, and the paper exchanges of API-made accounts,
    # whose actor names the fleet keeps current in the gateway's map (after `critical`:
    # an API account may be deleted, and readiness does not wait for it).
    context.sealer = daemon.sealer
    context.accounts = daemon.account_fleet
    exchanges.update(daemon.account_fleet.gateway_names)
    daemon.account_fleet.gateway_names = exchanges
    # WebSocket: the relay's outlet and the `[api] ws_*` limits.
    context.ws_outlet = daemon.ws_outlet
    context.bot_feed = daemon.bot_feed  # the read model of bots, fed by the same relay
    context.ws_limits = WsLimits(
        max_connections=config.api.ws_max_connections,
        max_connections_per_user=config.api.ws_max_connections_per_user,
        max_messages_per_s=config.api.ws_max_messages_per_s,
        queue_size=config.api.ws_queue_size,
        write_timeout_s=config.api.ws_write_timeout_s,
        auth_timeout_s=config.api.ws_auth_timeout_s,
    )
