"""From config to actors: the venue, strategy and feed factories, and child specs.

Everything here runs at boot, in the daemon's thread; the actors it describes are started
by the supervisor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from actors.bot import BotActor, StopPolicy
from actors.exchange import ExchangeActor
from actors.feed import FeedSubscriptions, MarketFeedActor, feed_source
from actors.risk import RiskActor, RiskLimits, exchange_name
from actors.supervisor import ChildSpec
from config.grid import fit_grid
from config.grid import grid_params as grid_config_params
from config.schema import DaemonConfig, GridBotConfig, GridConfig, LiveAccountConfig, PaperAccountConfig
from storage.config_sync import ConfigAccount, ConfigBot, bot_tag, config_bot_id
from trading.clock import Clock
from trading.grid.geometry import GridConfigError, GridParams
from trading.markets import Market
from trading.strategies.base import Strategy, StrategyContext
from trading.strategies.grid import GridStrategy
from trading.venues.base import Venue
from trading.venues import ccxt_venue
from trading.venues.ccxt_venue import CcxtSettings
from trading.venues.paper import PaperVenue
from trading.venues.paper_markets import paper_market


class WiringError(Exception):
    """The config asks for something this daemon cannot run; one line says what."""


def feed_name(feed_id: str) -> str:
    return f"feed:{feed_id}"


def bot_name(bot_id: str) -> str:
    return f"bot:{bot_id}"


def config_objects(config: DaemonConfig) -> tuple[list[ConfigAccount], list[ConfigBot]]:
    """The config's accounts and bots as rows for `storage.config_sync`."""
    accounts = [
        ConfigAccount(id=account.id, exchange=account.exchange, is_testnet=getattr(account, "sandbox", False))
        for account in config.accounts
    ]
    bots = [
        ConfigBot(
            config_key=bot.id,
            account_id=bot.account,
            name=bot.name,
            strategy=bot.strategy,
            symbol=bot.symbol,
            config_json=bot.config.model_dump_json(),
        )
        for bot in config.bots
    ]
    return accounts, bots


def paper_markets(config: DaemonConfig, account: PaperAccountConfig) -> dict[str, Market]:
    """The markets a paper account trades: every symbol its bots and the feeds use."""
    symbols = {bot.symbol for bot in config.bots if bot.account == account.id}
    symbols |= {feed.symbol for feed in config.feeds}
    markets = {}
    for symbol in sorted(symbols):
        try:
            markets[symbol] = paper_market(symbol, account.maker_fee, account.taker_fee)
        except KeyError:
            if any(bot.symbol == symbol and bot.account == account.id for bot in config.bots):
                raise WiringError(f"account {account.id!r}: the paper exchange lists no market {symbol!r}") from None
    return markets


def account_markets(config: DaemonConfig, account: Any) -> dict[str, Market]:
    """The markets an account trades. A live account's come from its exchange once its
    actor is ready (`GetMarkets`): empty here. `WiringError` for an exchange ccxt lacks."""
    if is_live(account):
        reason = ccxt_venue.unsupported_reason(account.exchange)  # loads ccxt, for live accounts only
        if reason is not None:
            raise WiringError(f"account {account.id!r}: {reason}")
        return {}
    return paper_markets(config, account)


def is_live(account: Any) -> bool:
    """An account on a real exchange through ccxt (not the paper exchange)."""
    return isinstance(account, LiveAccountConfig)


def check_symbols(config: DaemonConfig, account_id: str, markets: dict[str, Market]) -> None:
    """`WiringError` when a bot of the account trades a symbol its exchange does not list."""
    for bot in config.bots:
        if bot.account == account_id and bot.symbol not in markets:
            raise WiringError(f"bot {bot.id!r}: account {account_id!r} lists no market {bot.symbol!r}")


def ccxt_settings(account: LiveAccountConfig) -> CcxtSettings:
    assert account.api_key is not None and account.api_secret is not None  # the schema requires them
    return CcxtSettings(
        exchange=account.exchange,
        api_key=account.api_key.get_secret_value(),
        secret=account.api_secret.get_secret_value(),
        password=account.password.get_secret_value() if account.password is not None else None,
        sandbox=account.sandbox,
        urls=dict(account.urls),
        poll_interval_s=account.poll_interval_s,
        not_found_grace_s=account.not_found_grace_s,
        requests_per_minute=account.requests_per_minute,
    )


def exchange_spec(
    config: DaemonConfig,
    account: Any,
    markets: dict[str, Market],
    clock: Clock,
    store: Any,
    bus: Any,
    directory: Any,
    metrics: Any = None,
    scheduler: Any = None,
) -> ChildSpec:
    """The exchange actor of a config-file account (or of a paper account the API made)."""
    feed_names = tuple(feed_name(feed) for acc, feed in exchange_feeds(config) if acc == account.id)
    if isinstance(account, LiveAccountConfig):
        return live_exchange_spec(
            account.id, ccxt_settings(account), clock, store, bus, directory, metrics, scheduler, feed_names,
        )
    balances = dict(account.initial_balances)

    def make_venue() -> Venue:
        return PaperVenue(account.id, markets, balances, clock)

    return _exchange_child(account.id, make_venue, feed_names, store, bus, directory, metrics, scheduler)


