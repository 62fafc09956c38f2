"""The thread a feed actor owns to run a `StreamedSource` in an asyncio loop of its own.

Thread boundary: the source's task and its client live on this thread only (ccxt.pro
clients are not thread-safe); quotes cross to the actor through `LatestQuote`, which keeps
only the newest and tells the actor one `StreamQuoteReady` while none is waiting, so a
fast stream never floods the actor's mailbox. Candles cross the same way, the newest
version of each (by open time) kept until the actor takes them. `stop` cancels the task, lets it close its
client, and joins the thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from typing import Any

import pykka

from trading.feeds.live_candles import CandleBatch
from trading.feeds.polled import Quote
from trading.market_data import Candle
from trading.feeds.streamed import StreamedSource
from trading.messages import Command

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamQuoteReady(Command):
    """Told to the feed actor when its stream has a quote or candles; `take` them from `latest`."""

    latest: LatestQuote


class LatestQuote:
    """The newest undelivered quote (latest wins), the undelivered candles (the newest
    version of each), and whether the actor was told."""

    def __init__(self, actor: pykka.ActorRef[Any]) -> None:
        self.actor = actor
        self._lock = threading.Lock()
        self._quote: Quote | None = None
        self._backfill: CandleBatch | None = None
        self._candles: dict[int, Candle] = {}
        self._notified = False
        self.conflated = 0

    def offer(self, item: Quote | CandleBatch) -> None:
        """Called on the stream thread."""
        with self._lock:
            if isinstance(item, CandleBatch):
                self._keep_candles(item)
            else:
                if self._quote is not None:
                    self.conflated += 1
                self._quote = item
            if self._notified:
                return
            try:
                self.actor.tell(StreamQuoteReady(latest=self))
                self._notified = True
            except pykka.ActorDeadError:
                pass  # the feed is stopping; its stop cancels this stream

    def take(self) -> Quote | None:
        """Called on the actor's thread (before `take_candles`)."""
        with self._lock:
            quote, self._quote = self._quote, None
            self._notified = False
            return quote

    def take_candles(self) -> list[CandleBatch]:
        """Called on the actor's thread: the backfill (if one came) first, then the rest."""
        with self._lock:
            batches = [] if self._backfill is None else [self._backfill]
            if self._candles:
                batches.append(CandleBatch(tuple(self._candles[t] for t in sorted(self._candles))))
            self._backfill, self._candles = None, {}
            return batches

    def _keep_candles(self, batch: CandleBatch) -> None:
        if batch.backfill:
            self._backfill, self._candles = batch, {}  # a new run's backfill replaces what waits
        else:
            self._candles.update((candle.open_time_ms, candle) for candle in batch.candles)


class StreamThread:
    """Runs `source.stream(latest.offer)` in a new event loop on a new thread."""

    def __init__(self, source: StreamedSource, latest: LatestQuote, name: str) -> None:
        self.source = source
        self.latest = latest
        self.name = name
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Cancel the stream and wait for its thread (the source closes its client)."""
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._cancel)
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                logger.warning("%s: the stream thread did not stop within %.1fs", self.name, timeout_s)

    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._task = self._loop.create_task(self.source.stream(self.latest.offer))
            self._loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        except Exception:
            # A source must not raise; if one does, the feed goes quiet rather than dying
            # (the log says why), like a replay that ran out.
            logger.exception("%s: the stream ended with an error", self.name)
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()
