"""What the API asks of the daemon that only the daemon can do: run and stop bot actors.

The daemon implements `BotControl` (`daemon.fleet.Fleet`) and puts it into the
`ApiContext`; the API never sees an actor class or the supervisor. Lifecycle methods run
on the IOLoop and never block it (they await the supervisor's replies and poll the bots'
statuses); `free_balance` reads the database and runs in the executor.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from config.schema import GridConfig
from trading.markets import Market


class BotControlError(Exception):
    """The daemon cannot do what was asked; `code` is API.md's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class BotDefinition:
    """A bot as stored in its row: enough to build its actor."""

    bot_id: str
    account_id: str
    symbol: str
    strategy: str
    config: GridConfig
    config_key: str | None = None
    """The bot's id in the config files, for config bots (their stop policy lives there)."""

    @classmethod
    def of_row(cls, row: Any) -> BotDefinition:
        """A `bots` row (its `config` column is the grid config as JSON)."""
        return cls(
            bot_id=row.id, account_id=row.account_id, symbol=row.symbol, strategy=row.strategy,
            config=GridConfig.model_validate_json(row.config), config_key=row.config_key,
        )


class BotControl(Protocol):
    def market(self, account_id: str, symbol: str) -> Market | None:
        """The market rules of `symbol` on that account, if this daemon trades it there."""

    def cannot_run(self, account_id: str, symbol: str) -> str | None:
        """Why a bot on that account and symbol could not run here (no exchange actor, no
        market, no feed), or None when it can."""

    def status(self, bot_id: str) -> str | None:
        """The bot actor's last reported status; None when no actor runs it."""

    def free_balance(self, account_id: str, asset: str) -> Decimal | None:
        """The account's free balance of `asset`, None if unknown. Blocking."""

    async def start_bot(self, bot: BotDefinition) -> str:
        """Start the bot (an actor for it if it has none); its status once it answered.
        `BotControlError` when it cannot run."""

    async def stop_bot(self, bot_id: str, *, cancel_orders: bool, sell_base: bool) -> str:
        """Stop the bot per the arguments; its status once stopped (or still `stopping`
        when that takes longer than the daemon waits)."""

    async def pause_bot(self, bot_id: str) -> str: ...

    async def resume_bot(self, bot_id: str) -> str: ...

    async def reconfigure_bot(self, bot: BotDefinition) -> None:
        """The bot's config changed: a running actor is replaced by one on the new config
        (it resumes from the journal); a stopped one is dropped, the next start builds it."""

    async def remove_bot(self, bot_id: str) -> None:
        """Drop the (stopped) bot's actor, if it has one."""
