"""Events per second the journal actor persists, batching, into SQLite and PostgreSQL.

Each run starts a fresh, migrated database and a `JournalActor`, tells it N events as
fast as a thread can, then sends `Flush` and waits for the commit: the figure is N over
that whole time, so it counts encoding, batching and committing, not just `tell`.

    .venv/bin/python bench/journal.py [--events 20000] [--runs 5] [--batch-size 500]
                                      [--postgres URL | --no-postgres]

PostgreSQL is measured when `--postgres` or `$TRADERD_TEST_DATABASE_URL` names a server
where the user may create databases (a throwaway one is made for each run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actors.journal import JournalActor  # noqa: E402
from actors.messages import Flush  # noqa: E402
from actors.reply import FutureReply  # noqa: E402
from actors.scheduler import Scheduler  # noqa: E402
from storage.database import make_engine, sqlite_url  # noqa: E402
from storage.journal_store import JournalStore  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.scratch import throwaway_postgres_database  # noqa: E402
from trading.messages import Event  # noqa: E402


@dataclass(frozen=True)
class BenchOrderAccepted(Event):
    """Shaped like an order event: ids, a symbol and three exact decimals."""

    bot_id: str
    account_id: str
    client_order_id: str
    symbol: str
    price: Decimal
    quantity: Decimal
    fee: Decimal


def make_events(count: int) -> list[BenchOrderAccepted]:
    return [
        BenchOrderAccepted(
            bot_id="7f3a2c1e-0000-4000-8000-000000000001",
            account_id="paper",
            client_order_id=f"td-7f3a-{i:06d}",
            symbol="XRP/USDT",
            price=Decimal("1.0873") + Decimal(i % 50) / 10_000,
            quantity=Decimal("9.2"),
            fee=Decimal("0.00092"),
        )
        for i in range(count)
    ]


def measure(url: str, events: list[BenchOrderAccepted], batch_size: int) -> float:
    """Events per second for one run on a fresh database at `url`."""
    engine = make_engine(url)
    upgrade(engine)
    scheduler = Scheduler()
    scheduler.start()
    store = JournalStore(engine)
    journal = JournalActor.start(
        name="journal", store=store, scheduler=scheduler, batch_size=batch_size, flush_interval_ms=50
    )
    try:
        started = time.perf_counter()
        for event in events:
            journal.tell(event)
        reply = FutureReply()
        journal.tell(Flush(reply=reply))
        reply.wait(300)
        elapsed = time.perf_counter() - started
        stored = store.count()
        if stored != len(events):
            raise SystemExit(f"journal stored {stored} of {len(events)} events")
    finally:
        journal.stop(block=True, timeout=10)
        scheduler.stop()
        engine.dispose()
    return len(events) / elapsed


@contextmanager
def fresh_sqlite() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="traderd-bench-") as folder:
        yield sqlite_url(Path(folder))


def run_backend(name: str, make_url, events, batch_size: int, runs: int) -> None:
    rates = []
    for _ in range(runs):
        with make_url() as url:
            rates.append(measure(url, events, batch_size))
    print(
        f"{name:<10} events/s median {statistics.median(rates):>9,.0f}   "
        f"min {min(rates):>9,.0f}   max {max(rates):>9,.0f}   "
        f"({runs} runs of {len(events):,} events, batch {batch_size})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--postgres", default=os.environ.get("TRADERD_TEST_DATABASE_URL"))
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    events = make_events(args.events)
    run_backend("sqlite", fresh_sqlite, events, args.batch_size, args.runs)
    if args.postgres and not args.no_postgres:
        run_backend(
            "postgresql",
            lambda: throwaway_postgres_database(args.postgres),
            events,
            args.batch_size,
            args.runs,
        )
    else:
        print("postgresql skipped: pass --postgres URL or set TRADERD_TEST_DATABASE_URL")


if __name__ == "__main__":
    main()
