"""Streamed feed sources: prices pushed by a venue over a websocket, as they change.

A `StreamedSource` runs as one asyncio task (`stream`) until it is cancelled, calling
`deliver` with each new `Quote`; it reconnects by itself after errors and disconnects and
never raises for them. It knows nothing of threads: the feed actor runs the task in an
event loop on a thread it owns (`actors/stream_thread.py`), and `deliver` is called there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from trading.feeds.polled import Quote


@runtime_checkable
class StreamedSource(Protocol):
    """Run by the feed actor's stream thread; restartable (each `stream` starts afresh)."""

    async def stream(self, deliver: Callable[[Quote], None]) -> None:
        """Deliver quotes until cancelled; close whatever it opened on the way out."""
        ...
