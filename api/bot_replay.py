"""A bot's strategy rebuilt from its journal, for reads about a bot no actor runs.

The same fold the `BotActor` does when it restores: every journaled event of the bot
through a fresh strategy. Blocking (it reads the journal); run it in the executor. It
also collects each run's completed cycles, which the strategy itself forgets when a new
run begins, so every closing sell keeps its profit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine

from config.grid import grid_params
from config.schema import GridConfig
from storage.journal_store import JournalStore
from trading.clock import Clock
from trading.markets import Market
from trading.strategies.base import StrategyContext
from trading.strategies.grid import GridRunStarted, GridStrategy


@dataclass(frozen=True)
class Replayed:
    strategy: GridStrategy
    profits: dict[str, Decimal]
    """client order id of a sell that completed a cycle -> that cycle's profit (all runs)."""


def replay_grid_bot(
    engine: Engine, *, bot_id: str, account_id: str, symbol: str, config: GridConfig, market: Market, clock: Clock,
) -> Replayed:
    context = StrategyContext(
        bot_id=bot_id, account_id=account_id, symbol=symbol, market=market, clock=clock,
        new_client_order_id=_no_orders,
    )
    strategy = GridStrategy(
        context, grid_params(config), stop_at_max=config.stop_at_max, stop_loss_price=config.stop_loss_price,
        take_profit_price=config.take_profit_price, trigger_price=config.trigger_price,
        sell_base_on_stop=config.sell_base_on_stop,
    )
    profits: dict[str, Decimal] = {}
    seen: set[str] = set()
    booked = 0
    for event in JournalStore(engine).read_all_events(bot_id=bot_id):
        if event.message_id in seen:
            continue
        seen.add(event.message_id)
        if isinstance(event, GridRunStarted):
            booked = 0
        strategy.apply(event)
        cycles = strategy.completed_cycles
        for cycle in cycles[booked:]:
            profits[cycle.client_order_id] = profits.get(cycle.client_order_id, Decimal(0)) + cycle.profit
        booked = len(cycles)
    return Replayed(strategy, profits)


def _no_orders() -> str:
    raise RuntimeError("a replayed strategy places no orders")
