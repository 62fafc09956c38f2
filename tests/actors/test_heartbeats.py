"""Heartbeats the watchdog reads (supervisor sweeps, journal ticks and backlog), and the
bot status board behind the daemon's STATUS= line."""

from __future__ import annotations

import time
from decimal import Decimal

from actors.bot_status import BotStatusBoard, BotStatuses
from actors.bus import SYSTEM_TOPIC
from actors.heartbeat import Heartbeat
from actors.journal import JournalActor
from actors.messages import ActorGaveUp
from actors.supervisor import Supervisor
from actors.topics import BOTS
from storage.journal_store import JournalStore
from tests.actors.helpers import SwitchableStore
from tests.actors.test_journal import SampleRecorded
from trading.events import BotStatusChanged
from tests.waiting import eventually


def test_the_supervisor_beats_on_each_sweep(scheduler, bus):
    heartbeat = Heartbeat()
    time.sleep(0.3)
    Supervisor.start(name="supervisor", scheduler=scheduler, bus=bus, sweep_interval_s=0.05, heartbeat=heartbeat)
    assert eventually(lambda: heartbeat.age_s() < 0.2)




def test_the_journal_beats_while_it_ticks_and_its_backlog_stalls_while_the_database_is_down(engine, scheduler):
    heartbeat = Heartbeat()
    store = SwitchableStore(JournalStore(engine))
    journal = JournalActor.start(
        name="journal", store=store, scheduler=scheduler, flush_interval_ms=20, heartbeat=heartbeat
    )
    journal.tell(SampleRecorded(bot_id="b1", amount=Decimal(1)))
    assert eventually(lambda: heartbeat.backlog == 1)
    time.sleep(0.5)
    assert heartbeat.age_s() < 0.3  # still ticking ...
    assert heartbeat.stalled_s() >= 0.4  # ... but writing nothing
    store.up = True
    assert eventually(lambda: heartbeat.backlog == 0 and heartbeat.stalled_s() < 0.5, timeout=10)


def test_the_board_keeps_each_bots_latest_status(bus):
    statuses = BotStatuses()
    changes: list[None] = []
    statuses.on_change = lambda: changes.append(None)
    BotStatusBoard.start(name="bot-status", bus=bus, statuses=statuses)
    bus.publish(BOTS, BotStatusChanged(bot_id="a", status="running"))
    bus.publish(BOTS, BotStatusChanged(bot_id="b", status="running"))
    bus.publish(BOTS, BotStatusChanged(bot_id="b", status="running"))
    bus.publish(SYSTEM_TOPIC, ActorGaveUp(name="bot:a", restarts=5, error="boom"))
    assert eventually(lambda: statuses.get("a") == "error")
    assert statuses.count("running") == 1
    assert len(changes) == 3  # a repeated status is no change
