"""The bots' actors at run time: start, stop, replace and remove bot children.

The SIGHUP reload (config-file bots) and the API (`api.control.BotControl`, for bots made
through it and for start/stop of config bots) both go through here, so a bot made through
the API runs exactly like a config bot: a `BotActor` child of the root supervisor, built by
`daemon.wiring.grid_bot_spec`. Everything here runs on the IOLoop and never blocks it: it
awaits the supervisor's replies and polls the status board (`actors.bot_status`).

An API bot gets an actor when it is first started and keeps it while it exists; a stopped
bot's actor stays (idle) until its config changes or it is deleted. After a restart the
daemon starts an actor for every API bot the journal left running, paused or stopping
(`restore_api_bots`); the actor resumes the status it had.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select

from actors.bot import PauseBot, ResumeBot, StartBot, StopBot, StopPolicy
from actors.bot_status import BotStatuses
from actors.directory import ActorDirectory
from actors.feed import SubscribeMarketData
from actors.reply import FutureReply
from actors.risk import exchange_name
from actors.supervisor import ChildSpec, StartChild, StopChild
from api.control import BotControlError, BotDefinition
from config.grid import fit_grid
from daemon import wiring
from storage.models import BotRow, PaperBalanceRow
from trading.clock import Clock
from trading.events import BotStatusChanged
from trading.grid.geometry import GridConfigError
from trading.markets import Market

if TYPE_CHECKING:
    from daemon.service import Daemon

logger = logging.getLogger(__name__)

POLL_S = 0.05
CHILD_STOP_TIMEOUT_S = 3.0
"""Short of the watchdog's 5 s: the supervisor waits this long for the actor to end."""
START_WAIT_S = 5.0
STOP_WAIT_S = 15.0
"""How long a stopping bot may take to cancel its orders before the caller stops waiting."""
RUNNING_STATES = frozenset({"running", "paused", "starting"})
DONE_STATES = frozenset({"stopped", "error"})
RESUMABLE_STATES = ("running", "paused", "starting", "stopping")


