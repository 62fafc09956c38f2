"""Messages to JSON and back, exactly: the journal's payload format.

A message is stored as its class name plus a JSON object of its fields. Field types come
from the class's type hints: `Decimal` travels as a string (so "1.50" stays "1.50"), an
`Enum` as its value, a nested dataclass as an object, a tuple as an array; `str`, `int`,
`bool` and `None` as themselves. How to convert each field is worked out once per class,
since this runs on the journal's hot path.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import types
import typing
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from storage.errors import UnknownEventType
from trading.messages import Message

__all__ = ["UnknownEventType", "decode_message", "encode_message"]

Convert = Callable[[Any], Any]
"""Turns one value into its JSON form or back; None where the value passes as it is."""

_dumps = json.JSONEncoder(separators=(",", ":")).encode
_loads = json.JSONDecoder().decode
_PLAIN_TYPES = (str, int, bool, type(None))


@dataclasses.dataclass(frozen=True, slots=True)
class _Shape:
    """The fields of one dataclass, and the converters of those that need one."""

    cls: type
    names: tuple[str, ...]
    encoders: tuple[tuple[str, Convert], ...]
    decoders: tuple[tuple[str, Convert], ...]

    def encode(self, obj: Any) -> dict[str, Any]:
        data = {name: getattr(obj, name) for name in self.names}
        for name, encode in self.encoders:
            data[name] = encode(data[name])
        return data

    def decode(self, data: dict[str, Any]) -> Any:
        for name, decode in self.decoders:
            if name in data:
                data[name] = decode(data[name])
        return self.cls(**data)


def encode_message(message: Message) -> tuple[str, str]:
    """The message's type name and its fields as compact JSON."""
    cls = type(message)
    return cls.__name__, _dumps(_shape(cls).encode(message))


def decode_message(type_name: str, text: str) -> Message:
    """The message `encode_message` gave `type_name` and `text` for."""
    try:
        cls = Message.registry[type_name]
    except KeyError:
        raise UnknownEventType(type_name) from None
    return _shape(cls).decode(_loads(text))


def _encode_decimal(value: Decimal) -> str:
    """Plain notation where it is exact ("0.000000012345", not "1.2345E-8"), else `str`."""
    text = str(value)
    if "E" not in text:
        return text
    exponent = value.as_tuple().exponent
    # A positive exponent ("1E+3") has no plain spelling that keeps it.
    return format(value, "f") if isinstance(exponent, int) and exponent <= 0 else text


@functools.cache
def _shape(cls: type) -> _Shape:
    hints = typing.get_type_hints(cls)
    names, encoders, decoders = [], [], []
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        encode, decode = _converters(hints[field.name], f"{cls.__qualname__}.{field.name}")
        names.append(field.name)
        if encode is not None:
            encoders.append((field.name, encode))
        if decode is not None:
            decoders.append((field.name, decode))
    return _Shape(cls, tuple(names), tuple(encoders), tuple(decoders))


def _converters(hint: Any, where: str) -> tuple[Convert | None, Convert | None]:
    """How to encode and decode a value of type `hint`; `where` names it in errors."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint in _PLAIN_TYPES or origin is typing.Literal:
        return None, None
    if hint is Decimal:
        return _encode_decimal, Decimal
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum_value, hint
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        # Looked up at call time, so a dataclass may refer to itself.
        return (lambda value: _shape(hint).encode(value)), (lambda data: _shape(hint).decode(data))
    if origin in (typing.Union, types.UnionType) and len(args) == 2 and type(None) in args:
        (inner,) = (arg for arg in args if arg is not type(None))
        encode, decode = _converters(inner, where)
        return _or_none(encode), _or_none(decode)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        encode, decode = _converters(args[0], where)
        return _each(encode), _each_to_tuple(decode)
    if origin is dict and len(args) == 2 and args[0] is str:
        encode, decode = _converters(args[1], where)
        return _each_value(encode), _each_value(decode)
    raise TypeError(f"{where}: the journal codec cannot store a {hint!r}")


def _enum_value(member: enum.Enum) -> Any:
    return member.value


def _or_none(convert: Convert | None) -> Convert | None:
    if convert is None:
        return None
    return lambda value: None if value is None else convert(value)


def _each(convert: Convert | None) -> Convert | None:
    # json encodes tuples as arrays already.
    if convert is None:
        return None
    return lambda items: [convert(item) for item in items]


def _each_to_tuple(convert: Convert | None) -> Convert:
    if convert is None:
        return tuple
    return lambda items: tuple(convert(item) for item in items)


def _each_value(convert: Convert | None) -> Convert | None:
    if convert is None:
        return None
    return lambda mapping: {key: convert(value) for key, value in mapping.items()}
