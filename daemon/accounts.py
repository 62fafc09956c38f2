"""Exchange accounts made through the API: the sealing key, and their paper exchanges.

At boot, `open_sealer` reads the key (`TRADERD_ENCRYPTION_KEY` or `[api]
encryption_key_file`) and opens every sealed credential in the database with it: a key
that is missing or wrong while sealed credentials exist stops the boot with one line,
rather than failing later at the first live order. The key and every credential are
registered with the log redaction. `boot` starts an exchange actor for each account the
API made (paper, or on a ccxt exchange with its keys unsealed); at run time the API starts
and stops them through `AccountFleet`, its `api.account_control.AccountControl`.

A live account is ready once its exchange actor restored and reconciled; only then are its
markets known, and only then can its bots run. An exchange that is down at boot must not
hold up the daemon or turn its bots into errors: the boot goes on once the first attempt
failed (or after `LIVE_BOOT_WAIT_S`), and the account's bots resume when it is ready
(`_when_ready`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pykka

from actors.exchange import AwaitReady
from actors.messages import GetExchangeStatus, GetMarkets
from actors.feed import SubscribeMarketData
from actors.reply import FutureReply
from actors.risk import exchange_name
from actors.relay import WatchAccount
from actors.supervisor import ChildSpec, StartChild, StopChild
from daemon import wiring
from daemon.redact import SECRETS
from storage.accounts import LiveAccount, api_live_accounts, api_paper_accounts, sealed_credentials
from storage.sealing import KEY_ENV, Sealer, SealingError, key_spellings, parse_key
from trading.markets import Market
from trading.venues.ccxt_venue import CcxtSettings
from trading.venues.paper_markets import known_symbols, paper_market

if TYPE_CHECKING:
    from daemon.service import Daemon

logger = logging.getLogger(__name__)

PAPER_FEE = Decimal("0.001")
READY_TIMEOUT_S = 30.0
LIVE_BOOT_WAIT_S = 5.0
"""How long the boot waits for a live account made through the API before it goes on."""
LIVE_POLL_INTERVAL_S = 2.0
READY_POLL_S = 1.0
"""How often a live account that is not ready yet is asked again."""
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
        self._readiness: dict[str, asyncio.Task[bool]] = {}  # live account -> waiting for it

    async def boot(self) -> None:
        """Start the exchange actor of every account the API made. Paper ones are ready
        (restored from the journal) before the boot goes on to the bots; live ones are
        given `LIVE_BOOT_WAIT_S` together."""
        assert self.daemon.engine is not None
        loop = asyncio.get_running_loop()
        accounts = await loop.run_in_executor(None, api_paper_accounts, self.daemon.engine)
        for account_id, balances in accounts:
            await self.start_paper_account(account_id, balances)
        if accounts:
            logger.info("started the paper exchanges of %d accounts made through the API", len(accounts))
        live = await loop.run_in_executor(None, api_live_accounts, self.daemon.engine)
        ready = await asyncio.gather(*(self._boot_live(account) for account in live))
        if live:
            logger.info("connected %d of %d exchange accounts made through the API", sum(ready), len(live))

    async def _boot_live(self, account: LiveAccount) -> bool:
        try:
            return await self.start_live_account(account.id, self.live_settings(account), LIVE_BOOT_WAIT_S)
        except Exception as error:
            logger.error("account %s (%s) not connected: %s", account.id, account.exchange, error)
            return False

    def live_settings(self, account: LiveAccount) -> CcxtSettings:
        """The account's keys, unsealed with the daemon's key (the boot checked it opens them)."""
        sealer = self.daemon.sealer
        assert sealer is not None, "open_sealer refuses a boot with sealed keys and no key"
        return account.ccxt_settings(sealer, poll_interval_s=LIVE_POLL_INTERVAL_S)

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

    async def connect_live_account(self, account_id: str, wait_s: float) -> bool:
        """Start the exchange actor of a live account the API just stored (or changed), with
        its keys from the database; whether it became ready within `wait_s`."""
        assert self.daemon.engine is not None
        found = await asyncio.get_running_loop().run_in_executor(None, api_live_accounts, self.daemon.engine, account_id)
        if not found:
            raise LookupError(f"account {account_id} is not an account on a ccxt exchange with stored keys")
        return await self.start_live_account(account_id, self.live_settings(found[0]), wait_s)

    async def start_live_account(self, account_id: str, settings: CcxtSettings, wait_s: float) -> bool:
        """Start the account's exchange actor; whether it became ready within `wait_s`.
        If not, it keeps trying (with backoff) and is ready when its exchange answers."""
        daemon = self.daemon
        SECRETS.add([value for value in (settings.api_key, settings.secret, settings.password) if value])
        spec = wiring.live_exchange_spec(
            account_id, settings, daemon.clock, daemon.store, daemon.bus, daemon.directory, daemon.metrics,
            scheduler=daemon.scheduler,
        )
        ref = await self._ask_root(StartChild(spec=spec, reply=FutureReply()))
        self.gateway_names[account_id] = spec.name
        daemon.directory.tell("relay", WatchAccount(account_id=account_id))
        task = asyncio.ensure_future(self._when_ready(account_id))
        task.add_done_callback(functools.partial(_log_failure, account_id))
        previous = self._readiness.get(account_id)
        if previous is not None:
            previous.cancel()  # a reconnect: the old actor's wait is moot
        self._readiness[account_id] = task
        first = FutureReply()
        ref.tell(AwaitReady(reply=first, or_failure=True))  # a failed first attempt answers at once
        try:
            if await asyncio.wait_for(asyncio.wrap_future(first.future), wait_s) is not None:
                return await asyncio.wait_for(asyncio.shield(task), wait_s)
        except asyncio.TimeoutError:
            pass
        logger.warning("account %s: %s does not answer yet; its bots wait for it", account_id, settings.exchange)
        return False

    async def _when_ready(self, account_id: str) -> bool:
        """Once the account restored and reconciled: its markets, then its bots. It asks
        whichever actor runs the account now, as the supervisor may have replaced it."""
        while (markets := await self._ready_markets(account_id)) is None:
            await asyncio.sleep(READY_POLL_S)
        self.daemon.markets[account_id] = markets
        self.daemon.directory.tell("relay", WatchAccount(account_id=account_id))  # if the relay came later
        logger.info("account %s connected: %d markets", account_id, len(self.daemon.markets[account_id]))
        fleet = self.daemon.fleet
        if fleet is not None:  # past the boot's bots step: resume the bots that waited for it
            await fleet.restore_api_bots(account_id)
        return True

    async def _ready_markets(self, account_id: str) -> dict[str, Market] | None:
        """The markets of the account's exchange actor if it runs and is ready, else None
        (also when the actor dies or is replaced between the two questions)."""
        ref = self.daemon.directory.get(exchange_name(account_id))
        if ref is None:
            return None
        try:
            status = await _ask(ref, GetExchangeStatus)
            return await _ask(ref, GetMarkets) if status.ready else None
        except (asyncio.TimeoutError, pykka.ActorDeadError):
            return None

    async def close(self) -> None:
        """At shutdown: stop waiting for accounts that never became ready."""
        for task in self._readiness.values():
            task.cancel()
        self._readiness.clear()

    def connected(self, account_id: str) -> bool:
        """Its exchange actor runs and knows its markets (so its bots can run)."""
        return self.exchange_actor(account_id) is not None and account_id in self.daemon.markets

    async def stop_account(self, account_id: str) -> None:
        task = self._readiness.pop(account_id, None)
        if task is not None:
            task.cancel()
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


async def _ask(ref: Any, message_class: type, timeout_s: float = READY_POLL_S) -> Any:
    """`message_class(reply=...)` told to `ref`, its answer awaited for `timeout_s`."""
    reply = FutureReply()
    ref.tell(message_class(reply=reply))
    return await asyncio.wait_for(asyncio.wrap_future(reply.future), timeout_s)


def _log_failure(account_id: str, task: asyncio.Task[bool]) -> None:
    """A readiness wait that failed would otherwise be silent until garbage collection."""
    if not task.cancelled() and task.exception() is not None:
        logger.error("account %s: waiting for its exchange failed", account_id, exc_info=task.exception())
