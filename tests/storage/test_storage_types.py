from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Engine, Integer, MetaData, Table, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import StatementError

from storage.database import make_engine
from storage.types import ExactDecimal, UTCDateTime

probe_metadata = MetaData()
probe = Table(
    "type_probe",
    probe_metadata,
    Column("id", Integer, primary_key=True),
    Column("amount", ExactDecimal),
    Column("at", UTCDateTime),
)

EXACT = [
    "0.000000012345",
    "1.50",
    "0",
    "-0.10",
    "43210.12000000",
    "123456789012345678901234567890123456789.123456789012345678901234567890",
    "0." + "0" * 60 + "1",
    "-99999999999999999999999999999999999999999999999999",
]


@pytest.fixture
def probe_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    probe_metadata.create_all(engine)
    yield engine
    engine.dispose()


def store(engine: Engine, **values: object) -> dict[str, object]:
    with engine.begin() as connection:
        connection.execute(probe.delete())
        connection.execute(insert(probe).values(id=1, **values))
    with engine.connect() as connection:
        return dict(connection.execute(select(probe)).one()._mapping)


@pytest.mark.parametrize("literal", EXACT)
def test_exact_decimal_round_trips_every_digit(probe_engine: Engine, literal: str) -> None:
    value = Decimal(literal)

    back = store(probe_engine, amount=value)["amount"]

    assert isinstance(back, Decimal)
    assert back.as_tuple() == value.as_tuple()


def test_exact_decimal_takes_int_and_str(probe_engine: Engine) -> None:
    assert store(probe_engine, amount=42)["amount"] == Decimal(42)
    assert store(probe_engine, amount="2.50")["amount"].as_tuple() == Decimal("2.50").as_tuple()


def test_exact_decimal_stores_plain_text_on_sqlite(probe_engine: Engine) -> None:
    if probe_engine.dialect.name != "sqlite":
        pytest.skip("SQLite's storage format")
    store(probe_engine, amount=Decimal("0.000000012345"))

    with probe_engine.connect() as connection:
        raw = connection.execute(text("SELECT amount, typeof(amount) FROM type_probe")).one()

    assert tuple(raw) == ("0.000000012345", "text")


def test_exact_decimal_keeps_the_value_of_positive_exponents(probe_engine: Engine) -> None:
    assert store(probe_engine, amount=Decimal("1E+3"))["amount"] == Decimal(1000)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.builds(
        lambda digits, exponent: Decimal(f"{digits}E{exponent}"),
        st.integers(-(10**40), 10**40),
        st.integers(-40, 0),
    )
)
def test_exact_decimal_round_trips_any_decimal(probe_engine: Engine, value: Decimal) -> None:
    assert store(probe_engine, amount=value)["amount"].as_tuple() == value.as_tuple()


@pytest.mark.parametrize(
    "dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "postgresql"]
)
@pytest.mark.parametrize("bad", [1.5, 0.0, True])
def test_exact_decimal_refuses_floats_and_bools(dialect: object, bad: object) -> None:
    with pytest.raises(TypeError):
        ExactDecimal().process_bind_param(bad, dialect)


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("-Infinity"), "NaN", "1.2.3"])
def test_exact_decimal_refuses_what_is_not_a_finite_number(bad: object) -> None:
    with pytest.raises(ValueError):
        ExactDecimal().process_bind_param(bad, sqlite.dialect())


def test_a_float_never_reaches_the_database(probe_engine: Engine) -> None:
    with pytest.raises(StatementError) as raised:
        store(probe_engine, amount=0.1)

    assert isinstance(raised.value.orig, TypeError)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 1, 28, 12, 0, 0, 123456, tzinfo=timezone.utc),
        datetime(1999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))),
    ],
    ids=["utc", "minus-five"],
)
def test_utc_datetime_comes_back_aware_in_utc(probe_engine: Engine, moment: datetime) -> None:
    back = store(probe_engine, at=moment)["at"]

    assert back == moment
    assert back.utcoffset() == timedelta(0)
    assert back.tzinfo is timezone.utc


def test_utc_datetime_is_utc_whatever_the_session_zone(probe_engine: Engine) -> None:
    if probe_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no session time zone")
    moment = datetime(2026, 1, 28, 12, 0, tzinfo=timezone.utc)
    store(probe_engine, at=moment)

    with probe_engine.connect() as connection:
        connection.exec_driver_sql("SET TIME ZONE 'Asia/Kolkata'")
        back = connection.execute(select(probe.c.at)).scalar_one()

    assert back == moment
    assert back.tzinfo is timezone.utc


def test_utc_datetime_refuses_naive(probe_engine: Engine) -> None:
    with pytest.raises(StatementError) as raised:
        store(probe_engine, at=datetime(2026, 1, 28, 12, 0))

    assert isinstance(raised.value.orig, ValueError)
