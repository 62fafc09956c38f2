"""Decimal parsing and rounding to tick and step sizes."""

from decimal import Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.money import divide_down, is_multiple, quantize_down, quantize_up, to_decimal

D = Decimal
STEPS = [D("0.00000001"), D("0.0001"), D("0.01"), D("0.5"), D("1"), D("5"), D("1000"), D("0.25")]

values = st.builds(
    lambda units, exponent: D(units).scaleb(exponent),
    st.integers(-(10**15), 10**15),
    st.integers(-12, 4),
)
steps = st.sampled_from(STEPS)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0.1, "0.1"),
        (1e-7, "1E-7"),
        (3, "3"),
        (" 1.50 ", "1.50"),
        ("-2.5E+3", "-2.5E+3"),
        (D("7.25"), "7.25"),
    ],
)
def test_to_decimal_parses_exactly(raw, expected):
    assert str(to_decimal(raw)) == expected


@pytest.mark.parametrize("raw", [float("nan"), float("inf"), "NaN", "-Infinity", "abc", "", True])
def test_to_decimal_rejects_non_numbers(raw):
    with pytest.raises(ValueError):
        to_decimal(raw)


def test_to_decimal_rejects_other_types():
    with pytest.raises(TypeError):
        to_decimal([1])


@pytest.mark.parametrize(
    ("value", "step", "down", "up"),
    [
        ("1.23456", "0.01", "1.23", "1.24"),
        ("7.74", "0.5", "7.5", "8.0"),
        ("12", "5", "10", "15"),
        ("-1.2", "0.5", "-1.5", "-1.0"),
        ("100", "0.01", "100.00", "100.00"),
        ("1E+2", "1", "100", "100"),
        ("0.000000015", "0.00000001", "1E-8", "2E-8"),
        ("68639285.25", "1000", "68639000", "68640000"),
    ],
)
def test_quantize_examples(value, step, down, up):
    assert str(quantize_down(D(value), D(step))) == down
    assert str(quantize_up(D(value), D(step))) == up


@given(values, steps)
def test_quantize_down_is_the_largest_multiple_not_above(value, step):
    down = quantize_down(value, step)
    assert down <= value < down + step
    assert is_multiple(down, step)
    assert (down == value) == is_multiple(value, step)


@given(values, steps)
def test_quantize_up_is_the_smallest_multiple_not_below(value, step):
    up = quantize_up(value, step)
    assert up - step < value <= up
    assert is_multiple(up, step)
    assert up - quantize_down(value, step) == (0 if is_multiple(value, step) else step)


def test_quantize_ignores_the_callers_context():
    with localcontext() as ctx:
        ctx.prec = 3
        assert quantize_down(D("123456.789"), D("0.01")) == D("123456.78")
        assert is_multiple(D("123456.75"), D("0.25"))


def test_quantize_is_exact_where_a_rounded_quotient_would_not_be():
    just_below_three = D("2." + "9" * 60)
    just_above_two = D("2." + "0" * 59 + "1")
    assert quantize_down(just_below_three, D(1)) == 2
    assert quantize_up(just_above_two, D(1)) == 3


@pytest.mark.parametrize("step", [D(0), D("-0.01")])
def test_steps_must_be_positive(step):
    with pytest.raises(ValueError):
        quantize_down(D(1), step)


def test_is_multiple_examples():
    assert is_multiple(D("7.5"), D("0.5"))
    assert not is_multiple(D("7.4"), D("0.5"))
    assert is_multiple(D("15"), D("5"))
    assert not is_multiple(D("0.0000000150"), D("0.00000001"))


def test_divide_down_never_rounds_the_quotient_up_first():
    assert divide_down(D("1." + "9" * 60), D(1), D(1)) == 1
    assert divide_down(D(2), D("1." + "0" * 59 + "1"), D(1)) == 1
    assert divide_down(D(10), D(3), D("0.001")) == D("3.333")
    assert divide_down(D(1000), D(4) * D("125"), D("0.001")) == D("2.000")


@given(
    st.integers(1, 10**12).map(lambda n: D(n).scaleb(-2)),
    st.integers(1, 10**9).map(lambda n: D(n).scaleb(-4)),
    steps,
)
def test_divide_down_buys_at_most_the_budget(numerator, denominator, step):
    amount = divide_down(numerator, denominator, step)
    assert is_multiple(amount, step)
    exact = Fraction(numerator) / Fraction(denominator)
    assert Fraction(amount) <= exact < Fraction(amount) + Fraction(step)
