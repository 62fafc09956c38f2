"""Checks of a daemon's journal after a run: what must hold whatever crashed when.

Each check reads the events back from the database and replays them in order; it returns
a list of problems (empty when all is well) so a test can show every one at once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select

from storage.database import make_engine
from storage.journal_store import JournalStore
from storage.models import FillRow, PaperBalanceRow
from trading.events import OrderFilled, OrderSubmitted, ends_order
from trading.markets import Side
from trading.messages import Event

import actors.messages  # noqa: F401  (registers ActorGaveUp & co for decoding)
import trading.strategies.grid  # noqa: F401  (registers the grid's run events)
import trading.account_events  # noqa: F401  (accounts made through the API)
import trading.bot_events  # noqa: F401  (bots made through the API)


@dataclass
class Audit:
    events: list[Event]
    fills_in_table: int
    balances: dict[tuple[str, str], Decimal]
    problems: list[str] = field(default_factory=list)

    @property
    def submitted(self) -> list[OrderSubmitted]:
        return [e for e in self.events if isinstance(e, OrderSubmitted)]

    @property
    def fills(self) -> list[OrderFilled]:
        return [e for e in self.events if isinstance(e, OrderFilled)]


def load(database_url: str) -> Audit:
    engine = make_engine(database_url)
    try:
        events = JournalStore(engine).read_all_events()
        with engine.connect() as connection:
            fills_in_table = len(connection.execute(select(FillRow.id)).all())
            balances = {
                (row.account_id, row.asset): row.free + row.locked
                for row in connection.execute(select(PaperBalanceRow))
            }
    finally:
        engine.dispose()
    return Audit(events=events, fills_in_table=fills_in_table, balances=balances)


def check_client_order_ids_unique(audit: Audit) -> None:
    counts = Counter(event.client_order_id for event in audit.submitted)
    twice = [cid for cid, count in counts.items() if count > 1]
    if twice:
        audit.problems.append(f"client order ids submitted more than once: {twice[:10]}")


def check_one_open_order_per_grid_level(audit: Audit) -> None:
    """Replaying the journal, no grid level ever holds two open orders at once."""
    open_by_level: dict[tuple[str, int], str] = {}
    level_of: dict[str, tuple[str, int]] = {}
    for event in audit.events:
        if isinstance(event, OrderSubmitted) and event.bot_id and event.grid_index is not None:
            level = (event.bot_id, event.grid_index)
            if level in open_by_level:
                audit.problems.append(
                    f"{event.client_order_id} submitted on {level} while {open_by_level[level]} is open"
                )
            open_by_level[level] = event.client_order_id
            level_of[event.client_order_id] = level
        elif ends_order(event):
            level = level_of.pop(event.client_order_id, None)
            if level is not None and open_by_level.get(level) == event.client_order_id:
                del open_by_level[level]


def check_each_trade_booked_once(audit: Audit) -> None:
    counts = Counter((event.account_id, event.trade_id) for event in audit.fills)
    twice = [trade for trade, count in counts.items() if count > 1]
    if twice:
        audit.problems.append(f"trades journaled more than once: {twice[:10]}")
    if audit.fills_in_table != len(counts):
        audit.problems.append(f"{audit.fills_in_table} rows in fills for {len(counts)} trades")


def check_balances_conserved(audit: Audit, initial: dict[str, dict[str, Decimal]]) -> None:
    """Each asset's total = initial + what fills bought or sold - fees; none negative."""
    expected: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for account_id, assets in initial.items():
        for asset, amount in assets.items():
            expected[(account_id, asset)] += amount
    for fill in audit.fills:
        base, quote = fill.symbol.split("/")
        notional = fill.price * fill.quantity
        sign = 1 if fill.side is Side.BUY else -1
        expected[(fill.account_id, base)] += sign * fill.quantity
        expected[(fill.account_id, quote)] -= sign * notional
        expected[(fill.account_id, fill.fee_currency)] -= fill.fee
    for key, amount in sorted(expected.items()):
        if amount < 0:
            audit.problems.append(f"{key} would be negative: {amount}")
        reported = audit.balances.get(key)
        if reported is not None and reported != amount:
            audit.problems.append(f"{key}: balances table says {reported}, fills say {amount}")


def run_all(audit: Audit, initial: dict[str, dict[str, Decimal]]) -> list[str]:
    check_client_order_ids_unique(audit)
    check_one_open_order_per_grid_level(audit)
    check_each_trade_booked_once(audit)
    check_balances_conserved(audit, initial)
    return audit.problems
