"""The API's wire precision of money: sums on the wire add up to the last digit."""

from __future__ import annotations

from decimal import Decimal as D

from api.bot_support import Rounding
from trading.grid.profit import cycle_profit_fee_in_quote, cycle_profit_fee_in_received
from trading.markets import Market
from trading.venues.paper_markets import paper_market


def test_cycle_profits_net_of_fees_go_out_exact_so_the_grid_profit_is_their_sum():
    market = paper_market("XRP/USDT", D("0.001"), D("0.001"))
    rounding = Rounding(market)
    # Buys and sells on the tick, amounts on the step, as the grid places them.
    cycles = [(D("19.9"), D("0.5012"), D("0.5037")), (D("19.8"), D("0.5037"), D("0.5062")), (D("20.0"), D("0.4987"), D("0.4988"))]
    fee = market.taker_fee
    profits = [cycle_profit_fee_in_quote(q, b, s, fee) for q, b, s in cycles]
    profits += [cycle_profit_fee_in_received(q, b, s, fee, market.step_size) for q, b, s in cycles]

    shown = [rounding.quote(profit) for profit in profits]

    assert shown == profits  # nothing lost
    assert rounding.quote(sum(profits, D(0))) == sum(shown, D(0))


def test_a_finer_fee_rate_makes_a_finer_quantum_and_averages_are_rounded_to_it():
    market = Market(symbol="X/Y", base="X", quote="Y", tick_size=D("0.01"), step_size=D("0.1"), min_amount=D("0.1"),
                    min_notional=D("1"), maker_fee=D("0.00075"), taker_fee=D("0.001"))
    rounding = Rounding(market)
    assert rounding.money == D("1E-8")
    assert rounding.quote(D(1) / D(3)) == D("0.33333333")
