"""Order books: sorted best first, cut to a depth, kept a moment; ccxt's floats as Decimals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trading.feeds.order_book import ExchangeRefused, ExchangeUnavailable, OrderBook, RecentOrderBook
from trading.venues.ccxt_venue.order_book import book_from_ccxt

D = Decimal


def book(levels: int = 5) -> OrderBook:
    return OrderBook.of(
        "BTC/USDT", "binance",
        bids=[(D(100 - i), D(i)) for i in range(1, levels + 1)],
        asks=[(D(100 + i), D(i)) for i in range(1, levels + 1)],
        timestamp_ms=1,
    )


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Exchange:
    """Counts fetches; answers a book of the asked depth, or raises `failure`."""

    def __init__(self) -> None:
        self.asked: list[int] = []
        self.failure: Exception | None = None

    def fetch(self, depth: int) -> OrderBook:
        self.asked.append(depth)
        if self.failure is not None:
            raise self.failure
        return book(depth)


def test_sides_are_sorted_best_first_and_top_cuts_both():
    unsorted = OrderBook.of("X/Y", "binance", bids=[(D(1), D(1)), (D(3), D(1)), (D(2), D(1))],
                            asks=[(D(6), D(1)), (D(4), D(1)), (D(5), D(1))], timestamp_ms=0)
    assert [price for price, _ in unsorted.bids] == [D(3), D(2), D(1)]
    assert [price for price, _ in unsorted.asks] == [D(4), D(5), D(6)]
    top = unsorted.top(2)
    assert (len(top.bids), len(top.asks)) == (2, 2) and top.bids[0] == (D(3), D(1))
    assert unsorted.top(10) is unsorted


def test_a_fresh_book_serves_any_depth_it_covers_and_expires():
    clock, exchange = Clock(), Exchange()
    recent = RecentOrderBook(1.0, clock)

    assert len(recent.get(20, exchange.fetch).bids) == 20
    clock.now = 0.5
    assert len(recent.get(5, exchange.fetch).asks) == 5
    assert len(recent.get(20, exchange.fetch).asks) == 20
    assert exchange.asked == [20]

    recent.get(50, exchange.fetch)  # deeper than kept: fetched
    clock.now = 1.6
    recent.get(5, exchange.fetch)  # expired: fetched
    assert exchange.asked == [20, 50, 5]


def test_an_outage_is_remembered_for_the_ttl_a_refusal_is_not():
    clock, exchange = Clock(), Exchange()
    recent = RecentOrderBook(1.0, clock)
    exchange.failure = ExchangeUnavailable("binance did not answer (RequestTimeout)")
    for _ in range(3):
        with pytest.raises(ExchangeUnavailable):
            recent.get(20, exchange.fetch)
    assert exchange.asked == [20]

    clock.now = 1.5
    exchange.failure = ExchangeRefused("binance refused")
    for _ in range(2):
        with pytest.raises(ExchangeRefused):
            recent.get(20, exchange.fetch)
    assert exchange.asked == [20, 20, 20]

    exchange.failure = None
    assert recent.get(20, exchange.fetch).bids[0] == (D(99), D(1))


def test_an_outage_is_remembered_longer_each_time_until_the_exchange_answers():
    clock, exchange = Clock(), Exchange()
    recent = RecentOrderBook(1.0, clock, max_outage_s=5.0)
    exchange.failure = ExchangeUnavailable("binance did not answer (ExchangeNotAvailable)")

    asked_at = []
    for step in range(200):  # 20 s, a reader every 0.1 s
        clock.now = step / 10
        asked = len(exchange.asked)
        with pytest.raises(ExchangeUnavailable):
            recent.get(20, exchange.fetch)
        if len(exchange.asked) > asked:
            asked_at.append(clock.now)
    assert asked_at == [0.0, 1.0, 3.0, 7.0, 12.0, 17.0]  # after 1, 2, 4 s, then at most 5 s

    clock.now = 22.0
    exchange.failure = None
    recent.get(20, exchange.fetch)  # the exchange is back: the next outage starts at 1 s again
    clock.now = 23.0
    exchange.failure = ExchangeUnavailable("binance did not answer (RequestTimeout)")
    with pytest.raises(ExchangeUnavailable):
        recent.get(20, exchange.fetch)
    clock.now = 24.0
    exchange.failure = None
    assert recent.get(20, exchange.fetch).asks[0] == (D(101), D(1))


def test_a_ccxt_book_becomes_exact_decimals():
    raw = {
        "bids": [[0.1 + 0.2, 1e-08], [64123.45678901, 2.5, 7]],  # a third field (an order count) is ignored
        "asks": [[64123.46, 0.001], [70000.0, 3.0]],
        "timestamp": None,
    }
    parsed = book_from_ccxt(raw, "BTC/USDT", "binance", 10, now_ms=1234)

    assert parsed.bids == ((D("64123.45678901"), D("2.5")), (D("0.30000000000000004"), D("1E-8")))
    assert parsed.asks == ((D("64123.46"), D("0.001")), (D("70000.0"), D("3.0")))
    assert parsed.timestamp_ms == 1234
    assert book_from_ccxt({**raw, "timestamp": 99}, "BTC/USDT", "binance", 1, now_ms=0).timestamp_ms == 99
    assert len(book_from_ccxt(raw, "BTC/USDT", "binance", 1, now_ms=0).asks) == 1


def test_a_ccxt_book_with_a_bad_number_is_refused():
    with pytest.raises(ValueError):
        book_from_ccxt({"bids": [[float("nan"), 1.0]], "asks": []}, "BTC/USDT", "binance", 5, now_ms=0)
