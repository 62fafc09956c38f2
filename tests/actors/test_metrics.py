"""Actor metrics with real actors: a real journal, risk, paper exchange, feed and bots on a
real database, counted into an isolated registry."""

from __future__ import annotations

import queue
from decimal import Decimal

import pytest
from prometheus_client import CollectorRegistry

from actors.directory import ActorDirectory
from actors.journal import JournalActor
from actors.messages import ActorGaveUp
from actors.metrics import OTHER, ActorMetrics, BoundedCodes, MetricsActor
from actors.reply import FutureReply
from actors.risk import RiskLimits
from actors.supervisor import ChildSpec, RestartPolicy, StartChild, Supervisor
from actors.topics import ORDERS
from storage.journal_store import JournalStore
from tests.actors.helpers import Boom, SwitchableStore, Worker
from tests.actors.trading_stack import ACCOUNT, TradingStack
from trading.events import OrderAccepted, OrderDenied, OrderFilled, OrderRejected, OrderSubmitted
from trading.grid.geometry import GridParams
from trading.markets import Side
from trading.strategies.grid import GridStrategy
from trading.venues.paper_markets import paper_market
from tests.waiting import eventually

D = Decimal
XRP = paper_market("XRP/USDT", maker_fee=D("0.001"), taker_fee=D("0.001"))
GRID = GridParams(lower_price=D("1.00"), upper_price=D("1.20"), grid_count=10, order_amount=D("20"))