class Fleet:
    """Bot children of one supervisor; implements `api.control.BotControl`."""

    def __init__(
        self,
        *,
        root: Any,
        directory: ActorDirectory,
        statuses: BotStatuses,
        engine: Engine,
        clock: Clock,
        store: Any,
        bus: Any,
        markets: Mapping[str, Mapping[str, Market]],
        feed_of: Callable[[str], str | None],
        metrics: Any = None,
        stop_policy_of: Callable[[str], StopPolicy | None] = lambda config_key: None,
        initial_balances: Callable[[str], Mapping[str, Decimal]] = lambda account_id: {},
    ) -> None:
        self.root = root
        self.directory = directory
        self.statuses = statuses
        self.engine = engine
        self.clock = clock
        self.store = store
        self.bus = bus
        self.markets = markets
        self.feed_of = feed_of
        self.metrics = metrics
        self.stop_policy_of = stop_policy_of
        self.initial_balances = initial_balances
        self._resuming: set[str] = set()  # bots whose actor is being started by a restore

    @classmethod
    def of_daemon(cls, daemon: Daemon) -> Fleet:
        """The fleet of a daemon booted up to its bots step; it reads the daemon's config
        each time, so reloaded feeds and bots are seen."""
        assert daemon.engine is not None

        def feed_of(symbol: str) -> str | None:
            return next((feed.id for feed in daemon.config.feeds if feed.symbol == symbol), None)

        def stop_policy_of(config_key: str) -> StopPolicy | None:
            bot = next((bot for bot in daemon.config.bots if bot.id == config_key), None)
            return wiring.config_stop_policy(bot) if bot is not None else None

        def initial_balances(account_id: str) -> Mapping[str, Decimal]:
            account = next((a for a in daemon.config.accounts if a.id == account_id), None)
            return dict(getattr(account, "initial_balances", {}))

        return cls(
            root=daemon.root, directory=daemon.directory, statuses=daemon.bot_statuses,
            engine=daemon.engine, clock=daemon.clock, store=daemon.store, bus=daemon.bus,
            markets=daemon.markets, feed_of=feed_of, metrics=daemon.metrics,
            stop_policy_of=stop_policy_of, initial_balances=initial_balances,
        )

    # -- reads ----------------------------------------------------------------------------

    def market(self, account_id: str, symbol: str) -> Market | None:
        return self.markets.get(account_id, {}).get(symbol)

    def cannot_run(self, account_id: str, symbol: str) -> str | None:
        if self.directory.get(exchange_name(account_id)) is None:
            return f"account {account_id!r} has no running exchange actor in this daemon"
        if self.market(account_id, symbol) is None:
            return f"account {account_id!r} does not trade {symbol}"
        if self.feed_of(symbol) is None:
            return f"no feed delivers {symbol} prices"
        return None

    def status(self, bot_id: str) -> str | None:
        if self.directory.get(wiring.bot_name(bot_id)) is None:
            return None
        return self.statuses.get(bot_id)

    def free_balance(self, account_id: str, asset: str) -> Decimal | None:
        balances = PaperBalanceRow.__table__
        with self.engine.connect() as connection:
            free = connection.execute(
                select(balances.c.free).where(balances.c.account_id == account_id, balances.c.asset == asset)
            ).scalar_one_or_none()
        if free is not None:
            return free
        return self.initial_balances(account_id).get(asset)

    # -- life cycle -----------------------------------------------------------------------

    async def start_bot(self, bot: BotDefinition) -> str:
        name = wiring.bot_name(bot.bot_id)
        if self.directory.get(name) is not None:
            self.directory.tell(name, StartBot(bot_id=bot.bot_id))
        else:
            spec = self._spec(bot)
            # The new actor restores from the journal and resumes its last status: make
            # that "starting", so it runs.
            self.directory.tell("journal", BotStatusChanged(bot_id=bot.bot_id, status="starting"))
            self.statuses.set(bot.bot_id, "starting")
            await self._spawn(spec, bot)
        return await self._wait(bot.bot_id, {"running", "error"}, START_WAIT_S)

    async def stop_bot(
        self, bot_id: str, *, cancel_orders: bool | None = None, sell_base: bool | None = None,
        timeout_s: float = STOP_WAIT_S,
    ) -> str:
        """Stop per the arguments (None: the bot's own policy); the status it reached."""
        name = wiring.bot_name(bot_id)
        deadline = time.monotonic() + timeout_s
        # A bot still restoring has no status yet, and cannot take a stop before it has one.
        while self.statuses.get(bot_id) is None and self.directory.get(name) is not None:
            if time.monotonic() > deadline:
                return "starting"
            await asyncio.sleep(POLL_S)
        status = self.statuses.get(bot_id)
        if status in DONE_STATES:
            return status
        if self.directory.get(name) is None:
            # No actor runs it (its restore failed, say): the stored status is what is wrong.
            self.directory.tell("journal", BotStatusChanged(bot_id=bot_id, status="stopped"))
            return "stopped"
        self.directory.tell(name, StopBot(bot_id=bot_id, cancel_orders=cancel_orders, sell_base=sell_base))
        return await self._wait(bot_id, DONE_STATES, max(deadline - time.monotonic(), 0))

    async def pause_bot(self, bot_id: str) -> str:
        self.directory.tell(wiring.bot_name(bot_id), PauseBot(bot_id=bot_id))
        return await self._wait(bot_id, {"paused"}, START_WAIT_S)

    async def resume_bot(self, bot_id: str) -> str:
        self.directory.tell(wiring.bot_name(bot_id), ResumeBot(bot_id=bot_id))
        return await self._wait(bot_id, {"running"}, START_WAIT_S)

    async def reconfigure_bot(self, bot: BotDefinition) -> None:
        if self.directory.get(wiring.bot_name(bot.bot_id)) is None:
            return
        was = self.statuses.get(bot.bot_id)
        if was in RUNNING_STATES:
            spec = self._spec(bot)
            # The new child replaces the old one, restores, and resumes the status it had.
            self.statuses.set(bot.bot_id, "starting")
            await self._spawn(spec, bot)
            await self._wait(bot.bot_id, {"running" if was == "starting" else was, "error"}, START_WAIT_S)
        else:
            await self.remove_bot(bot.bot_id)

    async def remove_bot(self, bot_id: str) -> None:
        name = wiring.bot_name(bot_id)
        if self.directory.get(name) is not None:
            await self.ask_root(StopChild(name=name, timeout_s=CHILD_STOP_TIMEOUT_S, reply=FutureReply()))

    async def restore_api_bots(self, account_id: str | None = None) -> int:
        """An actor for every API bot the journal left active (of one account, when given);
        how many. A bot whose live account is still connecting is left as it is: the
        account resumes it once ready (`daemon.accounts.AccountFleet`)."""
        bots = await asyncio.get_running_loop().run_in_executor(None, self._active_api_bots)
        started = 0
        for bot in bots:
            if account_id is not None and bot.account_id != account_id:
                continue
            if bot.bot_id in self._resuming or self.directory.get(wiring.bot_name(bot.bot_id)) is not None:
                continue
            if self.directory.get(exchange_name(bot.account_id)) is not None and not self.markets.get(bot.account_id):
                logger.info("bot %s waits for account %s to connect", bot.bot_id, bot.account_id)
                continue
            try:
                spec = self._spec(bot)
            except BotControlError as error:
                logger.error("not resuming bot %s: %s", bot.bot_id, error.message)
                self.directory.tell("journal", BotStatusChanged(
                    bot_id=bot.bot_id, status="error", error_message=error.message,
                ))
                continue
            self._resuming.add(bot.bot_id)
            try:
                await self._spawn(spec, bot)
            finally:
                self._resuming.discard(bot.bot_id)
            started += 1
        return started

    # -- the supervisor -------------------------------------------------------------------

    async def ask_root(self, command: StartChild | StopChild) -> Any:
        assert command.reply is not None
        self.root.tell(command)
        return await asyncio.wrap_future(command.reply.future)  # type: ignore[attr-defined]

    async def start_child(self, spec: ChildSpec) -> Any:
        return await self.ask_root(StartChild(spec=spec, reply=FutureReply()))

    # -- helpers --------------------------------------------------------------------------

    async def _spawn(self, spec: ChildSpec, bot: BotDefinition) -> None:
        feed = spec.kwargs["feed_name"]
        exchange = self.directory.get(exchange_name(bot.account_id))
        if exchange is not None:  # the paper exchange matches its resting orders on these prices
            self.directory.tell(feed, SubscribeMarketData(ref=exchange))
        await self.start_child(spec)

    def _spec(self, bot: BotDefinition) -> ChildSpec:
        """The bot's child spec; `BotControlError` when this daemon cannot run it."""
        reason = self.cannot_run(bot.account_id, bot.symbol)
        if reason is not None:
            raise BotControlError("CONFLICT", reason)
        if bot.strategy != "grid":
            raise BotControlError("CONFLICT", f"strategy {bot.strategy!r} is not supported")
        market = self.market(bot.account_id, bot.symbol)
        feed = self.feed_of(bot.symbol)
        assert market is not None and feed is not None
        try:
            fit_grid(bot.config, market)
        except GridConfigError as error:
            raise BotControlError(error.code, error.message) from None
        policy = self.stop_policy_of(bot.config_key) if bot.config_key is not None else None
        if policy is None:
            policy = StopPolicy(cancel_orders=True, sell_base=bot.config.sell_base_on_stop)
        return wiring.grid_bot_spec(
            bot.bot_id, bot.account_id, market, bot.config, feed,
            self.clock, self.store, self.bus, self.directory, self.metrics,
            auto_start=False, stop_policy=policy,
        )

    async def _wait(self, bot_id: str, wanted: set[str] | frozenset[str], timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        name = wiring.bot_name(bot_id)
        while self.statuses.get(bot_id) not in wanted:
            if time.monotonic() > deadline or self.directory.get(name) is None:
                break
            await asyncio.sleep(POLL_S)
        return self.statuses.get(bot_id) or "stopped"

    def _active_api_bots(self) -> list[BotDefinition]:
        bots = BotRow.__table__
        query = select(bots).where(bots.c.source == "api", bots.c.status.in_(RESUMABLE_STATES))
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [BotDefinition.of_row(row) for row in rows]
