"""Market rules the paper exchange uses for common symbols.

They mirror Binance's spot filters (tick size, step size, minimums) closely enough that a
grid that passes on paper passes on the exchange; a paper account may override them.
"""

from __future__ import annotations

from decimal import Decimal

from trading.markets import Market

# symbol: (tick_size, step_size, min_amount, min_notional)
_RULES: dict[str, tuple[str, str, str, str]] = {
    "BTC/USDT": ("0.01", "0.00001", "0.00001", "5"),
    "ETH/USDT": ("0.01", "0.0001", "0.0001", "5"),
    "XRP/USDT": ("0.0001", "0.1", "0.1", "5"),
    "ETH/BTC": ("0.000001", "0.0001", "0.0001", "0.0001"),
    "XRP/ETH": ("0.00000001", "1", "1", "0.001"),
}


def paper_market(symbol: str, maker_fee: Decimal, taker_fee: Decimal) -> Market:
    """The rules of `symbol` with the account's fees; KeyError for an unknown symbol."""
    tick, step, min_amount, min_notional = _RULES[symbol]
    base, quote = symbol.split("/")
    return Market(
        symbol=symbol,
        base=base,
        quote=quote,
        tick_size=Decimal(tick),
        step_size=Decimal(step),
        min_amount=Decimal(min_amount),
        min_notional=Decimal(min_notional),
        maker_fee=maker_fee,
        taker_fee=taker_fee,
        fee_in_received_asset=True,
    )


def known_symbols() -> tuple[str, ...]:
    return tuple(_RULES)
