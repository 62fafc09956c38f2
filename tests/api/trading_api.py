"""A live API over the in-process trading stack: journal, risk, a paper exchange, a feed,
users with tokens, and the `paper` account owned by one of them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import update

from actors.messages import GetExchangeStatus, GetFeedStatus
from actors.reply import FutureReply
from actors.risk import RiskLimits, exchange_name
from api.app import make_app
from api.auth.tokens import TokenIssuer
from api.bridge import ActorGateway
from api.context import ApiContext
from storage.models import AccountRow
from tests.actors.trading_stack import ACCOUNT, TradingStack
from tests.api.auth_helpers import SECRET, access_token, add_user, call_as
from tests.api.conftest import LiveServer, Response
from trading.venues.paper_markets import paper_market

SYMBOL = "BTC/USDT"
FEE = Decimal("0.001")


class TradingApi:
    """The stack, a server, and tokens of `alice` (owns `paper`), `bob` (owns nothing),
    `vera` (a viewer) and `root` (an admin)."""

    def __init__(self, engine: Any, scheduler: Any, bus: Any, *, risk: RiskLimits = RiskLimits(), candle_files: dict[str, Any] | None = None) -> None:
        self.engine = engine
        self.stack = TradingStack(
            engine, scheduler, bus, markets={SYMBOL: paper_market(SYMBOL, FEE, FEE)},
            balances={"USDT": Decimal("10000")}, risk=risk,
        )
        self.feed = self.stack.add_feed(SYMBOL)
        self.users = {name: add_user(engine, name, role) for name, role in (
            ("alice", "trader"), ("bob", "trader"), ("vera", "viewer"), ("root", "admin"),
        )}
        with engine.begin() as connection:
            connection.execute(update(AccountRow.__table__).where(AccountRow.__table__.c.id == ACCOUNT).values(owner_id=self.users["alice"]))
        self.candle_files = candle_files or {}
        self.server = self.serve()
        self.tokens = {name: access_token(self.server, name) for name in self.users}

    def serve(self) -> LiveServer:
        directory = self.stack.directory
        gateway = ActorGateway(
            tell=directory.tell, tell_supervisor=lambda message: False,
            exchanges={ACCOUNT: exchange_name(ACCOUNT)}, feeds={"btc": self.feed},
        )
        context = ApiContext(
            version="9.9.9", engine=self.engine, tokens=TokenIssuer(SECRET), actors=gateway,
            markets={ACCOUNT: self.stack.markets}, candle_files=self.candle_files,
        )
        return LiveServer(make_app(context))

    def close(self) -> None:
        self.server.close()

    def price(self, price: str) -> None:
        """Publish a price and wait until the paper exchange has seen it: the feed answers
        a status after it emitted, and the exchange answers one after the delivery."""
        self.stack.publish(self.feed, price)
        for name, query in ((self.feed, GetFeedStatus), (exchange_name(ACCOUNT), GetExchangeStatus)):
            reply = FutureReply()
            self.stack.directory.tell(name, query(reply=reply))
            reply.wait(10)

    def call(self, method: str, path: str, user: str, body: Any = None) -> Response:
        return call_as(self.server, method, f"/api/v1{path}", self.tokens[user], body)

    def order(self, user: str = "alice", **fields: Any) -> Response:
        body = {"account_id": ACCOUNT, "symbol": SYMBOL, **fields}
        return self.call("POST", "/orders", user, body)
