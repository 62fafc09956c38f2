"""Shapes every resource shares: money as decimal strings, UTC timestamps, pages."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

T = TypeVar("T")

Money = Annotated[
    Decimal,
    PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "decimal", "examples": ["0.00125"]}, mode="serialization"),
]
"""A price, amount, fee or balance: a decimal string in responses (`"0.00125"`, never a
float); requests accept a string or a number."""

UtcTimestamp = Annotated[
    datetime,
    PlainSerializer(
        lambda value: value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        return_type=str, when_used="json",
    ),
]
"""ISO 8601 UTC in responses: `2026-01-28T12:00:00Z`."""


class Model(BaseModel):
    """Base of request models: unknown fields are refused (a typo is an error, not a no-op)."""

    model_config = ConfigDict(extra="forbid")


class PageQuery(Model):
    """`?limit=` (default 50, max 500) and `?offset=`."""

    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=2**31 - 1)  # a database's OFFSET is a bounded integer


class Page(BaseModel, Generic[T]):
    """`{"items": [...], "total": 123, "limit": 50, "offset": 0}`."""

    items: list[T]
    total: int
    limit: int
    offset: int
