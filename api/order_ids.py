"""Client order ids of manual orders: `td-<tag>-<sequence>`, one sequence per account.

The sequence lives in the journal (`ManualOrderRequested` events, committed before an
order leaves); this object only hands out the next number. It is used on the IOLoop
alone, so taking a number is atomic; the first use per account reads the last journaled
number, in the executor, under a per-account lock so two first requests read it once.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable

MANUAL_PREFIX = "m"


def manual_tag(account_id: str) -> str:
    """The account's manual-order tag: "m" and 7 hex digits of its id. Bot tags are hex
    only (`storage.config_sync.bot_tag`), so the two never meet."""
    return MANUAL_PREFIX + hashlib.sha256(account_id.encode()).hexdigest()[:7]


def manual_client_order_id(account_id: str, sequence: int) -> str:
    return f"td-{manual_tag(account_id)}-{sequence:06d}"


class ManualOrderIds:
    """The next manual sequence per account, seeded from the journal on first use."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def next(self, account_id: str, load_last: Callable[[str], Awaitable[int]]) -> int:
        """Reserve the next sequence number of `account_id`; `load_last(account_id)` gives
        the last one the journal holds."""
        if account_id not in self._last:
            lock = self._locks.setdefault(account_id, asyncio.Lock())
            async with lock:
                if account_id not in self._last:
                    self._last[account_id] = await load_last(account_id)
        self._last[account_id] += 1
        return self._last[account_id]
