"""How an actor answers a command without the sender blocking on a Pykka future.

A command carries a `Reply`; the actor settles it once. Who waits, and how, is the
sender's business: a thread waits on a `concurrent.futures.Future`, the Tornado loop on
an asyncio future settled through `add_callback` (see `api/bridge.py`).
"""

from __future__ import annotations

import concurrent.futures
from typing import Any, Protocol


class Reply(Protocol):
    """Settled exactly once, from any thread."""

    def set_result(self, value: Any) -> None: ...

    def set_exception(self, error: BaseException) -> None: ...


class FutureReply:
    """A reply a plain thread can wait for (boot code, CLI, tests)."""

    def __init__(self) -> None:
        self.future: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def set_result(self, value: Any) -> None:
        if not self.future.done():
            self.future.set_result(value)

    def set_exception(self, error: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(error)

    def wait(self, timeout: float | None = None) -> Any:
        return self.future.result(timeout)
