"""A live API with bots that really run: the in-process trading stack (journal, risk, paper
exchanges, an XRP/USDT feed that moves when a test says), the status board, the daemon's
`Fleet` for bot actors, and users with tokens. `alice` owns the paper account `alice-paper`;
`bob` owns `bob-paper` (no exchange runs it); the config account `paper` has no owner.
A `RelayActor` feeds the API's read model of bots, as in the daemon (`read_model=False`:
none, and bot summaries read the database)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import insert

from actors.bot_status import BotStatusBoard, BotStatuses
from actors.exchange import AwaitReady, ExchangeActor
from actors.messages import GetExchangeStatus, GetFeedStatus
from actors.relay import RelayActor
from actors.reply import FutureReply
from actors.risk import exchange_name
from actors.supervisor import ChildSpec
from api.app import make_app
from api.auth.tokens import TokenIssuer
from api.bot_feed import BotViewFeed
from api.bridge import ActorGateway
from api.context import ApiContext
from config.schema import GridConfig
from daemon.fleet import Fleet
from storage import bot_projections  # noqa: F401  (registers the projectors)
from storage.config_sync import ConfigAccount, ConfigBot, sync_config_objects
from storage.models import AccountRow
from tests.actors.trading_stack import ACCOUNT, TradingStack
from tests.api.auth_helpers import SECRET, access_token, add_user, call_as
from tests.api.conftest import LiveServer, Response
from trading.clock import SYSTEM_CLOCK
from trading.venues.paper import PaperVenue
from trading.venues.paper_markets import paper_market

SYMBOL = "XRP/USDT"
FEE = Decimal("0.001")
ALICE_ACCOUNT = "alice-paper"
BOB_ACCOUNT = "bob-paper"
BALANCES = {"USDT": Decimal("1000"), "XRP": Decimal("0")}
GRID = {"lower_price": "1.00", "upper_price": "1.20", "grid_count": 10, "order_amount": "10"}
CONFIG_BOT = "xrp-config"


class BotsApi:
    def __init__(self, engine: Any, scheduler: Any, bus: Any, *, read_model: bool = True) -> None:
        self.engine = engine
        market = paper_market(SYMBOL, FEE, FEE)
        self.stack = TradingStack(engine, scheduler, bus, markets={SYMBOL: market}, balances=dict(BALANCES))
        self.users = {name: add_user(engine, name, role) for name, role in (
            ("alice", "trader"), ("bob", "trader"), ("vera", "viewer"), ("root", "admin"),
        )}
        now = datetime.now(timezone.utc)
        with engine.begin() as connection:
            for account, owner in ((ALICE_ACCOUNT, "alice"), (BOB_ACCOUNT, "bob")):
                connection.execute(insert(AccountRow.__table__).values(
                    id=account, owner_id=self.users[owner], name=account, exchange="paper", source="api",
                    is_testnet=False, created_at=now, updated_at=now,
                ))
        config_grid = GridConfig.model_validate(GRID).model_dump_json()
        sync_config_objects(engine, [ConfigAccount(id=ACCOUNT, exchange="paper")], [ConfigBot(
            config_key=CONFIG_BOT, account_id=ACCOUNT, name="config grid", strategy="grid", symbol=SYMBOL,
            config_json=config_grid,
        )])
        self.stack.start(ChildSpec(exchange_name(ALICE_ACCOUNT), ExchangeActor, {
            "account_id": ALICE_ACCOUNT,
            "venue_factory": lambda: PaperVenue(ALICE_ACCOUNT, {SYMBOL: market}, dict(BALANCES), SYSTEM_CLOCK),
            "store": self.stack.store, "bus": bus, "directory": self.stack.directory,
        }))
        ready = FutureReply()
        self.stack.directory.tell(exchange_name(ALICE_ACCOUNT), AwaitReady(reply=ready))
        ready.wait(10)
        self.feed = self.stack.add_feed(SYMBOL)  # "feed:XRP/USDT": feed id = the symbol
        self.statuses = BotStatuses()
        self.stack.start(ChildSpec("bot-status", BotStatusBoard, {"bus": bus, "statuses": self.statuses}))
        markets = {ACCOUNT: {SYMBOL: market}, ALICE_ACCOUNT: {SYMBOL: market}, BOB_ACCOUNT: {SYMBOL: market}}
        self.fleet = Fleet(
            root=self.stack.root, directory=self.stack.directory, statuses=self.statuses, engine=engine,
            clock=SYSTEM_CLOCK, store=self.stack.store, bus=bus, markets=markets,
            feed_of=lambda symbol: symbol if symbol == SYMBOL else None,
            initial_balances=lambda account: dict(BALANCES),
        )
        gateway = ActorGateway(
            tell=self.stack.directory.tell, tell_supervisor=lambda message: False,
            exchanges={ACCOUNT: exchange_name(ACCOUNT), ALICE_ACCOUNT: exchange_name(ALICE_ACCOUNT)},
            feeds={SYMBOL: self.feed}, timeout_s=5.0,
        )
        self.bot_feed = BotViewFeed() if read_model else None
        if self.bot_feed is not None:
            self.stack.start(ChildSpec("relay", RelayActor, {
                "bus": bus, "directory": self.stack.directory, "outlet": self.bot_feed.push,
            }))
        self.context = ApiContext(
            version="9.9.9", engine=engine, tokens=TokenIssuer(SECRET), actors=gateway, bots=self.fleet,
            bot_feed=self.bot_feed,
        )
        context = self.context
        self.server = LiveServer(make_app(context))
        self.tokens = {name: access_token(self.server, name) for name in self.users}

    def close(self) -> None:
        self.server.close()

    def price(self, price: str) -> None:
        """Publish a price and wait until the feed emitted it and both paper exchanges got it."""
        self.stack.publish(self.feed, price)
        for name, query in (
            (self.feed, GetFeedStatus),
            (exchange_name(ACCOUNT), GetExchangeStatus),
            (exchange_name(ALICE_ACCOUNT), GetExchangeStatus),
        ):
            reply = FutureReply()
            self.stack.directory.tell(name, query(reply=reply))
            reply.wait(10)

    def call(self, method: str, path: str, user: str, body: Any = None) -> Response:
        return call_as(self.server, method, f"/api/v1{path}", self.tokens[user], body)

    def create(self, user: str = "alice", **fields: Any) -> Response:
        body = {"name": "xrp grid", "strategy": "grid", "account_id": ALICE_ACCOUNT, "symbol": SYMBOL,
                "config": GRID, **fields}
        return self.call("POST", "/bots", user, body)
