"""Events of a bot's definition: made, changed and deleted through the API, or written
from a config file by a reload.

They are journaled like every other event, and their projectors (`storage.bot_projections`)
keep the `bots` table current, so the journal stays the only writer of bot rows.
`config` is the strategy's config as JSON text, exactly as the `bots.config` column holds it.
"""

from __future__ import annotations

from dataclasses import dataclass

from trading.messages import Event


@dataclass(frozen=True, kw_only=True)
class BotCreated(Event):
    bot_id: str
    owner_id: str | None
    account_id: str
    name: str
    strategy: str
    symbol: str
    config: str


@dataclass(frozen=True, kw_only=True)
class BotChanged(Event):
    """A change of name and/or config; a None field is left as it was."""

    bot_id: str
    name: str | None = None
    config: str | None = None


@dataclass(frozen=True, kw_only=True)
class BotDeleted(Event):
    """The bot's row goes; its orders, fills and journal events stay for the record."""

    bot_id: str


@dataclass(frozen=True, kw_only=True)
class ConfigBotSynced(Event):
    """A config-file bot's row as a SIGHUP reload found it (added or changed); at boot,
    before the journal runs, the daemon writes these rows itself."""

    bot_id: str
    config_key: str
    account_id: str
    name: str
    strategy: str
    symbol: str
    config: str
