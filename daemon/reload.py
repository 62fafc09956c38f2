"""SIGHUP: read the config files again and apply what changed to the config-file bots.

The new config (main file, `bots.d/`, environment) is validated in full before anything
is touched; an invalid one is rejected with its `ConfigError` line and the running set
stays as it was. Otherwise bots are diffed by their config id: removed ones stop per their
`on_stop` policy and leave the tree, changed ones stop the same way and start again on the
new config, added ones are synced into the database and started (with their feed, if it
is not running yet). A bot that cannot be wired (an account or market this process does
not run, a grid that does not fit) is refused with one log line and the rest goes on.
Other sections (accounts, database, api, ...) are only read at boot: a change there is
logged as needing a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actors.feed import SubscribeMarketData
from actors.messages import Flush
from actors.reply import FutureReply
from actors.risk import JOURNAL, exchange_name
from actors.supervisor import ChildSpec, StartChild, StopChild
from config.loader import ConfigError, load_config
from config.schema import DaemonConfig, GridBotConfig
from daemon import wiring
from daemon.redact import SECRETS, config_secrets
from storage.config_sync import config_bot_id
from trading.bot_events import ConfigBotSynced
from trading.events import BotStatusChanged
from trading.markets import Market

if TYPE_CHECKING:
    from daemon.service import Daemon

logger = logging.getLogger(__name__)

LIVE_SECTIONS = frozenset({"bots", "feeds"})
"""What a reload applies; the rest of the config is read at boot only."""
BOT_STOP_TIMEOUT_S = 15.0
"""How long a stopping bot may take to cancel its orders (per its policy) before it goes."""
CHILD_STOP_TIMEOUT_S = 3.0
"""Short of the watchdog's 5 s: the supervisor waits this long for the actor to end."""
POLL_S = 0.05
SYNC_TIMEOUT_S = 10.0
"""How long a reload waits for the journal to commit a bot's row."""
RUNNING_STATES = frozenset({"running", "paused", "starting"})
DONE_STATES = frozenset({"stopped", "error"})


@dataclass(frozen=True)
class BotChanges:
    """The config bots a reload adds, removes and changes (old, new), by config id."""

    added: tuple[GridBotConfig, ...] = ()
    removed: tuple[GridBotConfig, ...] = ()
    changed: tuple[tuple[GridBotConfig, GridBotConfig], ...] = field(default=())

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def diff_bots(old: Sequence[GridBotConfig], new: Sequence[GridBotConfig]) -> BotChanges:
    before = {bot.id: bot for bot in old}
    after = {bot.id: bot for bot in new}
    return BotChanges(
        added=tuple(bot for key, bot in after.items() if key not in before),
        removed=tuple(bot for key, bot in before.items() if key not in after),
        changed=tuple((before[key], bot) for key, bot in after.items() if key in before and before[key] != bot),
    )


def needs_restart(old: DaemonConfig, new: DaemonConfig) -> list[str]:
    """The changed parts of the config that a reload does not apply."""
    names = [
        name for name in DaemonConfig.model_fields
        if name not in LIVE_SECTIONS and getattr(old, name) != getattr(new, name)
    ]
    new_feeds = {feed.id: feed for feed in new.feeds}
    for feed in old.feeds:
        if new_feeds.get(feed.id) != feed:
            names.append(f"feeds ({feed.id!r} changed or removed)")
    return names


