"""1,000 grid bots (50 levels each) in one process: boot time, memory and CPU.

Each bot trades its own symbol on one paper account; every symbol ticks once a second
(a small random walk around the grid's middle). It prints the time until every bot has
its grid placed, the resident memory then, and the process's CPU share over a window
of ticking.

    .venv/bin/python bench/bots_scale.py [--bots 1000] [--levels 50] [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import queue
import random
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


def market(symbol: str) -> Market:
    return Market(symbol=symbol, base=symbol.split("/")[0], quote="USDT", tick_size=D("0.0001"),
                  step_size=D("0.1"), min_amount=D("0.1"), min_notional=D("5"),
                  maker_fee=D("0.001"), taker_fee=D("0.001"))


class Counter(SupervisedActor):
    def __init__(self, *, accepted: queue.Queue[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.accepted = accepted

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, OrderAccepted):
            self.accepted.put(1)


def rss_mib(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int | str = "self") -> float:
    """User plus system CPU time of a process, from /proc (the writer is not our child to wait for)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, default=1000)
    parser.add_argument("--levels", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    grid = GridParams(lower_price=D("0.75"), upper_price=D("1.25"), grid_count=args.levels, order_amount=D("10"))

    folder = Path(tempfile.mkdtemp(prefix="traderd-bench-"))
    engine = make_engine(sqlite_url(folder))
    upgrade(engine)
    writer = ProcessJournalStore(sqlite_url(folder))  # as the daemon runs it
    writer.start()
    scheduler, bus = Scheduler(), EventBus()
    scheduler.start()
    symbols = [f"S{i:04d}/USDT" for i in range(args.bots)]
    stack = TradingStack(engine, scheduler, bus, markets={s: market(s) for s in symbols},
                         balances={"USDT": D(15) * args.levels * args.bots},
                         bots=[(symbol, symbol) for symbol in symbols], journal_writer=writer)
    accepted: queue.Queue[int] = queue.Queue()
    counter = Counter.start(name="counter", accepted=accepted)
    bus.subscribe(ORDERS, counter)
    rng = random.Random(7)
    try:
        started = time.perf_counter()
        feeds = []
        for symbol in symbols:
            feed = stack.add_feed(symbol)
            feeds.append(feed)
            stack.add_bot(symbol, symbol, lambda context: GridStrategy(context, grid), feed)
        actors_up = time.perf_counter() - started
        prices = {feed: D("1.0013") for feed in feeds}
        for feed in feeds:
            stack.publish(feed, prices[feed])
        expected = args.bots * (args.levels + 1)  # the grid's orders and the initial market buy
        for _ in range(expected):
            accepted.get(timeout=600)
        boot_s = time.perf_counter() - started
        rss_after_boot = rss_mib()
        writer_rss_after_boot = rss_mib(writer.pid)

        cpu_before, writer_cpu_before = cpu_seconds(), cpu_seconds(writer.pid)
        wall_before = time.perf_counter()
        next_second = wall_before
        while time.perf_counter() - wall_before < args.seconds:
            for feed in feeds:
                prices[feed] = max(D("0.80"), min(D("1.20"), prices[feed] + D(rng.randint(-30, 30)) / 10000))
                stack.publish(feed, prices[feed])
            next_second += 1
            time.sleep(max(0.0, next_second - time.perf_counter()))
        wall = time.perf_counter() - wall_before
        cpu = cpu_seconds() - cpu_before
        writer_cpu = cpu_seconds(writer.pid) - writer_cpu_before
        print(
            f"{args.bots} bots x {args.levels} levels: actors started in {actors_up:.1f} s, every grid placed "
            f"{boot_s:.1f} s after start; RSS {rss_after_boot:.0f} MiB after boot (+{writer_rss_after_boot:.0f} MiB "
            f"journal writer), {rss_mib():.0f} MiB (+{rss_mib(writer.pid):.0f}) after {wall:.0f} s of one tick "
            f"per symbol per second; CPU {100 * cpu / wall:.0f}% of one core "
            f"(+{100 * writer_cpu / wall:.0f}% journal writer; {os.cpu_count()} cores here)",
            flush=True,
        )
    finally:
        stack.root.stop(block=True, timeout=120)
        pykka.ActorRegistry.stop_all(block=True, timeout=30)
        scheduler.stop()
        writer.close()
        engine.dispose()


if __name__ == "__main__":
    main()
