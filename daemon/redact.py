"""Keeps secrets out of the logs: a filter on the root handler masks them in every record.

Two nets. The exact values the config loaded (exchange keys, the JWT secret, the database
password) are registered at start, so one is masked wherever it shows up, whatever the
shape of the message. Patterns catch what is a secret whatever its value: passwords in
URLs, `Authorization: Bearer ...`, JWTs, and `key=value` or `"key": "value"` pairs whose key
names a secret. The filter masks the message (after `%` formatting), the exception and stack
text and `extra=` fields, before any formatter sees them.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote, unquote

from pydantic import BaseModel, SecretStr

MASK = "***"

MIN_SECRET_LENGTH = 6
"""Shorter registered values are ignored: masking every `1234` would garble prices, and the
key patterns still catch them where they are named."""

_NAME = (
    r"[A-Za-z0-9_.-]*?(?:password|passwd|passphrase|secret|api[_-]?key|access[_-]?key"
    r"|private[_-]?key|token|authorization|credentials?)[A-Za-z0-9_-]*"
)
"""A key that names a secret: `password`, `api_secret`, `apiKey`, `X-MBX-APIKEY`, ..."""

_NOT_SECRET_SUFFIXES = ("_env", "_file")
"""`api_key_env = "BINANCE_KEY"` names where a secret comes from; that is worth seeing."""

_QUOTED = r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'"""

_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*):(?P<value>[^\s@/]+)@")
_JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?P<head>\bbearer\s+)(?P<value>[A-Za-z0-9._~+/-]+=*)", re.IGNORECASE)
_QUOTED_PAIR = re.compile(
    rf"(?P<head>(?P<quote>[\"'])(?P<key>{_NAME})(?P=quote)\s*:\s*)"
    rf"(?P<value>b?(?:{_QUOTED})|-?\d[\d.eE+-]*)",
    re.IGNORECASE,
)
"""`"password": "x"` (JSON) and `'password': 'x'` (a dict's repr)."""
_PAIR = re.compile(
    rf"(?P<head>(?<![A-Za-z0-9_.-])(?P<key>{_NAME})\s*[=:]\s*(?:(?:bearer|basic|token)\s+)?)"
    rf"(?P<value>{_QUOTED}|[^\s,;&\"'<>{{}}\[\]()]+)",
    re.IGNORECASE,
)
"""`password=x`, `api_key: x`, `Authorization: Bearer x`, `?token=x&...`."""


class SecretRegistry:
    """The exact secret values to mask; the daemon feeds it the secrets its config loaded."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] | None = None

    def add(self, values: Iterable[str]) -> None:
        """Mask each value from now on, also as it looks URL-quoted or in a `repr`."""
        with self._lock:
            known = set(self._values)
            for value in values:
                if len(value) >= MIN_SECRET_LENGTH:
                    known |= {value, quote(value, safe=""), repr(value)[1:-1]}
            self._set(known)

    def clear(self) -> None:
        with self._lock:
            self._set(set())

    def mask(self, text: str) -> str:
        pattern = self._pattern  # one read: another thread may be adding
        return text if pattern is None else pattern.sub(MASK, text)

    def _set(self, values: set[str]) -> None:
        self._values = frozenset(values)
        # Longest first, so a secret that contains another is masked whole.
        alternatives = "|".join(re.escape(value) for value in sorted(values, key=len, reverse=True))
        self._pattern = re.compile(alternatives) if alternatives else None


SECRETS = SecretRegistry()
"""The process's registry; `RedactingFilter` uses it unless given another."""


def redact(text: str, registry: SecretRegistry = SECRETS) -> str:
    """`text` with every registered secret and every secret-looking value masked."""
    text = registry.mask(text)
    text = _URL_PASSWORD.sub(rf"\g<head>:{MASK}@", text)
    text = _JWT.sub(MASK, text)
    text = _BEARER.sub(rf"\g<head>{MASK}", text)
    text = _QUOTED_PAIR.sub(_mask_pair, text)
    return _PAIR.sub(_mask_pair, text)


def _mask_pair(match: re.Match[str]) -> str:
    if match["key"].lower().endswith(_NOT_SECRET_SUFFIXES):
        return match[0]
    value = match["value"].removeprefix("b")
    quote_mark = value[0] if value[:1] in ("'", '"') else ""
    return f"{match['head']}{quote_mark}{MASK}{quote_mark}"


def is_secret_name(name: str) -> bool:
    """Whether a field or variable called `name` holds a secret (`api_key`, `TRADERD_JWT_SECRET`)."""
    return bool(re.fullmatch(_NAME, name, re.IGNORECASE)) and not name.lower().endswith(_NOT_SECRET_SUFFIXES)


class RedactingFilter(logging.Filter):
    """Masks secrets in a record in place; installed on every root handler.

    On a handler rather than a logger: a logger's filters see only the records logged on
    that very logger, a handler's see every record that reaches it.
    """

    def __init__(self, registry: SecretRegistry = SECRETS) -> None:
        super().__init__()
        self.registry = registry

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad log call: the handler would report it, arguments and all
            message = f"{record.msg} {record.args!r}"
        record.msg = self._redact(message)
        record.args = ()
        if record.exc_info:
            # Format once here and drop the live exception, so no formatter can print it raw.
            record.exc_text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        for key, value in _extras(record):
            setattr(record, key, MASK if is_secret_name(key) and value else self._redact_value(value))
        return True

    def _redact(self, text: str) -> str:
        return redact(text, self.registry)

    def _redact_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._redact(value)
        if isinstance(value, dict):
            return {
                key: MASK if isinstance(key, str) and is_secret_name(key) else self._redact_value(item)
                for key, item in value.items()
            }
        if isinstance(value, list | tuple):
            return type(value)(self._redact_value(item) for item in value)
        return value


_STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def _extras(record: logging.LogRecord) -> list[tuple[str, Any]]:
    return [(key, value) for key, value in vars(record).items() if key not in _STANDARD_ATTRIBUTES]


def config_secrets(config: BaseModel) -> Iterator[str]:
    """Every secret a loaded config holds: its `SecretStr` values and the password of any
    URL field (`database.url`)."""
    for name, value in config:
        yield from _secrets_in(name, value)


def _secrets_in(name: str, value: Any) -> Iterator[str]:
    if isinstance(value, SecretStr):
        yield value.get_secret_value()
    elif isinstance(value, BaseModel):
        yield from config_secrets(value)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _secrets_in(name, item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _secrets_in(str(key), item)
    elif isinstance(value, str) and name.endswith("url"):
        match = _URL_PASSWORD.search(value)
        if match:
            yield unquote(match["value"])
