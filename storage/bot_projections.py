"""Projectors of bot definitions: `BotCreated`, `BotChanged`, `BotDeleted` and
`ConfigBotSynced` into `bots`.

They run in the journal's transaction (`storage.projections`); importing this module
registers them (the daemon and the journal's writer process do, beside
`storage.order_projections`). A bot made through the API gets its order tag from its id,
as config bots do (`storage.config_sync.bot_tag`).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import delete, insert, update
from sqlalchemy.engine import Connection

from storage.config_sync import ConfigBot, bot_tag, upsert_config_objects
from storage.models import BotRow, GridLevelRow
from storage.projections import projector
from trading.bot_events import BotChanged, BotCreated, BotDeleted, ConfigBotSynced
from trading.clock import ns_to_datetime

_bots = BotRow.__table__
_levels = GridLevelRow.__table__


def _when(ts_ns: int) -> datetime:
    return ns_to_datetime(ts_ns) if ts_ns else datetime.now(timezone.utc)


@projector("BotCreated")
def bot_created(connection: Connection, event: BotCreated) -> None:
    when = _when(event.ts_event)
    connection.execute(insert(_bots).values(
        id=event.bot_id, owner_id=event.owner_id, account_id=event.account_id, name=event.name,
        strategy=event.strategy, symbol=event.symbol, config=event.config, source="api",
        config_key=None, tag=bot_tag(event.bot_id), order_seq=0, status="stopped",
        created_at=when, updated_at=when,
    ))


@projector("BotChanged")
def bot_changed(connection: Connection, event: BotChanged) -> None:
    values: dict[str, object] = {"updated_at": _when(event.ts_event)}
    if event.name is not None:
        values["name"] = event.name
    if event.config is not None:
        values["config"] = event.config
    connection.execute(update(_bots).where(_bots.c.id == event.bot_id).values(**values))


@projector("BotDeleted")
def bot_deleted(connection: Connection, event: BotDeleted) -> None:
    connection.execute(delete(_levels).where(_levels.c.bot_id == event.bot_id))
    connection.execute(delete(_bots).where(_bots.c.id == event.bot_id))


@projector("ConfigBotSynced")
def config_bot_synced(connection: Connection, event: ConfigBotSynced) -> None:
    bot = ConfigBot(
        config_key=event.config_key, account_id=event.account_id, name=event.name,
        strategy=event.strategy, symbol=event.symbol, config_json=event.config,
    )
    assert bot.id == event.bot_id, "a config bot's id is made from its config key"
    upsert_config_objects(connection, [], [bot], _when(event.ts_event))
