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
from config.loader import resolve_state_dir
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
    exchanges = {account.id: exchange_name(account.id) for account in config.accounts}
    feeds = {feed.id: feed_name(feed.id) for feed in config.feeds}
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
