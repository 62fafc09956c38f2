"""Who owns each bot and account, for the WebSocket hub's per-user filtering."""

from __future__ import annotations

from sqlalchemy import Engine, select

from storage.models import AccountRow, BotRow


def load_owners(engine: Engine) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """(bot id -> owner id, account id -> owner id); None owns config-file rows (admins only)."""
    bots = BotRow.__table__
    accounts = AccountRow.__table__
    with engine.connect() as connection:
        bot_owners = {row[0]: row[1] for row in connection.execute(select(bots.c.id, bots.c.owner_id))}
        account_owners = {row[0]: row[1] for row in connection.execute(select(accounts.c.id, accounts.c.owner_id))}
    return bot_owners, account_owners
