"""`SupervisedActor`: the base of every traderd actor.

It dispatches each message to `on_<message_type_in_snake_case>`, names its thread after
the actor (so log lines and SIGUSR1 dumps say which bot or account), and tells its
supervisor when a message handler raises. Pykka stops an actor whose `tell`ed message
raised; the supervisor decides whether it comes back.
"""

from __future__ import annotations

import logging
import re
import threading
from types import TracebackType
from typing import Any, Callable, ClassVar

import pykka

from actors import context
from actors.messages import ChildFailed

logger = logging.getLogger(__name__)

_PYKKA_INTERNALS = frozenset(
    name
    for klass in (pykka.Actor, pykka.ThreadingActor)
    for name in vars(klass)
    if name.startswith("_") and not name.startswith("__")
)

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def handler_name(message_type: type) -> str:
    """`OrderFilled` -> `on_order_filled`."""
    return "on_" + _CAMEL_BOUNDARY.sub("_", message_type.__name__).lower()


def describe_error(error: BaseException | None) -> str:
    """A one-line description of an exception for status fields and events."""
    if error is None:
        return "unknown error"
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class SupervisedActor(pykka.ThreadingActor):
    """A Pykka thread actor with typed dispatch and failure reporting."""

    _dispatch: ClassVar[dict[type, str | None]] = {}

    # Daemon threads: an actor wedged past the shutdown deadline must not keep the
    # process alive; orderly shutdown stops every actor explicitly before exit.
    use_daemon_thread = True

    def __init__(self, *, name: str, supervisor: pykka.ActorRef[Any] | None = None) -> None:
        super().__init__()
        self.name = name
        self.supervisor = supervisor

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._dispatch = {}
        shadowed = _PYKKA_INTERNALS & set(vars(cls))
        if shadowed:
            # Pykka calls these itself; a same-named helper silently breaks stopping or
            # failure handling (it happened: a `_stop` helper made actors unstoppable).
            raise TypeError(f"{cls.__name__} must not define Pykka's internal {sorted(shadowed)}")

    def on_start(self) -> None:
        """Subclasses that override this call `super().on_start()` first."""
        threading.current_thread().name = self.name

    def on_receive(self, message: Any) -> Any:
        handler = self._handler_for(type(message))
        if handler is None:
            logger.warning("%s got a message it has no handler for: %r", self.name, message)
            return None
        token = context.correlation_id.set(getattr(message, "correlation_id", None))
        try:
            return handler(message)
        finally:
            context.correlation_id.reset(token)

    def _handler_for(self, message_type: type) -> Callable[[Any], Any] | None:
        dispatch = type(self)._dispatch
        try:
            name = dispatch[message_type]
        except KeyError:
            name = handler_name(message_type)
            name = name if callable(getattr(self, name, None)) else None
            dispatch[message_type] = name
        return None if name is None else getattr(self, name)

    def on_release(self) -> None:
        """Let go of what would outlive the actor (bus subscriptions, timers). Runs on stop
        and after a failure: Pykka ends a failed actor without calling `on_stop`, so
        subclasses free such things here rather than in `on_stop`."""

    def on_stop(self) -> None:
        self.on_release()

    def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.on_release()
        if self.supervisor is None:
            return
        try:
            self.supervisor.tell(
                ChildFailed(
                    name=self.name,
                    actor_urn=self.actor_urn,
                    error=describe_error(exception_value),
                )
            )
        except pykka.ActorDeadError:
            logger.warning("%s failed after its supervisor stopped", self.name)