def live_exchange_spec(
    account_id: str,
    settings: CcxtSettings,
    clock: Clock,
    store: Any,
    bus: Any,
    directory: Any,
    metrics: Any = None,
    scheduler: Any = None,
    feed_names: tuple[str, ...] = (),
) -> ChildSpec:
    """The exchange actor of an account on a ccxt exchange; the venue (and its client) is
    made on the actor's own thread, afresh at each restart."""

    def make_venue() -> Venue:
        return ccxt_venue.CcxtVenue(account_id, settings, clock=clock)

    return _exchange_child(account_id, make_venue, feed_names, store, bus, directory, metrics, scheduler)


def _exchange_child(
    account_id: str, make_venue: Callable[[], Venue], feed_names: tuple[str, ...],
    store: Any, bus: Any, directory: Any, metrics: Any, scheduler: Any,
) -> ChildSpec:
    return ChildSpec(
        name=exchange_name(account_id),
        actor_class=ExchangeActor,
        kwargs={
            "account_id": account_id,
            "venue_factory": make_venue,
            "feed_names": feed_names,
            "store": store,
            "bus": bus,
            "directory": directory,
            "metrics": metrics,
            "scheduler": scheduler,
        },
    )


def risk_spec(config: DaemonConfig, bus: Any, directory: Any, load_open_orders: Callable[[], dict[str, set[str]]]) -> ChildSpec:
    limits = RiskLimits(max_order_notional=config.risk.max_order_notional, max_open_orders=config.risk.max_open_orders)
    return ChildSpec(
        name="risk",
        actor_class=RiskActor,
        kwargs={"limits": limits, "bus": bus, "directory": directory, "load_open_orders": load_open_orders},
    )


def feed_spec(feed: Any, scheduler: Any, clock: Clock, metrics: Any = None) -> ChildSpec:
    try:
        # A `ccxt_poll`/`ccxt_stream` source only checks its exchange here; it connects
        # on its first poll, or when the feed actor starts its stream thread.
        source = feed_source(feed)
    except ValueError as error:
        raise WiringError(f"feed {feed.id!r}: {error}") from None
    return ChildSpec(
        name=feed_name(feed.id),
        actor_class=MarketFeedActor,
        # The subscriptions outlive the actor: a restarted feed still delivers to its bots.
        kwargs={
            "scheduler": scheduler,
            "source": source,
            "symbol": feed.symbol,
            "clock": clock,
            "subscriptions": FeedSubscriptions(),
            "metrics": metrics,
        },
    )


def feed_for(config: DaemonConfig, bot: GridBotConfig) -> str:
    """The feed a bot listens to: its own `feed`, else the first feed of its symbol."""
    if bot.feed is not None:
        return bot.feed
    for feed in config.feeds:
        if feed.symbol == bot.symbol:
            return feed.id
    raise WiringError(f"bot {bot.id!r}: no feed delivers {bot.symbol}")


def exchange_feeds(config: DaemonConfig) -> list[tuple[str, str]]:
    """(account id, feed id) for every feed an account's bots trade on, once each."""
    pairs = {(bot.account, feed_for(config, bot)): None for bot in config.bots}
    return list(pairs)


def grid_params(bot: GridBotConfig) -> GridParams:
    return grid_config_params(bot.config)


def check_grid(bot: GridBotConfig, market: Market) -> None:
    """Raise `WiringError` when the grid does not fit the market (tick, minimums, fees)."""
    try:
        fit_grid(bot.config, market)
    except GridConfigError as error:
        raise WiringError(f"bot {bot.id!r}: {error.code}: {error.message}") from None


def strategy_factory(bot: GridBotConfig) -> Callable[[StrategyContext], Strategy]:
    return grid_strategy_factory(bot.config)


def grid_strategy_factory(grid: GridConfig) -> Callable[[StrategyContext], Strategy]:
    params = grid_config_params(grid)

    def make(context: StrategyContext) -> Strategy:
        return GridStrategy(
            context,
            params,
            stop_at_max=grid.stop_at_max,
            stop_loss_price=grid.stop_loss_price,
            take_profit_price=grid.take_profit_price,
            trigger_price=grid.trigger_price,
            sell_base_on_stop=grid.sell_base_on_stop,
        )

    return make


def bot_spec(
    config: DaemonConfig, bot: GridBotConfig, market: Market, clock: Clock, store: Any, bus: Any, directory: Any,
    metrics: Any = None,
) -> ChildSpec:
    return grid_bot_spec(
        config_bot_id(bot.id), bot.account, market, bot.config, feed_for(config, bot),
        clock, store, bus, directory, metrics,
        auto_start=bot.auto_start, stop_policy=config_stop_policy(bot),
    )


def config_stop_policy(bot: GridBotConfig) -> StopPolicy:
    return StopPolicy(
        cancel_orders=bot.on_stop.cancel_orders,
        sell_base=bot.on_stop.sell_base or bot.config.sell_base_on_stop,
    )


def grid_bot_spec(
    bot_id: str, account_id: str, market: Market, grid: GridConfig, feed_id: str,
    clock: Clock, store: Any, bus: Any, directory: Any, metrics: Any = None,
    *, auto_start: bool, stop_policy: StopPolicy,
) -> ChildSpec:
    """The child spec of a grid bot, from the config file or made through the API."""
    return ChildSpec(
        name=bot_name(bot_id),
        actor_class=BotActor,
        kwargs={
            "bot_id": bot_id,
            "tag": bot_tag(bot_id),
            "account_id": account_id,
            "market": market,
            "strategy_factory": grid_strategy_factory(grid),
            "feed_name": feed_name(feed_id),
            "clock": clock,
            "store": store,
            "bus": bus,
            "directory": directory,
            "auto_start": auto_start,
            "stop_policy": stop_policy,
            "metrics": metrics,
        },
    )
