"""How an actor answers a command without the sender blocking on a Pykka future.

A command carries a `Reply`; the actor settles it once. Who waits, and how, is the
sender's business: a thread waits on a `concurrent.futures.Future`, the Tornado loop on
an asyncio future settled through `add_callback` (see `api/bridge.py`).
"""

from __future__ import annotations

import concurrent.futures
from typing import Any, Callable, Protocol

import pykka


class Reply(Protocol):
    """Settled exactly once, from any thread."""

    def set_result(self, value: Any) -> None: ...

    def set_exception(self, error: BaseException) -> None: ...


class FutureReply:
    """A reply a plain thread can wait for (boot code, CLI, tests)."""

    def __init__(self) -> None:
        self.future: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def set_result(self, value: Any) -> None:
        self._settle(self.future.set_result, value)

    def set_exception(self, error: BaseException) -> None:
        self._settle(self.future.set_exception, error)

    @staticmethod
    def _settle(setter: Callable[[Any], None], value: Any) -> None:
        # A waiter that gave up cancels the future from its own thread, maybe between a
        # `done()` check and the set: settling a settled future is a no-op, never an error.
        try:
            setter(value)
        except concurrent.futures.InvalidStateError:
            pass

    def wait(self, timeout: float | None = None) -> Any:
        return self.future.result(timeout)


class ActorReply:
    """A reply delivered as a message to an actor: `wrap(result)` is told to `ref`.

    This is how one actor asks another without blocking: the answer arrives in its
    mailbox like any other message. Failures are wrapped too, as `wrap(exception)`.
    """

    def __init__(self, ref: pykka.ActorRef[Any], wrap: Callable[[Any], Any]) -> None:
        self.ref = ref
        self.wrap = wrap

    def set_result(self, value: Any) -> None:
        self._tell(self.wrap(value))

    def set_exception(self, error: BaseException) -> None:
        self._tell(self.wrap(error))

    def _tell(self, message: Any) -> None:
        try:
            self.ref.tell(message)
        except pykka.ActorDeadError:
            pass  # the asker is gone; nobody waits for this answer
