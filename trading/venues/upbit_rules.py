"""Upbit's market rules as a `Market`: the price-banded KRW tick and the minimum order value.

ccxt's Upbit markets carry no tick and no minimum (precision 1e-8, limits empty; CCXT.md),
and ccxt rounds prices to 1e-8, so an order off Upbit's tick would leave ccxt unchanged and
be refused (`invalid_price_bid`). The tick on Upbit's KRW market depends on the price, so a
`Market` is made for a price: `upbit_market(ccxt_market, price)`. The exchange's own tick
(`GET /v1/orderbook/instruments`, `instrument_tick_size`) wins; the band table below is the
offline fallback. Each band's tick is a whole multiple of every lower band's, so the market
made for the highest price a grid trades at is valid at each of its lower levels too.

Pure: it reads the dicts ccxt returns and imports no ccxt.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from trading.markets import Market
from trading.money import to_decimal

KRW = "KRW"

KRW_TICK_BANDS: tuple[tuple[Decimal, Decimal], ...] = tuple(
    (Decimal(floor), Decimal(tick))
    for floor, tick in (
        ("2000000", "1000"),
        ("1000000", "1000"),
        ("500000", "500"),
        ("100000", "100"),
        ("50000", "50"),
        ("10000", "10"),
        ("5000", "5"),
        ("1000", "1"),
        ("100", "1"),
        ("10", "0.1"),
        ("1", "0.01"),
        ("0.1", "0.001"),
        ("0.01", "0.0001"),
        ("0.001", "0.00001"),
        ("0.0001", "0.000001"),
        ("0.00001", "0.0000001"),
        ("0", "0.00000001"),
    )
)
"""(lowest price of the band, tick), highest band first: Upbit's KRW order price unit
("원화 마켓 주문 가격 단위", docs.upbit.com market-info-trade-price-detail, as transcribed
at the end of 2025). Upbit changes it from time to time and sets exceptions per coin,
which is why the exchange's own tick comes first."""

KRW_MIN_ORDER_VALUE = Decimal("5000")
"""Upbit's minimum order value on the KRW market, when `orders/chance` was not asked."""

UPBIT_STEP = Decimal("0.00000001")
"""Volumes have 8 decimals (ccxt's `precision.amount` says the same)."""


def krw_tick_size(price: Decimal) -> Decimal:
    """The tick of a KRW-market price, from the band table."""
    if price <= 0:
        raise ValueError(f"a price must be positive, got {price}")
    for floor, tick in KRW_TICK_BANDS:
        if price >= floor:
            return tick
    raise AssertionError("the last band starts at 0")  # pragma: no cover


def instrument_tick_size(instruments: Iterable[Mapping[str, Any]], market_id: str) -> Decimal | None:
    """The tick Upbit reports for `market_id` (e.g. `KRW-BTC`) in an `orderbook/instruments`
    answer, or None when it is not there. It is the tick at the market's current price."""
    for instrument in instruments:
        if instrument.get("market") == market_id and instrument.get("tick_size") is not None:
            return to_decimal(str(instrument["tick_size"]))
    return None


def upbit_market(
    ccxt_market: Mapping[str, Any], price: Decimal, *, tick_size: Decimal | None = None
) -> Market:
    """Our `Market` for a ccxt Upbit market at `price`.

    `tick_size` is the exchange's tick for `price`'s band (from `instrument_tick_size`);
    without it a KRW market takes the band table and another quote ccxt's precision. The
    minimum order value is the market's `limits.cost.min` (set by ccxt's `fetch_market`,
    from `orders/chance`), else 5,000 KRW on the KRW market. Fees are paid in quote.
    """
    quote = ccxt_market["quote"]
    precision = ccxt_market.get("precision") or {}
    if tick_size is None:
        tick_size = krw_tick_size(price) if quote == KRW else _number(precision.get("price"), UPBIT_STEP)
    cost_min = ((ccxt_market.get("limits") or {}).get("cost") or {}).get("min")
    fallback_min = KRW_MIN_ORDER_VALUE if quote == KRW else Decimal(0)
    return Market(
        symbol=ccxt_market["symbol"],
        base=ccxt_market["base"],
        quote=quote,
        tick_size=tick_size,
        step_size=_number(precision.get("amount"), UPBIT_STEP),
        min_notional=_number(cost_min, fallback_min),
        maker_fee=_number(ccxt_market.get("maker"), Decimal(0)),
        taker_fee=_number(ccxt_market.get("taker"), Decimal(0)),
        fee_in_received_asset=False,
    )


def _number(value: Any, default: Decimal) -> Decimal:
    """A ccxt number (float, str or None) as an exact Decimal; floats go through `str`."""
    return default if value is None else to_decimal(str(value))
