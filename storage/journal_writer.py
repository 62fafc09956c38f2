"""The journal's database work in a child process, off the trading process's GIL.

Appending a batch is mostly Python (SQLAlchemy building rows, running projectors), and
while the journal's thread holds the interpreter lock, the feed, bot, risk and exchange
actors wait for it at every hop of the hot path: in `bench/tick_to_order.py` that
journal work alone made the p99 four times the p50. `ProcessJournalStore` has the
`append` of `JournalStore` but ships each batch (pickled events) to a writer process
that owns its own engine, and waits for the answer on a pipe, which releases the lock.

The child exits when its pipe closes, so a parent killed with SIGKILL leaves no writer
behind once the batch in hand is committed. If the child dies, the next `append`
starts a new one and skips the events of the batch that the dead one did commit.
"""

from __future__ import annotations

import logging
import os
import pickle
import socket
import subprocess
import sys
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from trading.messages import Event

logger = logging.getLogger(__name__)

_START_TIMEOUT_S = 60.0


class WriterDied(RuntimeError):
    """The writer process went away; its batch may or may not be committed."""


class ProcessJournalStore:
    """`JournalStore.append` run in a child process; one caller thread at a time."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._process: subprocess.Popen[bytes] | None = None
        self._pipe: Connection | None = None
        self._resumed = False

    def start(self) -> None:
        """Start the writer and wait until it can write (raises what it raised if it cannot).

        A plain `python -m storage.journal_writer` over a socket pair, not
        `multiprocessing`: forking a threaded process is unsafe, and "spawn" would import
        the parent's main module again in the child. The URL goes over the socket, so a
        password in it never shows in `ps`.
        """
        ours, theirs = socket.socketpair()
        root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        process = subprocess.Popen(
            [sys.executable, "-m", "storage.journal_writer", str(theirs.fileno())],
            pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL,
        )
        theirs.close()
        pipe = Connection(ours.detach())
        pipe.send(self.database_url)
        if not pipe.poll(_START_TIMEOUT_S):
            process.kill()
            pipe.close()
            raise WriterDied(f"the journal writer did not start within {_START_TIMEOUT_S:.0f} s")
        self._pipe, self._process = pipe, process
        try:
            self._answer()
        except EOFError as error:
            self._discard()
            raise WriterDied("the journal writer exited as it started") from error

    def append(self, events: Sequence[Event]) -> int:
        """Commit `events` with their projections; the last event id (see `JournalStore.append`)."""
        if self._pipe is None:
            self.start()
        assert self._pipe is not None
        try:
            self._pipe.send(("append", list(events), self._resumed))
            result = self._answer()
        except (EOFError, OSError, WriterDied) as error:
            self._discard()
            self._resumed = True  # the dead writer may have committed this batch
            raise WriterDied(f"the journal writer died: {error}") from error
        self._resumed = False
        return int(result)

    def close(self) -> None:
        """Stop the writer after what it is doing (the journal flushed before)."""
        if self._pipe is not None:
            try:
                self._pipe.send(("close",))
            except OSError:
                pass
        if self._process is not None:
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._discard()

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def _answer(self) -> Any:
        assert self._pipe is not None
        ok, value = self._pipe.recv()
        if not ok:
            raise value
        return value

    def _discard(self) -> None:
        if self._pipe is not None:
            self._pipe.close()
        self._pipe = None
        self._process = None


def _serve(pipe: Connection) -> None:
    """The writer process: one engine, one batch at a time, until the pipe closes."""
    from storage import bot_projections, order_projections
    del bot_projections, order_projections  # imported to register the projectors
    from storage import account_projections
    del account_projections  # exchange accounts made through the API
    from storage.database import make_engine
    from storage.journal_store import JournalStore

    try:
        engine = make_engine(pipe.recv())
        store = JournalStore(engine)
        pipe.send((True, store.last_event_id()))
    except Exception as error:
        pipe.send((False, _portable(error)))
        return
    while True:
        try:
            request = pipe.recv()
        except (EOFError, OSError):
            break  # the parent is gone
        if request[0] == "close":
            break
        _, events, resumed = request
        try:
            if resumed:
                events = store.not_stored(events)
            answer: tuple[bool, Any] = (True, store.append(events))
        except Exception as error:
            answer = (False, _portable(error))
        try:
            pipe.send(answer)
        except OSError:
            break  # the parent died while we wrote; what we committed, it restores from
    engine.dispose()


def _portable(error: Exception) -> Exception:
    """`error` if it pickles (the storage errors do), else a RuntimeError that says it."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")


if __name__ == "__main__":
    import signal

    # Ctrl-C in a terminal reaches the whole process group; the parent decides when the
    # writer stops (by closing the pipe), after its last flush.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.nice(int(os.environ.get("NICE_TEST", "0")))
    _serve(Connection(int(sys.argv[1])))