class Reloader:
    """Applies a reload to a running `Daemon`; one reload at a time (the daemon serializes)."""

    def __init__(self, daemon: Daemon, path: Path) -> None:
        self.daemon = daemon
        self.path = path

    async def reload(self) -> bool:
        """False when the new config was rejected (nothing changed)."""
        loop = asyncio.get_running_loop()
        try:
            new = await loop.run_in_executor(None, load_config, self.path)
        except ConfigError as error:
            logger.error("reload rejected, nothing changed: %s", error)
            return False
        SECRETS.add(config_secrets(new))  # a secret new to this file is masked in logs too
        old = self.daemon.config
        for what in needs_restart(old, new):
            logger.warning("reload: %s changed; that takes a restart, not applied", what)
        changes = diff_bots(old.bots, new.bots)
        applied = {bot.id: bot for bot in old.bots}
        feeds = {feed.id: feed for feed in old.feeds}
        replaced = added = 0
        try:
            for bot in changes.removed:
                await self._remove(bot)
                del applied[bot.id]
            for before, after in changes.changed:
                if await self._replace(before, after, new, feeds):
                    applied[after.id] = after
                    replaced += 1
            for bot in changes.added:
                if await self._add(bot, new, feeds):
                    applied[bot.id] = bot
                    added += 1
        finally:
            # What was applied, even if a step failed; refused bots stay out (or as they
            # were), so that the next reload tries them again.
            bots = tuple(applied[bot.id] for bot in new.bots if bot.id in applied)
            bots += tuple(bot for key, bot in applied.items() if key not in {b.id for b in new.bots})
            self.daemon.config = old.model_copy(update={"bots": bots, "feeds": tuple(feeds.values())})
        refused = len(changes.added) + len(changes.changed) - added - replaced
        logger.info(
            "reload done: %d bots added, %d changed, %d removed, %d refused",
            added, replaced, len(changes.removed), refused,
        )
        return True

    # -- the three kinds of change --------------------------------------------------------

    async def _remove(self, bot: GridBotConfig) -> None:
        bot_id = config_bot_id(bot.id)
        if not await self._stop_bot(bot_id):
            logger.error(
                "reload: bot %r did not finish stopping within %.0f s; removing it anyway",
                bot.id, BOT_STOP_TIMEOUT_S,
            )
        await self._ask_root(StopChild(name=wiring.bot_name(bot_id), timeout_s=CHILD_STOP_TIMEOUT_S, reply=FutureReply()))
        logger.info("reload: bot %r removed", bot.id)

    async def _replace(self, before: GridBotConfig, after: GridBotConfig, new: DaemonConfig, feeds: dict[str, Any]) -> bool:
        try:
            market, feed_id = self._wire(after, new)
        except wiring.WiringError as error:
            logger.error("reload: keeping bot %r as it was: %s", before.id, error)
            return False
        bot_id = config_bot_id(after.id)
        was = self.daemon.bot_statuses.get(bot_id)
        if not await self._stop_bot(bot_id):
            logger.error(
                "reload: bot %r did not stop within %.0f s; keeping its old config",
                before.id, BOT_STOP_TIMEOUT_S,
            )
            return False
        await self._ask_root(StopChild(name=wiring.bot_name(bot_id), timeout_s=CHILD_STOP_TIMEOUT_S, reply=FutureReply()))
        await self._ensure_feed(feed_id, after.account, new, feeds)
        await self._sync(after, new)
        if was in RUNNING_STATES or (was in (None, "error") and after.auto_start):
            # The new actor restores from the journal; a last status of "starting" makes it
            # run again, and its strategy begins a new run with the new parameters.
            self.daemon.directory.tell("journal", BotStatusChanged(bot_id=bot_id, status="starting"))
        await self._start_bot(after, new, market)
        logger.info("reload: bot %r restarted with its new config", after.id)
        return True

    async def _add(self, bot: GridBotConfig, new: DaemonConfig, feeds: dict[str, Any]) -> bool:
        try:
            market, feed_id = self._wire(bot, new)
        except wiring.WiringError as error:
            logger.error("reload: not adding %s", error)
            return False
        await self._ensure_feed(feed_id, bot.account, new, feeds)
        await self._sync(bot, new)
        await self._start_bot(bot, new, market)
        logger.info("reload: bot %r added", bot.id)
        return True

    # -- helpers --------------------------------------------------------------------------

    def _wire(self, bot: GridBotConfig, new: DaemonConfig) -> tuple[Market, str]:
        """The bot's market and feed; `WiringError` if this process cannot run it."""
        markets = self.daemon.markets.get(bot.account)
        if markets is None:
            raise wiring.WiringError(
                f"bot {bot.id!r}: account {bot.account!r} is not running (a new account takes a restart)"
            )
        market = markets.get(bot.symbol)
        if market is None:
            raise wiring.WiringError(
                f"bot {bot.id!r}: account {bot.account!r} has no market {bot.symbol}"
                " (a new market takes a restart)"
            )
        feed_id = wiring.feed_for(new, bot)
        wiring.check_grid(bot, market)
        return market, feed_id

    async def _ensure_feed(self, feed_id: str, account_id: str, new: DaemonConfig, feeds: dict[str, Any]) -> None:
        name = wiring.feed_name(feed_id)
        if self.daemon.directory.get(name) is not None:
            return
        feed = next(feed for feed in new.feeds if feed.id == feed_id)
        await self._ask_root(StartChild(spec=wiring.feed_spec(feed, self.daemon.scheduler, self.daemon.clock, self.daemon.metrics), reply=FutureReply()))
        feeds[feed.id] = feed
        exchange = self.daemon.directory.get(exchange_name(account_id))
        if exchange is not None:  # the paper exchange matches its resting orders on these prices
            self.daemon.directory.tell(name, SubscribeMarketData(ref=exchange))
        logger.info("reload: feed %r started", feed.id)

    async def _sync(self, bot: GridBotConfig, new: DaemonConfig) -> None:
        """Write the bot's row (the journal's events refer to it) before it starts: through
        the journal, its only writer while the daemon runs, and wait for the commit."""
        _, rows = wiring.config_objects(new)
        row = next(row for row in rows if row.config_key == bot.id)
        synced = ConfigBotSynced(
            bot_id=row.id, config_key=row.config_key, account_id=row.account_id, name=row.name,
            strategy=row.strategy, symbol=row.symbol, config=row.config_json,
        )
        committed = FutureReply()
        if not (self.daemon.directory.tell(JOURNAL, synced) and self.daemon.directory.tell(JOURNAL, Flush(reply=committed))):
            raise RuntimeError("the journal is not running")
        await asyncio.wait_for(asyncio.wrap_future(committed.future), SYNC_TIMEOUT_S)

    async def _start_bot(self, bot: GridBotConfig, new: DaemonConfig, market: Market) -> None:
        daemon = self.daemon
        spec: ChildSpec = wiring.bot_spec(
            new, bot, market, daemon.clock, daemon.store, daemon.bus, daemon.directory, daemon.metrics
        )
        await self._ask_root(StartChild(spec=spec, reply=FutureReply()))

    async def _stop_bot(self, bot_id: str) -> bool:
        """Stop the bot per its `on_stop` policy; True once it is stopped (or not running)."""
        status = await self.daemon.fleet.stop_bot(bot_id, timeout_s=BOT_STOP_TIMEOUT_S)
        return status in DONE_STATES

    async def _ask_root(self, command: StartChild | StopChild) -> Any:
        return await self.daemon.fleet.ask_root(command)
