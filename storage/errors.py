"""What the storage layer raises, so callers need not know SQLAlchemy's exceptions."""

from __future__ import annotations


class StorageError(Exception):
    """Base of the errors below."""


class UnknownEventType(StorageError, LookupError):
    """A stored type name with no message class registered under it."""

    def __init__(self, type_name: str) -> None:
        super().__init__(
            f"no message class named {type_name!r} is registered"
            " (is the module that defines it imported?)"
        )
        self.type_name = type_name


class DuplicateEvent(StorageError):
    """An event whose message_id the journal already holds; its whole batch was rolled back."""


class ProjectionError(StorageError):
    """A projector failed; the batch it ran in, events included, was rolled back."""


class ForeignKeyViolation(StorageError):
    """A migration left rows that point at nothing; it was rolled back."""


class UserExists(StorageError):
    """A user with that username or email exists already."""
