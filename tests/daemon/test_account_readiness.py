"""`AccountFleet` waiting for a live account's exchange actor to be ready: it must not
hang on an actor that is replaced between its questions."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pykka

from actors.directory import ActorDirectory
from actors.messages import ExchangeStatus, GetExchangeStatus, GetMarkets
from actors.risk import exchange_name
from daemon.accounts import AccountFleet

ACCOUNT = "acct-1"
MARKETS = {"XRP/USDT": "a market"}


class _Exchange(pykka.ThreadingActor):
    """Ready at once; the first `GetMarkets` is lost, as it is when the supervisor
    replaces the actor after the status answer."""

    def __init__(self) -> None:
        super().__init__()
        self.markets_asked = 0

    def on_receive(self, message: Any) -> None:
        if isinstance(message, GetExchangeStatus):
            message.reply.set_result(ExchangeStatus(account_id=ACCOUNT, ready=True, queued_commands=0))
        elif isinstance(message, GetMarkets):
            self.markets_asked += 1
            if self.markets_asked > 1:
                message.reply.set_result(MARKETS)


def test_a_markets_answer_lost_with_a_replaced_actor_is_asked_again():
    directory = ActorDirectory()
    ref = _Exchange.start()
    directory.register(exchange_name(ACCOUNT), ref)
    daemon = SimpleNamespace(directory=directory, markets={}, fleet=None)
    fleet = AccountFleet(daemon)  # type: ignore[arg-type]
    try:
        assert asyncio.run(asyncio.wait_for(fleet._when_ready(ACCOUNT), 10)) is True
        assert daemon.markets[ACCOUNT] == MARKETS
        assert fleet.connected(ACCOUNT)
    finally:
        ref.stop()
