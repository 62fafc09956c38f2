from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.codec import UnknownEventType, decode_message, encode_message
from trading.messages import Event


class Side(Enum):
    BUY = "buy"
    SELL = "sell"


@dataclass(frozen=True)
class Level:
    index: int
    price: Decimal
    side: Side | None


@dataclass(frozen=True)
class CodecProbe(Event):
    bot_id: str
    price: Decimal
    levels: tuple[Level, ...]
    balances: dict[str, Decimal]
    tags: tuple[str, ...] = ()
    limit: Decimal | None = None
    note: str | None = None
    filled: bool = False
    kind: Literal["limit", "market"] = "limit"


@dataclass(frozen=True)
class FloatProbe(Event):
    price: float


def probe(**changes: object) -> CodecProbe:
    fields: dict[str, object] = {
        "bot_id": "bot-1",
        "price": Decimal("43210.12"),
        "levels": (
            Level(0, Decimal("0.000000012345"), Side.BUY),
            Level(1, Decimal("1.50"), None),
        ),
        "balances": {"USDT": Decimal("10000.00"), "BTC": Decimal("0.00125")},
        "correlation_id": "request-7",
        "ts_event": 1_769_601_600_000_000_001,
    }
    fields.update(changes)
    return CodecProbe(**fields)  # type: ignore[arg-type]


def round_trip(event: Event) -> Event:
    return decode_message(*encode_message(event))


def test_round_trip_gives_an_equal_event() -> None:
    event = probe(tags=("a", "b"), limit=Decimal("-0.10"), note="hi", filled=True, kind="market")

    assert round_trip(event) == event


def test_round_trip_keeps_types_and_every_decimal_digit() -> None:
    back = round_trip(probe())

    assert isinstance(back, CodecProbe)
    assert isinstance(back.levels, tuple) and isinstance(back.levels[0], Level)
    assert back.levels[0].side is Side.BUY
    assert str(back.levels[0].price) == str(Decimal("0.000000012345"))
    assert str(back.levels[1].price) == "1.50"
    assert str(back.balances["USDT"]) == "10000.00"


def test_json_is_compact_with_decimals_as_plain_strings() -> None:
    event = probe()

    type_name, text = encode_message(event)

    assert type_name == "CodecProbe"
    assert " " not in text
    data = json.loads(text)
    assert data["levels"][0] == {"index": 0, "price": "0.000000012345", "side": "buy"}
    assert data["balances"] == {"USDT": "10000.00", "BTC": "0.00125"}
    assert data["message_id"] == event.message_id
    assert data["ts_event"] == 1_769_601_600_000_000_001


def test_headers_survive() -> None:
    event = probe()

    back = round_trip(event)

    assert (back.message_id, back.correlation_id, back.ts_event, back.ts_init) == (
        event.message_id,
        event.correlation_id,
        event.ts_event,
        event.ts_init,
    )


@given(
    st.decimals(allow_nan=False, allow_infinity=False)
    | st.builds(
        lambda digits, exponent: Decimal(f"{digits}E{exponent}"),
        st.integers(-(10**30), 10**30),
        st.integers(-40, 40),
    )
)
def test_any_finite_decimal_survives_exactly(value: Decimal) -> None:
    back = round_trip(probe(price=value, limit=value, balances={"X": value}))

    assert isinstance(back, CodecProbe)
    for decimal in (back.price, back.limit, back.balances["X"]):
        assert decimal is not None and decimal.as_tuple() == value.as_tuple()


def test_unknown_type_name_is_a_clear_error() -> None:
    with pytest.raises(UnknownEventType, match="NoSuchEvent"):
        decode_message("NoSuchEvent", "{}")


def test_fields_the_codec_cannot_store_exactly_are_refused() -> None:
    with pytest.raises(TypeError, match="FloatProbe.price"):
        encode_message(FloatProbe(price=0.1))
