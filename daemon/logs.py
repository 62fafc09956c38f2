"""Logging: one line per event; JSON when stdout is not a terminal, text when it is.

Each line names the thread (actors name their threads after themselves, so this is the
bot or account) and the correlation id of the message being handled; a JSON line also
carries the `bot_id` when it is about a bot, so one bot's lines can be selected. Every
record passes `daemon.redact.RedactingFilter` first: secrets are never written.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import datetime, timezone
from types import TracebackType
from typing import Any, TextIO

from actors import context
from daemon.redact import RedactingFilter

BOT_THREAD_PREFIX = "bot:"
"""Bot actors' threads are `bot:<bot id>` (`daemon.wiring.bot_name`)."""

# LogRecord attributes that are not `extra=` fields.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in vars(record).items() if key not in _STANDARD_ATTRIBUTES}


def _bot_id(record: logging.LogRecord) -> str | None:
    """The bot a record is about: its `extra={"bot_id": ...}`, else the bot actor logging it."""
    explicit = getattr(record, "bot_id", None)
    if explicit is not None:
        return str(explicit)
    name = record.threadName or ""
    return name.removeprefix(BOT_THREAD_PREFIX) if name.startswith(BOT_THREAD_PREFIX) else None


def _exception_text(formatter: logging.Formatter, record: logging.LogRecord) -> str | None:
    """The traceback: as the redacting filter left it, else formatted here."""
    if record.exc_info and not record.exc_text:
        return formatter.formatException(record.exc_info)
    return record.exc_text or None


class JsonFormatter(logging.Formatter):
    """A JSON object per line: ts, level, logger, thread, bot_id, msg, correlation_id,
    extras, exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "thread": record.threadName,
        }
        bot_id = _bot_id(record)
        if bot_id is not None:
            entry["bot_id"] = bot_id
        entry["msg"] = record.getMessage()
        correlation_id = context.correlation_id.get()
        if correlation_id:
            entry["correlation_id"] = correlation_id
        entry.update(_extras(record))
        exception = _exception_text(self, record)
        if exception:
            entry["exc"] = exception
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Readable lines for a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname:<7} [{record.threadName}] {record.name}: {record.getMessage()}"
        correlation_id = context.correlation_id.get()
        extras = _extras(record)
        if correlation_id:
            extras["correlation_id"] = correlation_id
        if extras:
            line += " " + " ".join(f"{key}={value}" for key, value in extras.items())
        exception = _exception_text(self, record)
        if exception:
            line += "\n" + exception
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


def setup_logging(level: str = "INFO", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Route every logger to `stream` (stdout) in the chosen format, replacing old handlers.

    Uncaught exceptions, in the main thread or another, are logged too rather than printed:
    they become one line like any other, and pass the redacting filter.
    """
    stream = stream or sys.stdout
    use_json = fmt == "json" or (fmt == "auto" and not stream.isatty())
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Tornado logs each request at INFO (traderd's own access log is at DEBUG); alembic
    # narrates its setup at INFO, and the daemon says which revision it reached.
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


def _log_uncaught(
    exc_type: type[BaseException], exc_value: BaseException, traceback: TracebackType | None
) -> None:
    logging.getLogger("traderd").critical("uncaught exception", exc_info=(exc_type, exc_value, traceback))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:  # what the default hook does too
        return
    name = args.thread.name if args.thread is not None else "?"
    logging.getLogger("traderd").critical(
        "uncaught exception in thread %s", name, exc_info=(args.exc_type, args.exc_value, args.exc_traceback)
    )
