"""Column types that keep money exact and time in UTC on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import DateTime, Dialect, Numeric, Text
from sqlalchemy.types import TypeDecorator, TypeEngine


class ExactDecimal(TypeDecorator[Decimal]):
    """A `Decimal` stored without loss: unconstrained `NUMERIC` on PostgreSQL, TEXT on SQLite.

    SQLAlchemy's `Numeric` on SQLite goes through a float, which turns 0.1 into
    0.1000000000000000055511151231257827. Text in plain notation keeps every digit,
    including trailing zeros ("1.50"). The price of text is that SQLite compares and sums
    these columns as strings: do money arithmetic and ordering in Python, not in SQL.

    Floats are refused outright (money never goes through a float); `int` and `str`
    are taken as exact decimals, and NaN or infinities are refused.
    """

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
            raise TypeError(f"ExactDecimal takes Decimal, int or str, not {type(value).__name__}")
        try:
            number = value if isinstance(value, Decimal) else Decimal(value)
        except InvalidOperation:
            raise ValueError(f"ExactDecimal takes decimal numbers, not {value!r}") from None
        if not number.is_finite():
            raise ValueError(f"ExactDecimal takes finite numbers only, not {number}")
        if dialect.name == "sqlite":
            return format(number, "f")
        return number

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        # psycopg2 already returns Decimal for NUMERIC; SQLite gives back the text.
        return value if isinstance(value, Decimal) else Decimal(value)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC `datetime` in and out: `timestamptz` on PostgreSQL, naive UTC on SQLite.

    Naive datetimes are refused on the way in, since their zone is a guess; aware ones in
    any zone are converted to UTC.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(DateTime())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UTCDateTime takes a datetime, not {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"UTCDateTime takes aware datetimes only, not naive {value}")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        # PostgreSQL answers in the session's TimeZone, which need not be UTC.
        return value.astimezone(timezone.utc)
