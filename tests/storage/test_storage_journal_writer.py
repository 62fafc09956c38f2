"""The journal's writer process: same results as `JournalStore.append`, errors carried
back, a dead writer replaced without booking its batch twice, no writer outliving its
parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from storage.config_sync import ConfigAccount, sync_config_objects
from storage.errors import DuplicateEvent
from storage.journal_store import JournalStore
from storage.journal_writer import ProcessJournalStore, WriterDied
from storage.models import PaperBalanceRow
from trading.events import BalanceUpdated

ROOT = Path(__file__).resolve().parents[2]


def balances(*amounts: str) -> list[BalanceUpdated]:
    return [BalanceUpdated(account_id="paper", asset="USDT", free=Decimal(a), locked=Decimal(0)) for a in amounts]


@pytest.fixture
def writer(engine: Engine, database_url: str) -> Iterator[ProcessJournalStore]:
    sync_config_objects(engine, [ConfigAccount(id="paper", exchange="paper")], [])
    writer = ProcessJournalStore(database_url)
    writer.start()
    yield writer
    writer.close()


def stored_balance(engine: Engine) -> Decimal:
    with engine.connect() as connection:
        return connection.execute(select(PaperBalanceRow.free)).scalar_one()


def test_a_batch_is_stored_and_projected_exactly(writer: ProcessJournalStore, engine: Engine) -> None:
    events = balances("10.5", "0.000000012345")
    last_id = writer.append(events)

    stored = JournalStore(engine).read_events()
    assert [event for _, event in stored] == events
    assert last_id == stored[-1][0]
    assert stored_balance(engine) == Decimal("0.000000012345")


def test_a_refused_batch_raises_the_storage_error_and_keeps_nothing(writer: ProcessJournalStore, engine: Engine) -> None:
    first = balances("1")
    writer.append(first)

    with pytest.raises(DuplicateEvent):
        writer.append(balances("2") + first)

    assert JournalStore(engine).count() == 1
    assert writer.append(balances("3")) == JournalStore(engine).last_event_id()


def test_a_killed_writer_is_replaced_and_its_committed_events_not_stored_twice(
    writer: ProcessJournalStore, engine: Engine
) -> None:
    committed = balances("1", "2")
    writer.append(committed)
    assert writer.pid is not None
    os.kill(writer.pid, signal.SIGKILL)

    later = balances("3")
    with pytest.raises(WriterDied):
        writer.append(later)
    # The journal retries what it holds; a dead writer may have committed part of it.
    writer.append(committed + later)

    stored = [event for _, event in JournalStore(engine).read_events()]
    assert stored == committed + later
    assert stored_balance(engine) == Decimal("3")


def test_a_writer_that_cannot_reach_its_database_fails_to_start() -> None:
    writer = ProcessJournalStore("postgresql+psycopg2://postgres@127.0.0.1:1/none")
    with pytest.raises(Exception, match="127.0.0.1"):
        writer.start()


def test_the_writer_exits_when_its_parent_is_killed(engine: Engine, database_url: str) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys, time\n"
            "from storage.journal_writer import ProcessJournalStore\n"
            f"writer = ProcessJournalStore({database_url!r}); writer.start()\n"
            "print(writer.pid, flush=True); time.sleep(60)\n"
        )],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert parent.stdout is not None
        writer_pid = int(parent.stdout.readline())
        assert _alive(writer_pid)
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        while _alive(writer_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(writer_pid)
    finally:
        parent.kill()


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie, exited but not reaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
