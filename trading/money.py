"""Decimal money helpers: parsing, and rounding to a market's tick or step size.

Every price, amount and fee in traderd is a `Decimal`. Arithmetic here runs in a local
50-digit context (`MONEY_CONTEXT`), never the global one, so products of exchange numbers
stay exact and no caller's context setting can change a result.
"""

from __future__ import annotations

from decimal import (
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)

MONEY_CONTEXT = Context(
    prec=50, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)

Number = Decimal | int | str | float


def to_decimal(value: Number) -> Decimal:
    """`value` as a finite Decimal; a float goes through `str`, so 0.1 becomes Decimal("0.1").

    Raises ValueError for NaN, infinities, bools and unparsable strings.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(str(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
    else:
        raise TypeError(f"cannot make a Decimal of {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def quantize_down(value: Decimal, step: Decimal) -> Decimal:
    """The largest multiple of `step` that is <= `value` (exact, any positive step)."""
    multiples, remainder = _divmod(value, step)
    if remainder < 0:
        multiples -= 1
    return _scaled(multiples, step)


def quantize_up(value: Decimal, step: Decimal) -> Decimal:
    """The smallest multiple of `step` that is >= `value` (exact, any positive step)."""
    multiples, remainder = _divmod(value, step)
    if remainder > 0:
        multiples += 1
    return _scaled(multiples, step)


def is_multiple(value: Decimal, step: Decimal) -> bool:
    """Whether `value` is a whole number of `step`s."""
    return _divmod(value, step)[1] == 0


def divide_down(numerator: Decimal, denominator: Decimal, step: Decimal) -> Decimal:
    """`numerator / denominator` rounded down to a multiple of `step`.

    The quotient is taken with ROUND_FLOOR, so a quotient that is exactly a multiple of
    `step` stays one and an inexact one is never nudged up onto the next multiple: an
    amount bought with a budget never costs more than the budget.
    """
    with localcontext(MONEY_CONTEXT) as ctx:
        ctx.rounding = ROUND_FLOOR
        quotient = numerator / denominator
    return quantize_down(quotient, step)


def _divmod(value: Decimal, step: Decimal) -> tuple[Decimal, Decimal]:
    """Whole steps in `value` truncated toward zero, and the remainder (sign of `value`).

    Decimal's integer division is exact (it raises rather than round), unlike
    `(value / step).to_integral_value()`, which can round a quotient just below a whole
    number up onto it.
    """
    if step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    with localcontext(MONEY_CONTEXT):
        return divmod(value, step)


def _scaled(multiples: Decimal, step: Decimal) -> Decimal:
    """`multiples * step`, written with the step's decimal places (none for steps >= 1)."""
    exponent = min(step.normalize().as_tuple().exponent, 0)
    with localcontext(MONEY_CONTEXT):
        return (multiples * step).quantize(Decimal(1).scaleb(exponent))


def plain(value: Decimal) -> str:
    """`value` as a plain decimal string for the wire: `str(Decimal("0.00000010"))` is
    "1.0E-7", which an exchange may refuse; this gives "0.00000010"."""
    return format(value, "f")