def sample(metrics: ActorMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def journaled(stack: TradingStack, kind: type) -> list:
    return [e for e in stack.store.read_all_events(account_id=ACCOUNT) if isinstance(e, kind)]


@pytest.fixture
def metrics() -> ActorMetrics:
    return ActorMetrics(CollectorRegistry())


def test_a_trading_bot_is_counted_from_tick_to_fill(engine, scheduler, bus):
    directory = ActorDirectory()  # the mailbox depths are read through it
    metrics = ActorMetrics(CollectorRegistry(), directory)
    stack = TradingStack(engine, scheduler, bus, markets={"XRP/USDT": XRP}, balances={"USDT": D("10000")},
                         metrics=metrics, directory=directory)
    feed = stack.add_feed("XRP/USDT")
    bot = stack.add_bot("counted", "XRP/USDT", lambda context: GridStrategy(context, GRID), feed)

    def resting(side: Side, price: str) -> bool:
        submitted = {e.client_order_id: e for e in journaled(stack, OrderSubmitted)}
        return any(
            submitted[a.client_order_id].side is side and submitted[a.client_order_id].price == D(price)
            for a in journaled(stack, OrderAccepted) if a.client_order_id in submitted
        )

    # Start at 1.101, fall through the 1.08 buy, come back up through its 1.10 sell: a cycle.
    stack.publish(feed, "1.101")
    assert stack.wait_until(lambda: resting(Side.BUY, "1.08"))
    stack.publish(feed, "1.079")
    assert stack.wait_until(lambda: resting(Side.SELL, "1.10"))
    stack.publish(feed, "1.101")

    def caught_up() -> bool:
        stack.flush()
        return (
            sample(metrics, "traderd_orders_submitted_total", account=ACCOUNT) == len(journaled(stack, OrderSubmitted))
            and sample(metrics, "traderd_fills_total", account=ACCOUNT) == len(journaled(stack, OrderFilled))
            and sample(metrics, "traderd_bot_grid_profit", bot_id=bot, currency="USDT") > 0
        )

    assert eventually(caught_up), metrics.registry.get_sample_value("traderd_fills_total", {"account": ACCOUNT})
    fills = journaled(stack, OrderFilled)
    assert len(fills) >= 3  # the entry buy, the 1.08 buy, its 1.10 sell
    completed = sum(1 for fill in fills if fill.order_completed)
    assert sample(metrics, "traderd_orders_filled_total", account=ACCOUNT) == completed
    fees: dict[str, Decimal] = {}
    for fill in fills:
        fees[fill.fee_currency] = fees.get(fill.fee_currency, D(0)) + fill.fee
    for currency, total in fees.items():
        assert sample(metrics, "traderd_fees_total", account=ACCOUNT, currency=currency) == pytest.approx(float(total))

    # The venue was timed for every submission and every price the exchange saw.
    submitted = len(journaled(stack, OrderSubmitted))
    assert sample(metrics, "traderd_venue_request_duration_seconds_count", account=ACCOUNT, method="submit") == submitted
    assert sample(metrics, "traderd_venue_request_duration_seconds_count", account=ACCOUNT, method="on_ticker") >= 1
    assert sample(metrics, "traderd_venue_request_duration_seconds_count", account=ACCOUNT, method="restore") == 1
    # Orders sent in answer to a ticker (the grid laid out at 1.101) were timed to acceptance.
    assert sample(metrics, "traderd_tick_to_order_seconds_count") > 0
    assert len(metrics.tick_to_order) == 0  # nothing left waiting: every one was accepted

    assert sample(metrics, "traderd_journal_commit_duration_seconds_count") > 0
    journal_rows = len(stack.store.read_all_events())
    assert sample(metrics, "traderd_journal_batch_events_sum") == journal_rows
    assert sample(metrics, "traderd_journal_backlog_events") == 0

    assert sample(metrics, "traderd_bots", status="running") == 1
    assert sample(metrics, "traderd_bots", status="error") == 0
    assert metrics.registry.get_sample_value("traderd_bot_total_profit", {"bot_id": bot, "currency": "USDT"}) is not None
    assert sample(metrics, "traderd_market_data_received_total", feed="XRP/USDT") == 3
    assert metrics.registry.get_sample_value("traderd_market_data_conflated_total", {"feed": "XRP/USDT"}) is not None
    depths = {
        s.labels["actor"] for family in metrics.registry.collect() if family.name == "traderd_actor_mailbox_depth"
        for s in family.samples
    }
    assert {"journal", "risk", "exchange:paper", feed, f"bot:{bot}", "metrics"} <= depths


def test_denied_orders_are_counted_by_the_risk_code(engine, scheduler, bus, metrics):
    stack = TradingStack(engine, scheduler, bus, markets={"XRP/USDT": XRP}, balances={"USDT": D("10000")},
                         risk=RiskLimits(max_open_orders=4), metrics=metrics)
    feed = stack.add_feed("XRP/USDT")
    stack.add_bot("capped", "XRP/USDT", lambda context: GridStrategy(context, GRID), feed)
    stack.publish(feed, "1.101")
    assert stack.wait_until(lambda: len(journaled(stack, OrderDenied)) > 0)
    assert eventually(lambda: sample(
        metrics, "traderd_orders_denied_total", account=ACCOUNT, reason="RISK_LIMIT_BREACHED"
    ) == len(journaled(stack, OrderDenied)))


def test_a_code_that_is_not_a_code_becomes_other(scheduler, bus, metrics):
    MetricsActor.start(name="metrics", metrics=metrics, bus=bus, directory=ActorDirectory(), scheduler=scheduler)

    def reject(code: str) -> None:
        bus.publish(ORDERS, OrderRejected(account_id="acct", bot_id=None, client_order_id="c1", code=code, reason="x"))

    reject("INSUFFICIENT_BALANCE")
    reject("price 1.2345 is off the tick for order td-abc-000001")
    reject("")
    assert eventually(lambda: sample(metrics, "traderd_orders_rejected_total", account="acct", reason=OTHER) == 2)
    assert sample(metrics, "traderd_orders_rejected_total", account="acct", reason="INSUFFICIENT_BALANCE") == 1
    labels = {s.labels.get("reason") for f in metrics.registry.collect() for s in f.samples}
    assert not any(label and "td-abc" in label for label in labels)


def test_bounded_codes_stop_making_new_labels_past_the_limit():
    codes = BoundedCodes(limit=2)
    assert [codes("A"), codes("B"), codes("C"), codes("A"), codes("lower"), codes(None)] == ["A", "B", OTHER, "A", OTHER, OTHER]


def test_restarts_and_give_ups_are_counted_per_actor(scheduler, bus, metrics):
    directory = ActorDirectory()
    root = Supervisor.start(name="supervisor", scheduler=scheduler, bus=bus, directory=directory,
                            policy=RestartPolicy(max_restarts=1, window_s=60, backoff_initial_s=0.01),
                            sweep_interval_s=0.05)
    MetricsActor.start(name="metrics", metrics=metrics, bus=bus, directory=directory, scheduler=scheduler)
    reply = FutureReply()
    root.tell(StartChild(spec=ChildSpec("worker", Worker, {"log": queue.Queue()}), reply=reply))
    reply.wait(5)
    directory.tell("worker", Boom())
    assert eventually(lambda: sample(metrics, "traderd_actor_restarts_total", actor="worker") == 1)
    assert eventually(lambda: directory.get("worker") is not None and directory.tell("worker", Boom()))
    assert eventually(lambda: sample(metrics, "traderd_actor_give_ups_total", actor="worker") == 1)
    assert sample(metrics, "traderd_actor_restarts_total", actor="worker") == 1

    # A bot the supervisor gives up on counts as a bot in error.
    bus.publish("system", ActorGaveUp(name="bot:b-1", restarts=5, error="boom"))
    assert eventually(lambda: sample(metrics, "traderd_bots", status="error") == 1)




def test_the_journal_counts_refused_commits_and_shows_its_backlog(engine, scheduler, metrics):
    store = SwitchableStore(JournalStore(engine))
    journal = JournalActor.start(name="journal", store=store, scheduler=scheduler, flush_interval_ms=20,
                                 batch_size=1000, metrics=metrics)
    for client_order_id in ("c1", "c2"):
        journal.tell(OrderRejected(account_id="acct", bot_id=None, client_order_id=client_order_id, code="X", reason="x"))
    assert eventually(lambda: sample(metrics, "traderd_journal_commit_failures_total") >= 1)
    assert eventually(lambda: sample(metrics, "traderd_journal_backlog_events") == 2)
    assert sample(metrics, "traderd_journal_commit_duration_seconds_count") == 0

    store.up = True
    assert eventually(lambda: sample(metrics, "traderd_journal_commit_duration_seconds_count") == 1)
    assert sample(metrics, "traderd_journal_batch_events_sum") == 2
    assert sample(metrics, "traderd_journal_backlog_events") == 0
    assert len(store.store.read_all_events()) == 2
