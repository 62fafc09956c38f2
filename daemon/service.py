"""The running daemon: boot in named steps, serve, stop in reverse order.

Boot follows DESIGN.md (config -> database and migrations -> journal -> exchanges and
reconciliation -> feeds -> bots -> relay -> HTTP listen -> READY=1); each step that succeeds pushes its undo, and shutdown runs the undos
last-in first-out, so a boot that fails halfway still releases what it took. Blocking
work (migrations, stopping actors) runs in the default executor: the loop keeps turning
and signals keep arriving during boot and shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pykka
import pykka.debug
import tornado.httpserver
from sqlalchemy.engine import Engine

from actors.bot_status import BotStatusBoard, BotStatuses
from actors.bus import EventBus
from actors.directory import ActorDirectory
from actors.exchange import AwaitReady
from actors.messages import GetMarkets
from actors.heartbeat import Heartbeat
from actors.feed import SubscribeMarketData
from actors.relay import RelayActor
from actors.risk import exchange_name
from actors.journal import EventStore, JournalActor
from actors.metrics import ActorMetrics, MetricsActor
from actors.reply import FutureReply
from actors.scheduler import Scheduler
from actors.supervisor import ChildSpec, RestartPolicy, StartChild, Supervisor
from api.app import make_app
from api.context import ApiContext
from api.bot_feed import BotViewFeed
from api.ws.outlet import RelayOutlet
from config.loader import database_url
from config.schema import DaemonConfig
from daemon import __version__, testhooks, wiring
from daemon.accounts import AccountFleet, open_sealer
from daemon.api_wiring import wire_api
from daemon.fleet import Fleet
from daemon.metrics import make_registry
from daemon.reload import Reloader
from daemon.sdnotify import monotonic_usec, notify, watchdog_interval_s
from daemon.watchdog import JOURNAL_STALL_S, Vital, Watchdog
from storage import order_projections  # noqa: F401  (importing registers the projectors)
from storage import account_projections  # noqa: F401  (exchange accounts made through the API)
from storage import bot_projections  # noqa: F401  (bots made through the API)
from storage.config_sync import config_bot_id, sync_config_objects
from storage.database import make_engine
from storage.journal_store import JournalStore
from storage.sealing import Sealer
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
RELOAD_DRAIN_TIMEOUT_S = 20.0


class BootError(Exception):
    """A boot step could not complete; the message says which and why, in one line."""


class Daemon:
    """One traderd process."""

    def __init__(self, config: DaemonConfig, config_path: Path | None = None) -> None:
        self.config = config
        self.config_path = config_path  # read again on SIGHUP
        self.bus = EventBus()
        self.scheduler = Scheduler()
        self.directory = ActorDirectory()
        self.clock = SYSTEM_CLOCK
        self.registry = make_registry(__version__)
        self.metrics = ActorMetrics(self.registry, self.directory)
        self.engine: Engine | None = None
        self.store: JournalStore | None = None
        self.markets: dict[str, dict[str, Market]] = {}  # per account, from the exchanges step
        self.sealer: Sealer | None = None  # seals API-made accounts' credentials (database step)
        self.account_fleet = AccountFleet(self)
        self.root: pykka.ActorRef[Any] | None = None
        self.journal: pykka.ActorRef[Any] | None = None
        self.http: tornado.httpserver.HTTPServer | None = None
        self._undo: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        self._stop_requested: asyncio.Event | None = None
        self.bot_statuses = BotStatuses()
        self.fleet: Fleet | None = None  # the bots step makes it
        self.ws_outlet = RelayOutlet()  # the relay hands WebSocket events to the loop here
        self.bot_feed = BotViewFeed()  # ... and bots' figures and commits to the API's read model
        self._status_line = ""
        self._ready = False
        self._watchdog: Watchdog | None = None
        self._watchdog_task: asyncio.Task[None] | None = None
        self._reload_wanted = False
        self._reload_task: asyncio.Task[None] | None = None
        self._wedge = testhooks.Wedge() if testhooks.enabled() else None

    # -- the process --------------------------------------------------------------------

    async def run(self) -> int:
        """Boot, serve until SIGTERM/SIGINT, shut down; returns the exit code."""
        self._stop_requested = asyncio.Event()
        self._install_signal_handlers()
        self._start_watchdog()
        loop = asyncio.get_running_loop()
        self.bot_statuses.on_change = lambda: _call_soon(loop, self._report_status)
        exit_code = 0
        try:
            if await self._boot():
                self._ready = True
                notify("READY=1", self._status())
                logger.info(
                    "traderd %s ready on http://%s:%d",
                    __version__, self.config.api.host, self.config.api.port,
                )
                if self._reload_wanted:  # a SIGHUP during boot
                    self.request_reload()
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

    def request_reload(self) -> None:
        """SIGHUP: reload the config-file bots. Reloads run one at a time; SIGHUPs that
        arrive during one are coalesced into one more reload after it."""
        self._reload_wanted = True
        if not self._ready or self.config_path is None:
            if self.config_path is None:
                logger.warning("SIGHUP ignored: the daemon was not started from a config file")
            return  # boot reloads once it is done, if asked meanwhile
        if self._reload_task is None or self._reload_task.done():
            self._reload_task = asyncio.get_running_loop().create_task(self._reload_loop())

    async def _reload_loop(self) -> None:
        assert self.config_path is not None
        reloader = Reloader(self, self.config_path)
        while self._reload_wanted and not self._stopping():
            self._reload_wanted = False
            logger.info("reloading %s", self.config_path)
            notify("RELOADING=1", monotonic_usec(), "STATUS=reloading the config")
            try:
                await reloader.reload()
            except Exception:
                logger.exception("reload failed halfway; the bots stand as the log above says")
            notify("READY=1", self._status())

    def _stopping(self) -> bool:
        return self._stop_requested is not None and self._stop_requested.is_set()

    def _status(self) -> str:
        """The `STATUS=` line: how many bots run, kept current by the status board."""
        running = self.bot_statuses.count("running")
        return f"STATUS=serving; {running} bot{'s' if running != 1 else ''} running"

    def _report_status(self) -> None:
        if not self._ready or self._stopping():
            return
        line = self._status()
        if line != self._status_line:
            self._status_line = line
            notify(line)

    def _start_watchdog(self) -> None:
        interval = watchdog_interval_s()
        if interval is None:
            return
        self._watchdog = Watchdog(interval)
        self._watchdog_task = asyncio.get_running_loop().create_task(self._watchdog.run())
        logger.info("systemd watchdog: a ping every %.1f s while the supervisor and journal tick", interval)

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.request_stop, signal.Signals(signum).name)
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)
        if self._wedge is not None:
            loop.add_signal_handler(signal.SIGUSR2, self._wedge_supervisor)
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
            ("relay", self._boot_relay),
            ("http", self._boot_http),
        ]
        for name, step in steps:
            if self._stop_requested is not None and self._stop_requested.is_set():
                return False
            started = time.monotonic()
            notify(f"STATUS=boot step {name}")
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
        self._ready = False
        if self._watchdog_task is not None:
            self._watchdog_task.cancel()  # systemd stops watching once STOPPING=1 arrives
        if self._wedge is not None:
            self._wedge.release()
        if self._reload_task is not None and not self._reload_task.done():
            logger.info("waiting for the reload under way to finish")
            try:
                await asyncio.wait_for(asyncio.shield(self._reload_task), RELOAD_DRAIN_TIMEOUT_S)
            except asyncio.TimeoutError:
                self._reload_task.cancel()
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
        self.sealer = await loop.run_in_executor(None, open_sealer, self)

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
            heartbeat=self._vital("supervisor", supervision.sweep_interval_s),
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
                "heartbeat": self._vital("journal", journal.flush_interval_ms / 1000, JOURNAL_STALL_S),
                "metrics": self.metrics,
            },
        )
        self.journal = await self._start_child(spec)
        # Next to the journal, before any trading actor: it sees every bot's first status.
        # The supervisor stops it with the tree (the "actors" undo above).
        await self._start_child(ChildSpec(name="metrics", actor_class=MetricsActor, kwargs={
            "metrics": self.metrics, "bus": self.bus, "directory": self.directory, "scheduler": self.scheduler,
        }))

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
                self.config, account, markets, self.clock, self.store, self.bus, self.directory, self.metrics,
                scheduler=self.scheduler,
            )
            ref = await self._start_child(spec)
            reply = FutureReply()
            ref.tell(AwaitReady(reply=reply))
            await asyncio.wait_for(asyncio.wrap_future(reply.future), RECONCILE_TIMEOUT_S)
            if wiring.is_live(account):  # its markets come from the exchange, now it is ready
                reply = FutureReply()
                ref.tell(GetMarkets(reply=reply))
                self.markets[account.id] = await asyncio.wait_for(asyncio.wrap_future(reply.future), RECONCILE_TIMEOUT_S)
                wiring.check_symbols(self.config, account.id, self.markets[account.id])
        await self.account_fleet.boot()  # accounts made through the API
        self._undo.append(("accounts", self.account_fleet.close))

    async def _boot_feeds(self) -> None:
        for feed in self.config.feeds:
            await self._start_child(wiring.feed_spec(feed, self.scheduler, self.clock, self.metrics))
        # The paper exchanges match their resting orders on these prices. (A restarted
        # exchange actor subscribes again by itself once it has reconciled.)
        for account_id, feed_id in wiring.exchange_feeds(self.config):
            exchange = self.directory.get(exchange_name(account_id))
            if exchange is not None:
                self.directory.tell(wiring.feed_name(feed_id), SubscribeMarketData(ref=exchange))
        self.account_fleet.subscribe_feeds()

    async def _boot_bots(self) -> None:
        await self._start_child(ChildSpec(
            name="bot-status", actor_class=BotStatusBoard,
            kwargs={"bus": self.bus, "statuses": self.bot_statuses},
        ))
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
            spec = wiring.bot_spec(
                self.config, bot, market, self.clock, self.store, self.bus, self.directory, self.metrics
            )
            await self._start_child(spec)
        # Bots made through the API that were running, paused or stopping come back.
        self.fleet = Fleet.of_daemon(self)
        resumed = await self.fleet.restore_api_bots()
        if resumed:
            logger.info("resumed %d bots made through the API", resumed)

    def _vital(self, name: str, interval_s: float, max_stall_s: float | None = None) -> Heartbeat:
        """A heartbeat for a critical actor, watched by the systemd watchdog if there is one."""
        heartbeat = Heartbeat()
        if self._watchdog is not None:
            self._watchdog.watch(Vital.every(name, heartbeat, interval_s, max_stall_s))
        return heartbeat

    def _wedge_supervisor(self) -> None:
        """SIGUSR2 with `TRADERD_TEST_HOOKS=1` only (see `daemon.testhooks`)."""
        if self._wedge is not None and self.root is not None:
            self._wedge.wedge(self.root)

    async def _start_child(self, spec: ChildSpec) -> pykka.ActorRef[Any]:
        assert self.root is not None
        reply = FutureReply()
        self.root.tell(StartChild(spec=spec, reply=reply))
        return await asyncio.wrap_future(reply.future)

    async def _boot_relay(self) -> None:
        """The relay: events for WebSocket clients, from the bus and the feeds, to `ws_outlet`."""
        await self._start_child(ChildSpec(name="relay", actor_class=RelayActor, kwargs={
            "bus": self.bus,
            "directory": self.directory,
            "outlet": self._relay_outlet,
            "feed_names": tuple(wiring.feed_name(feed.id) for feed in self.config.feeds),
            "account_ids": tuple(self.markets),  # config accounts and the API's, as booted
        }))

    def _relay_outlet(self, batch: Sequence[Any]) -> None:
        """The relay's thread: each side keeps what it needs of `batch`."""
        self.ws_outlet.push(batch)
        self.bot_feed.push(batch)

    async def _boot_http(self) -> None:
        context = ApiContext(version=__version__, registry=self.registry)
        await asyncio.get_running_loop().run_in_executor(None, wire_api, context, self)
        server = tornado.httpserver.HTTPServer(make_app(context), xheaders=False)
        try:
            server.listen(self.config.api.port, address=self.config.api.host)
        except OSError as error:
            raise BootError(
                f"step http: cannot listen on {self.config.api.host}:{self.config.api.port}: {error.strerror}"
            ) from None
        self.http = server
        self._undo.append(("http", self._stop_http))

        async def close_websockets() -> None:  # before the HTTP server drains: 1001 to each
            context.ws_hub.shutdown()

        self._undo.append(("websockets", close_websockets))

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


def run_daemon(config: DaemonConfig, config_path: Path | None = None) -> int:
    """Run the daemon on a fresh event loop in this (the main) thread; `config_path` is
    read again on SIGHUP."""
    return asyncio.run(Daemon(config, config_path).run())


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    """Hand `callback` to the loop from another thread; dropped once the loop is closed."""
    try:
        loop.call_soon_threadsafe(callback)
    except RuntimeError:
        pass
