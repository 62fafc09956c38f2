from decimal import Decimal as D

from trading.cost_basis import Execution, cost_basis
from trading.feeds.resample import resample
from trading.market_data import Candle
from trading.markets import Side


def test_fifo_closes_the_oldest_lots_first():
    book = cost_basis("BTC", "USDT", [
        Execution(Side.BUY, D("100"), D("1"), D("0"), "USDT"),
        Execution(Side.BUY, D("200"), D("1"), D("0.2"), "USDT"),   # lot cost 200.2
        Execution(Side.SELL, D("300"), D("1.5"), D("0.45"), "USDT"),
    ])
    # Sold 1 of the 100 lot and 0.5 of the 200.2 lot: cost 200.1, proceeds 449.55.
    assert book.realized_pnl == D("249.45")
    assert (book.quantity, book.cost, book.average_cost) == (D("0.5"), D("100.1"), D("200.2"))
    assert book.fees_paid == D("0.65") and book.unmatched_sold == 0


def test_base_fees_shrink_the_lot_and_unknown_base_earns_nothing():
    book = cost_basis("BTC", "USDT", [
        Execution(Side.BUY, D("100"), D("1"), D("0.001"), "BTC"),
        Execution(Side.SELL, D("110"), D("2"), D("0"), "USDT"),
    ])
    # 0.999 BTC cost 100; selling 2 matches 0.999 (proceeds 109.89) and 1.001 is unknown.
    assert book.unmatched_sold == D("1.001")
    assert book.realized_pnl == D("9.89")
    assert book.quantity == 0 and book.average_cost is None


def test_resample_keeps_open_extremes_close_and_summed_volume():
    minute = 60_000
    candles = [Candle(i * minute, D(o), D(h), D(low), D(c), D("1.5")) for i, (o, h, low, c) in enumerate([
        ("10", "12", "9", "11"), ("11", "15", "10", "14"), ("14", "14", "8", "9"), ("9", "10", "9", "10"),
    ])]
    assert resample(candles, 3 * minute) == [
        Candle(0, D("10"), D("15"), D("8"), D("9"), D("4.5")),
        Candle(3 * minute, D("9"), D("10"), D("9"), D("10"), D("1.5")),
    ]
