"""FIFO cost basis of one account's trading in one symbol: open lots, average cost and
realized PnL, from its fills in the order they happened.

A buy opens a lot of the base it received (less a fee paid in base) at what it cost (plus
a fee paid in quote). A sell closes the oldest lots first; its realized PnL is what it
brought in (less a fee in quote) minus the cost of the lots it closed. Base sold beyond
the lots (a paper account's initial balance, or a position older than the journal) has no
known cost: it is counted in `unmatched_sold` and earns no realized PnL. A fee in a third
asset (BNB) has no price here and is left out, as `accounting.fee_in_quote` does.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from trading.markets import Side
from trading.money import MONEY_CONTEXT

ZERO = Decimal(0)


@dataclass(frozen=True)
class Execution:
    """One fill as cost basis needs it."""

    side: Side
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_currency: str | None


@dataclass
class Lot:
    """Base still held from one buy, and what that base cost in quote."""

    quantity: Decimal
    cost: Decimal

    @property
    def price(self) -> Decimal:
        with localcontext(MONEY_CONTEXT):
            return self.cost / self.quantity


@dataclass
class CostBasis:
    """FIFO book of one symbol; feed it fills oldest first with `book`."""

    base: str
    quote: str
    lots: deque[Lot] = field(default_factory=deque)
    realized_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    """Fees valued in quote (a base fee at its fill's price)."""
    bought: Decimal = ZERO
    sold: Decimal = ZERO
    unmatched_sold: Decimal = ZERO
    trades: int = 0

    def book(self, fill: Execution) -> Decimal:
        """Apply one fill; return the PnL it realized (zero for a buy)."""
        self.trades += 1
        with localcontext(MONEY_CONTEXT):
            notional = fill.price * fill.quantity
            base_fee = fill.fee if fill.fee_currency == self.base else ZERO
            quote_fee = fill.fee if fill.fee_currency == self.quote else ZERO
            self.fees_paid += quote_fee + base_fee * fill.price
            if fill.side is Side.BUY:
                self.bought += fill.quantity
                received = fill.quantity - base_fee
                if received > 0:
                    self.lots.append(Lot(received, notional + quote_fee))
                return ZERO
            self.sold += fill.quantity
            return self._close(fill.quantity + base_fee, notional - quote_fee)

    def _close(self, quantity: Decimal, proceeds: Decimal) -> Decimal:
        remaining = quantity
        cost = ZERO
        while remaining > 0 and self.lots:
            lot = self.lots[0]
            if lot.quantity <= remaining:
                cost += lot.cost
                remaining -= lot.quantity
                self.lots.popleft()
            else:
                part = lot.cost * remaining / lot.quantity
                cost += part
                lot.cost -= part
                lot.quantity -= remaining
                remaining = ZERO
        matched = quantity - remaining
        self.unmatched_sold += remaining
        if matched == 0:
            return ZERO
        realized = proceeds * matched / quantity - cost
        self.realized_pnl += realized
        return realized

    @property
    def quantity(self) -> Decimal:
        """Base held in open lots."""
        return sum((lot.quantity for lot in self.lots), ZERO)

    @property
    def cost(self) -> Decimal:
        """What the open lots cost, in quote."""
        return sum((lot.cost for lot in self.lots), ZERO)

    @property
    def average_cost(self) -> Decimal | None:
        """Quote per base of the open lots; None when nothing is held."""
        quantity = self.quantity
        if quantity == 0:
            return None
        with localcontext(MONEY_CONTEXT):
            return self.cost / quantity


def cost_basis(base: str, quote: str, fills: list[Execution]) -> CostBasis:
    """The book after `fills`, oldest first."""
    book = CostBasis(base, quote)
    for fill in fills:
        book.book(fill)
    return book
