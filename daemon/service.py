"""The running daemon: boot in named steps, serve, stop in reverse order.

Boot follows DESIGN.md (config -> database and migrations -> journal -> exchanges and
reconciliation -> feeds -> bots -> HTTP listen -> READY=1); each step that succeeds pushes its undo, and shutdown runs the undos
last-in first-out, so a boot that fails halfway still releases what it took. Blocking
work (migrations, stopping actors) runs in the default executor: the loop keeps turning
and signals keep arriving during boot and shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pykka
import pykka.debug
import tornado.httpserver
from sqlalchemy.engine import Engine

from actors.bus import EventBus
from actors.directory import ActorDirectory
from actors.exchange import AwaitReady
from actors.feed import SubscribeMarketData
from actors.risk import exchange_name
from actors.journal import EventStore, JournalActor
from actors.reply import FutureReply
from actors.scheduler import Scheduler
from actors.supervisor import ChildSpec, RestartPolicy, StartChild, Supervisor
from api.app import make_app
from api.context import ApiContext
from config.loader import database_url
from config.schema import DaemonConfig
from daemon import __version__, wiring
from daemon.sdnotify import notify
from storage import order_projections  # noqa: F401  (importing registers the projectors)
from storage.config_sync import config_bot_id, sync_config_objects
from storage.database import make_engine
from storage.journal_store import JournalStore
from storage.journal_writer import ProcessJournalStore
from storage.migrate import current_revision, upgrade
from storage.queries import open_orders_by_account
from trading.clock import SYSTEM_CLOCK
from trading.events import BotStatusChanged
from trading.markets import Market

logger = logging.getLogger(__name__)

ACTOR_STOP_TIMEOUT_S = 3.0
RECONCILE_TIMEOUT_S = 30.0
HTTP_DRAIN_TIMEOUT_S = 1.0


class BootError(Exception):
    """A boot step could not complete; the message says which and why, in one line."""


class Daemon:
    """One traderd process."""

    def __init__(self, config: DaemonConfig) -> None:
        self.config = config
        self.bus = EventBus()
        self.scheduler = Scheduler()
        self.directory = ActorDirectory()
        self.clock = SYSTEM_CLOCK
        self.engine: Engine | None = None
        self.store: JournalStore | None = None
        self.markets: dict[str, dict[str, Market]] = {}  # per account, from the exchanges step
        self.root: pykka.ActorRef[Any] | None = None
        self.journal: pykka.ActorRef[Any] | None = None
        self.http: tornado.httpserver.HTTPServer | None = None
        self._undo: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        self._stop_requested: asyncio.Event | None = None

    # -- the process --------------------------------------------------------------------

    async def run(self) -> int:
        """Boot, serve until SIGTERM/SIGINT, shut down; returns the exit code."""
        self._stop_requested = asyncio.Event()
        self._install_signal_handlers()
        exit_code = 0
        try:
            if await self._boot():
                notify("READY=1", "STATUS=serving")
                logger.info(
                    "traderd %s ready on http://%s:%d",
                    __version__, self.config.api.host, self.config.api.port,
                )
                notify(f"STATUS=serving; {len(self.config.bots)} bots")
                await self._stop_requested.wait()
        except BootError as error:
            logger.error("boot failed: %s", error)
            exit_code = 1
        finally:
            await self._shutdown()
        return exit_code

    def request_stop(self, reason: str = "stop requested") -> None:
        if self._stop_requested is not None and not self._stop_requested.is_set():
            logger.info("stopping: %s", reason)
            self._stop_requested.set()

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.request_stop, signal.Signals(signum).name)
        # A plain handler, not the loop's: it must dump threads even if the loop is stuck.
        signal.signal(signal.SIGUSR1, pykka.debug.log_thread_tracebacks)

    async def _boot(self) -> bool:
        """Runs the boot steps in order; False if a stop was requested halfway."""
        steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("database", self._boot_database),
            ("journal", self._boot_journal),
            ("exchanges", self._boot_exchanges),
            ("feeds", self._boot_feeds),
            ("bots", self._boot_bots),
            ("http", self._boot_http),
        ]
        for name, step in steps:
            if self._stop_requested is not None and self._stop_requested.is_set():
                return False
            started = time.monotonic()
            try:
                await step()
            except BootError:
                raise
            except wiring.WiringError as error:
                raise BootError(f"step {name}: {error}") from None
            except Exception as error:
                raise BootError(f"step {name}: {type(error).__name__}: {error}") from error
            logger.info("boot step %s done in %.0f ms", name, 1000 * (time.monotonic() - started))
        return True

    async def _shutdown(self) -> None:
        notify("STOPPING=1", "STATUS=stopping")
        started = time.monotonic()
        while self._undo:
            name, undo = self._undo.pop()
            try:
                await undo()
            except Exception:
                logger.exception("shutdown step %s failed", name)
        logger.info("stopped in %.0f ms", 1000 * (time.monotonic() - started))

    # -- boot steps ---------------------------------------------------------------------

    async def _boot_database(self) -> None:
        url = database_url(self.config)
        engine = make_engine(url, echo=self.config.database.echo)
        self.engine = engine
        self._undo.append(("database", self._in_executor(engine.dispose)))
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, upgrade, engine)
        revision = await loop.run_in_executor(None, current_revision, engine)
        logger.info(
            "database %s at revision %s", engine.url.render_as_string(hide_password=True), revision
        )
        accounts, bots = wiring.config_objects(self.config)
        await loop.run_in_executor(None, sync_config_objects, engine, accounts, bots)
        self.store = JournalStore(engine)

    async def _boot_journal(self) -> None:
        assert self.engine is not None
        supervision = self.config.supervisor
        self.scheduler.start()
        self._undo.append(("scheduler", self._in_executor(self.scheduler.stop)))
        self.root = Supervisor.start(
            name="supervisor",
            scheduler=self.scheduler,
            bus=self.bus,
            directory=self.directory,
            policy=RestartPolicy(
                max_restarts=supervision.max_restarts,
                window_s=supervision.restart_window_s,
                backoff_initial_s=supervision.backoff_initial_s,
                backoff_max_s=supervision.backoff_max_s,
            ),
            sweep_interval_s=supervision.sweep_interval_s,
            child_stop_timeout_s=ACTOR_STOP_TIMEOUT_S,
        )
        journal = self.config.journal
        writer: EventStore = self.store
        if journal.writer == "process":
            process_writer = ProcessJournalStore(database_url(self.config))
            await asyncio.get_running_loop().run_in_executor(None, process_writer.start)
            self._undo.append(("journal writer", self._in_executor(process_writer.close)))
            writer = process_writer
        self._undo.append(("actors", self._in_executor(self._stop_actors)))
        spec = ChildSpec(
            name="journal",
            actor_class=JournalActor,
            kwargs={
                "store": writer,
                "scheduler": self.scheduler,
                "batch_size": journal.batch_size,
                "flush_interval_ms": journal.flush_interval_ms,
                "bus": self.bus,
            },
        )
        self.journal = await self._start_child(spec)

    async def _boot_exchanges(self) -> None:
        """The risk actor, then one exchange actor per account, each restored from the
        journal and reconciled before this step ends: no bot trades before that."""
        assert self.engine is not None
        engine = self.engine
        await self._start_child(
            wiring.risk_spec(self.config, self.bus, self.directory, lambda: open_orders_by_account(engine))
        )
        for account in self.config.accounts:
            self.markets[account.id] = markets = wiring.account_markets(self.config, account)
            spec = wiring.exchange_spec(
                self.config, account, markets, self.clock, self.store, self.bus, self.directory
            )
            ref = await self._start_child(spec)
            reply = FutureReply()
            ref.tell(AwaitReady(reply=reply))
            await asyncio.wait_for(asyncio.wrap_future(reply.future), RECONCILE_TIMEOUT_S)

    async def _boot_feeds(self) -> None:
        for feed in self.config.feeds:
            await self._start_child(wiring.feed_spec(feed, self.scheduler, self.clock))
        # The paper exchanges match their resting orders on these prices. (A restarted
        # exchange actor subscribes again by itself once it has reconciled.)
        for account_id, feed_id in wiring.exchange_feeds(self.config):
            exchange = self.directory.get(exchange_name(account_id))
            if exchange is not None:
                self.directory.tell(wiring.feed_name(feed_id), SubscribeMarketData(ref=exchange))

    async def _boot_bots(self) -> None:
        for bot in self.config.bots:
            market = self.markets[bot.account][bot.symbol]
            try:
                wiring.check_grid(bot, market)
            except wiring.WiringError as error:
                logger.error("not starting %s", error)
                self.directory.tell("journal", BotStatusChanged(
                    bot_id=config_bot_id(bot.id), status="error", error_message=str(error)
                ))
                continue
            spec = wiring.bot_spec(self.config, bot, market, self.clock, self.store, self.bus, self.directory)
            await self._start_child(spec)

    async def _start_child(self, spec: ChildSpec) -> pykka.ActorRef[Any]:
        assert self.root is not None
        reply = FutureReply()
        self.root.tell(StartChild(spec=spec, reply=reply))
        return await asyncio.wrap_future(reply.future)

    async def _boot_http(self) -> None:
        context = ApiContext(version=__version__)
        server = tornado.httpserver.HTTPServer(make_app(context), xheaders=False)
        try:
            server.listen(self.config.api.port, address=self.config.api.host)
        except OSError as error:
            raise BootError(
                f"step http: cannot listen on {self.config.api.host}:{self.config.api.port}: {error.strerror}"
            ) from None
        self.http = server
        self._undo.append(("http", self._stop_http))

    # -- shutdown steps -----------------------------------------------------------------

    async def _stop_http(self) -> None:
        assert self.http is not None
        self.http.stop()
        try:
            await asyncio.wait_for(self.http.close_all_connections(), HTTP_DRAIN_TIMEOUT_S)
        except asyncio.TimeoutError:
            logger.warning("HTTP connections still open after %.1f s; closing anyway", HTTP_DRAIN_TIMEOUT_S)

    def _stop_actors(self) -> None:
        """Stop the tree (children in reverse start order; the journal flushes last)."""
        if self.root is not None and self.root.is_alive():
            try:
                self.root.stop(block=True, timeout=ACTOR_STOP_TIMEOUT_S + 1)
            except pykka.Timeout:
                logger.error("the actor tree did not stop within %.1f s", ACTOR_STOP_TIMEOUT_S + 1)
        stragglers = pykka.ActorRegistry.get_all()
        if stragglers:
            logger.warning("stopping %d actors left outside the tree", len(stragglers))
            pykka.ActorRegistry.stop_all(block=True, timeout=ACTOR_STOP_TIMEOUT_S)

    @staticmethod
    def _in_executor(function: Callable[[], Any]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            await asyncio.get_running_loop().run_in_executor(None, function)

        return run


def run_daemon(config: DaemonConfig) -> int:
    """Run the daemon on a fresh event loop in this (the main) thread."""
    return asyncio.run(Daemon(config).run())
