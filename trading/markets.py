"""A spot market's trading rules: tick and step sizes, minimums and fees.

The engine quantizes every price and amount itself and checks the minimums before an order
leaves, mirroring what the exchange would reject (CCXT.md "Markets, precision, limits"),
so ccxt's own rounding never changes an order.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal, localcontext

from trading.money import MONEY_CONTEXT, is_multiple, quantize_down, quantize_up


class Side(enum.Enum):
    BUY = "buy"
    SELL = "sell"


class OrderRuleViolation(Exception):
    """An order the exchange would reject; `code` names the rule it breaks."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Market:
    """One symbol's rules. A zero `min_amount` or `min_notional` means no minimum.

    `maker_fee` and `taker_fee` are rates (0.001 is 0.1%). With `fee_in_received_asset`
    (Binance's default) a buy pays its fee in base and a sell in quote; without it (Upbit)
    every fee is paid in quote.
    """

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_amount: Decimal = Decimal(0)
    min_notional: Decimal = Decimal(0)
    maker_fee: Decimal = Decimal(0)
    taker_fee: Decimal = Decimal(0)
    fee_in_received_asset: bool = True

    def __post_init__(self) -> None:
        if self.tick_size <= 0 or self.step_size <= 0:
            raise ValueError(f"{self.symbol}: tick and step sizes must be positive")
        if self.min_amount < 0 or self.min_notional < 0:
            raise ValueError(f"{self.symbol}: minimums cannot be negative")
        for rate in (self.maker_fee, self.taker_fee):
            if not 0 <= rate < 1:
                raise ValueError(f"{self.symbol}: fee rate {rate} is not in [0, 1)")

    def price_to_tick(self, price: Decimal, side: Side) -> Decimal:
        """A limit price on the tick: buys round down and sells up, never worse for us."""
        if side is Side.BUY:
            return quantize_down(price, self.tick_size)
        return quantize_up(price, self.tick_size)

    def level_price(self, price: Decimal) -> Decimal:
        """A grid level on the tick, rounded down; one price serves both sides (GRID.md)."""
        return quantize_down(price, self.tick_size)

    def amount_to_step(self, amount: Decimal) -> Decimal:
        """An order amount on the step, rounded down so it never exceeds what we have."""
        return quantize_down(amount, self.step_size)

    def check_order(self, side: Side, price: Decimal, amount: Decimal) -> None:
        """Raise OrderRuleViolation for a limit order the exchange would refuse."""
        order = f"{side.value} {amount} {self.symbol} at {price}"
        if price <= 0 or amount <= 0:
            raise OrderRuleViolation("NON_POSITIVE", f"{order}: price and amount must be > 0")
        if not is_multiple(price, self.tick_size):
            raise OrderRuleViolation(
                "PRICE_NOT_ON_TICK", f"{order}: price is not a multiple of {self.tick_size}"
            )
        if not is_multiple(amount, self.step_size):
            raise OrderRuleViolation(
                "AMOUNT_NOT_ON_STEP", f"{order}: amount is not a multiple of {self.step_size}"
            )
        if amount < self.min_amount:
            raise OrderRuleViolation(
                "BELOW_MIN_AMOUNT", f"{order}: amount below the minimum {self.min_amount}"
            )
        with localcontext(MONEY_CONTEXT):
            notional = price * amount
        if notional < self.min_notional:
            raise OrderRuleViolation(
                "BELOW_MIN_NOTIONAL",
                f"{order}: value {notional} below the minimum {self.min_notional}",
            )

    def fee(
        self, amount: Decimal, price: Decimal, side: Side, is_maker: bool
    ) -> tuple[Decimal, str]:
        """The exact fee of a fill and its currency, under this market's fee model."""
        rate = self.maker_fee if is_maker else self.taker_fee
        with localcontext(MONEY_CONTEXT):
            if side is Side.BUY and self.fee_in_received_asset:
                return amount * rate, self.base
            return amount * price * rate, self.quote
