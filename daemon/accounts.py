"""Exchange accounts made through the API: the sealing key, and their paper exchanges.

At boot, `open_sealer` reads the key (`TRADERD_ENCRYPTION_KEY` or `[api]
encryption_key_file`) and opens every sealed credential in the database with it: a key
that is missing or wrong while sealed credentials exist stops the boot with one line,
rather than failing later at the first live order. The key and every credential are
registered with the log redaction. `boot` starts an exchange actor for each paper account
the API made; at run time the API starts and stops them through `AccountFleet`, its
`api.account_control.AccountControl`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from actors.exchange import AwaitReady
from actors.feed import SubscribeMarketData
from actors.reply import FutureReply
from actors.risk import exchange_name
from actors.relay import WatchAccount
from actors.supervisor import ChildSpec, StartChild, StopChild
from daemon import wiring
from daemon.redact import SECRETS
from storage.accounts import api_paper_accounts, sealed_credentials
from storage.sealing import KEY_ENV, Sealer, SealingError, key_spellings, parse_key
from trading.markets import Market
from trading.venues.paper_markets import known_symbols, paper_market

if TYPE_CHECKING:
    from daemon.service import Daemon

logger = logging.getLogger(__name__)

PAPER_FEE = Decimal("0.001")
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 3.0


def read_key(daemon: Daemon) -> bytes | None:
    """The configured sealing key, or None; `WiringError` (one line) when it is malformed
    or its file unreadable. Blocking."""
    api = daemon.config.api
    if api.encryption_key is not None:
        text, source = api.encryption_key.get_secret_value(), f"{KEY_ENV} ([api] encryption_key)"
    elif api.encryption_key_file is not None:
        try:
            text = api.encryption_key_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise wiring.WiringError(f"cannot read [api] encryption_key_file {api.encryption_key_file}: {reason}") from None
        source = f"[api] encryption_key_file {api.encryption_key_file}"
    else:
        return None
    SECRETS.add([text.strip()])
    try:
        key = parse_key(text)
    except ValueError as error:
        raise wiring.WiringError(f"{source}: {error}") from None
    SECRETS.add(key_spellings(key))
    return key


def open_sealer(daemon: Daemon) -> Sealer | None:
    """The sealer for the API, after checking it opens every sealed credential. Blocking."""
    assert daemon.engine is not None
    key = read_key(daemon)
    sealer = None if key is None else Sealer(key)
    sealed = sealed_credentials(daemon.engine)
    if sealed and sealer is None:
        raise wiring.WiringError(
            f"{len({account for account, _, _ in sealed})} exchange accounts in the database hold sealed API keys"
            f" but no encryption key is set: set {KEY_ENV} (or [api] encryption_key_file) to the key they were sealed with"
        )
    assert sealer is not None or not sealed
    clear = []
    for account_id, field, value in sealed:
        try:
            clear.append(sealer.unseal(value, account_id, field))  # type: ignore[union-attr]
        except SealingError:
            raise wiring.WiringError(
                f"{KEY_ENV} does not open the sealed API keys in the database (account {account_id}, {field}):"
                " it is the wrong key, or the value was altered"
            ) from None
    SECRETS.add(clear)
    if sealed:
        logger.info("encryption key opens the %d sealed credentials in the database", len(sealed))
    return sealer


def paper_markets() -> dict[str, Market]:
    """The markets of an API paper account: every symbol the paper exchange lists."""
    return {symbol: paper_market(symbol, PAPER_FEE, PAPER_FEE) for symbol in known_symbols()}


class AccountFleet:
    """The daemon's side of `AccountControl`: the exchange actors of API paper accounts."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.gateway_names: dict[str, str] = {}
        """The API gateway's account -> exchange actor map; kept current as accounts come and go."""

    async def boot(self) -> None:
        """Start the exchange actor of every paper account the API made, each ready
        (restored from the journal) before the boot goes on to the bots."""
        assert self.daemon.engine is not None
        accounts = await asyncio.get_running_loop().run_in_executor(None, api_paper_accounts, self.daemon.engine)
        for account_id, balances in accounts:
            await self.start_paper_account(account_id, balances)
        if accounts:
            logger.info("started the paper exchanges of %d accounts made through the API", len(accounts))

    def subscribe_feeds(self) -> None:
        """After the feeds step: the boot-time paper exchanges subscribed before any feed ran."""
        for account_id in list(self.gateway_names):
            ref = self.daemon.directory.get(exchange_name(account_id))
            if ref is not None:
                for feed_name in self._feed_names(self.daemon.markets.get(account_id, {})):
                    self.daemon.directory.tell(feed_name, SubscribeMarketData(ref=ref))

    # -- AccountControl -------------------------------------------------------------------

    def exchange_actor(self, account_id: str) -> str | None:
        name = exchange_name(account_id)
        return name if self.daemon.directory.get(name) is not None else None

    async def start_paper_account(self, account_id: str, initial_balances: Mapping[str, Decimal]) -> None:
        daemon = self.daemon
        markets = paper_markets()
        account = SimpleNamespace(id=account_id, initial_balances=dict(initial_balances))
        spec = wiring.exchange_spec(
            daemon.config, account, markets, daemon.clock, daemon.store, daemon.bus, daemon.directory, daemon.metrics
        )
        spec = ChildSpec(spec.name, spec.actor_class, {**spec.kwargs, "feed_names": self._feed_names(markets)}, spec.policy)
        ref = await self._ask_root(StartChild(spec=spec, reply=FutureReply()))
        daemon.markets[account_id] = markets
        self.gateway_names[account_id] = spec.name
        ready = FutureReply()
        ref.tell(AwaitReady(reply=ready))
        await asyncio.wait_for(asyncio.wrap_future(ready.future), READY_TIMEOUT_S)
        # WebSocket clients on `account:{id}` get its balance updates from the first one on.
        daemon.directory.tell("relay", WatchAccount(account_id=account_id))

    async def stop_account(self, account_id: str) -> None:
        self.gateway_names.pop(account_id, None)
        self.daemon.markets.pop(account_id, None)
        if self.daemon.directory.get(exchange_name(account_id)) is not None:
            await self._ask_root(StopChild(name=exchange_name(account_id), timeout_s=STOP_TIMEOUT_S, reply=FutureReply()))

    def protect(self, secrets: Iterable[str]) -> None:
        SECRETS.add(secrets)

    # -- helpers --------------------------------------------------------------------------

    def _feed_names(self, markets: Mapping[str, Market]) -> tuple[str, ...]:
        """Every configured feed of a symbol the account lists: the paper exchange matches
        its resting orders on their prices."""
        return tuple(wiring.feed_name(feed.id) for feed in self.daemon.config.feeds if feed.symbol in markets)

    async def _ask_root(self, command: StartChild | StopChild) -> Any:
        assert self.daemon.root is not None and command.reply is not None
        self.daemon.root.tell(command)
        return await asyncio.wrap_future(command.reply.future)  # type: ignore[attr-defined]
