"""Latency from a price entering a feed actor to the order it causes being acknowledged.

The hot path of a grid: `PublishPrice` to the feed actor -> the paper exchange actor
matches a resting buy (fill) -> the bot books it and places the counter-sell -> risk ->
exchange -> the journal commits `OrderSubmitted` -> the paper venue accepts it ->
`OrderAccepted` reaches a probe on the bus. Each bot trades its own symbol, and one price
move at a time crosses one level of one bot, with 1, 100 and 1,000 bots running. The
journal writes through the daemon's default writer process (`--writer thread` for the
in-thread writer of `[journal] writer = "thread"`).

    .venv/bin/python bench/tick_to_order.py [--bots 1 100 1000] [--moves 300] [--writer process]
"""

from __future__ import annotations

import argparse
import queue
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pykka  # noqa: E402

from actors.bus import EventBus  # noqa: E402
from actors.scheduler import Scheduler  # noqa: E402
from actors.supervised import SupervisedActor  # noqa: E402
from actors.topics import ORDERS  # noqa: E402
from storage.database import make_engine, sqlite_url  # noqa: E402
from storage.journal_writer import ProcessJournalStore  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests.actors.trading_stack import TradingStack  # noqa: E402
from trading.events import OrderAccepted  # noqa: E402
from trading.grid.geometry import GridParams  # noqa: E402
from trading.markets import Market  # noqa: E402
from trading.strategies.grid import GridStrategy  # noqa: E402

D = Decimal
# 0.90 .. 1.10 in 10 steps of 0.02; the start price 1.011 is nearer 1.00 than 1.02.
GRID = GridParams(lower_price=D("0.90"), upper_price=D("1.10"), grid_count=10, order_amount=D("20"))
START, LOW, HIGH = D("1.011"), D("0.979"), D("1.011")  # LOW fills the buy at 0.98; HIGH its sell at 1.00


def market(symbol: str) -> Market:
    return Market(symbol=symbol, base=symbol.split("/")[0], quote="USDT", tick_size=D("0.0001"),
                  step_size=D("0.1"), min_amount=D("0.1"), min_notional=D("5"),
                  maker_fee=D("0.001"), taker_fee=D("0.001"))


class Probe(SupervisedActor):
    """Notes the moment each order is accepted (and when all start-up orders are in)."""

    def __init__(self, *, accepted: queue.Queue[tuple[str | None, float]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.accepted = accepted

    def on_order_accepted(self, event: OrderAccepted) -> None:
        self.accepted.put((event.bot_id, time.perf_counter()))

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, OrderAccepted):
            return self.on_order_accepted(message)
        return None


def run(bots: int, moves: int, writer_kind: str = "process") -> dict[str, float]:
    folder = tempfile.mkdtemp(prefix="traderd-bench-")
    engine = make_engine(sqlite_url(Path(folder)))
    upgrade(engine)
    writer = ProcessJournalStore(sqlite_url(Path(folder))) if writer_kind == "process" else None
    if writer is not None:
        writer.start()
    scheduler, bus = Scheduler(), EventBus()
    scheduler.start()
    symbols = [f"T{i:04d}/USDT" for i in range(bots)]
    stack = TradingStack(engine, scheduler, bus, markets={s: market(s) for s in symbols},
                         balances={"USDT": D(25) * 10 * bots}, bots=[(s, s) for s in symbols],
                         journal_writer=writer)
    accepted: queue.Queue[tuple[str | None, float]] = queue.Queue()
    probe = Probe.start(name="probe", accepted=accepted)
    bus.subscribe(ORDERS, probe)
    try:
        feeds, bot_ids = [], []
        for symbol in symbols:
            feed = stack.add_feed(symbol)
            feeds.append(feed)
            bot_ids.append(stack.add_bot(symbol, symbol, lambda context: GridStrategy(context, GRID), feed))
        started = time.perf_counter()
        for feed in feeds:
            stack.publish(feed, START)
        expected = bots * (10 + 1)  # ten limit orders and the initial market buy each
        for _ in range(expected):
            accepted.get(timeout=120)
        boot_s = time.perf_counter() - started
        time.sleep(0.5)
        while not accepted.empty():
            accepted.get_nowait()

        latencies = []
        prices = {feed: START for feed in feeds}
        for i in range(moves):
            index = (i * 7919) % bots  # visit the bots in a scattered order
            feed, bot_id = feeds[index], bot_ids[index]
            prices[feed] = LOW if prices[feed] == HIGH else HIGH
            sent = time.perf_counter()
            stack.publish(feed, prices[feed])
            while True:
                who, when = accepted.get(timeout=10)
                if who == bot_id:
                    latencies.append(when - sent)
                    break
        latencies.sort()
        return {
            "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
            "max_ms": 1000 * latencies[-1],
            "startup_s": boot_s,
        }
    finally:
        stack.root.stop(block=True, timeout=60)
        pykka.ActorRegistry.stop_all(block=True, timeout=30)
        scheduler.stop()
        if writer is not None:
            writer.close()
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, nargs="+", default=[1, 100, 1000])
    parser.add_argument("--moves", type=int, default=300)
    parser.add_argument("--writer", choices=["process", "thread"], default="process")
    args = parser.parse_args()
    print(f"journal writer: {args.writer}", flush=True)
    for bots in args.bots:
        figures = run(bots, args.moves, args.writer)
        print(
            f"{bots:>5} bots: tick-to-order p50 {figures['p50_ms']:.3f} ms   p99 {figures['p99_ms']:.3f} ms   "
            f"max {figures['max_ms']:.3f} ms   ({args.moves} moves; start-up orders placed in {figures['startup_s']:.1f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
