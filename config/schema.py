"""The daemon's config file as pydantic models: every section, account, feed and bot.

The models check each value and the file as a whole (unique ids, bots that name configured
accounts and feeds). Validating with a `LoadContext` means the data came from a config file:
relative paths then resolve against the file's folder, and secrets come only from `*_env`
variables or `*_file` files, never from the file itself. `config.loader` reads the TOML and
turns the first validation error into a `ConfigError`.

Prices, amounts and fees are `Decimal` (the loader parses TOML floats as `Decimal`, so
`1.05` stays exact); durations and speeds are `float` and take those decimals too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from pathlib import Path, PurePath
from typing import Annotated, Any, Literal, Self, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from config.errors import did_you_mean

KEY_ERROR = "config_key"
"""The pydantic error type of `key_error`: its context holds `loc` (below the failing model),
`problem`, and for duplicates `first` (the loc, from the top, of the first definition)."""

SECRET_KEYS = frozenset({"jwt_secret", "api_key", "api_secret", "password", "encryption_key"})
"""Keys whose values never appear in an error message."""

ACCOUNT_SECRETS = ("api_key", "api_secret", "password")
"""The credentials of a live account, each read from `<name>_env` or `<name>_file`."""

MIN_GRID_INTERVALS = 2
MAX_GRID_INTERVALS = 500


@dataclass(frozen=True)
class LoadContext:
    """What validation needs to know about the config file the data came from."""

    base_dir: Path
    """The config file's folder: relative paths in the file are relative to it."""
    environ: Mapping[str, str]
    """Where `*_env` secrets are read from."""


def key_error(loc: tuple[str | int, ...], problem: str, **context: object) -> PydanticCustomError:
    """An error about the key at `loc` below the model being validated.

    A model validator can only fail its model as a whole; the loader appends `loc` to the
    error's path, so that the message names the key at fault.
    """
    return PydanticCustomError(KEY_ERROR, "{problem}", {"loc": loc, "problem": problem, **context})


def _load_context(info: ValidationInfo) -> LoadContext | None:
    return info.context if isinstance(info.context, LoadContext) else None


def _resolve_path(path: Path, context: LoadContext | None) -> Path:
    """`path` with `~` expanded, relative to the config file's folder when there is a file."""
    path = path.expanduser()
    if context is None or path.is_absolute():
        return path
    return context.base_dir / path


def _pattern(regex: str, problem: str) -> AfterValidator:
    """A check that a string matches `regex`; `problem` is formatted with the value."""
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(problem.format(value=value))
        return value

    return AfterValidator(check)


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _decimal_to_float(value: object) -> object:
    """TOML floats arrive as `Decimal` (see the module docstring); a float field takes them."""
    return float(value) if isinstance(value, Decimal) else value


Integer = Annotated[int, Field(strict=True)]
Flag = Annotated[bool, Field(strict=True)]
Number = Annotated[float, BeforeValidator(_decimal_to_float), Field(strict=True, allow_inf_nan=False)]
PositiveNumber = Annotated[Number, Field(gt=0)]
PositiveDecimal = Annotated[Decimal, Field(gt=0)]
NonNegativeDecimal = Annotated[Decimal, Field(ge=0)]
FeeRate = Annotated[Decimal, Field(ge=0, lt=Decimal("0.1"))]

Slug = Annotated[
    str,
    _pattern(
        r"[a-z0-9][a-z0-9_-]{0,31}",
        "invalid id {value!r}: use 1 to 32 of a-z, 0-9, '_' and '-', starting with a letter or digit",
    ),
]
Symbol = Annotated[
    str,
    _pattern(
        r"[^\s/:]+/[^\s/:]+(:\S+)?",
        "invalid symbol {value!r}: write BASE/QUOTE, for example 'XRP/USDT'",
    ),
]
AssetCode = Annotated[
    str,
    _pattern(
        r"[A-Z0-9][A-Z0-9._-]{0,19}",
        "invalid asset code {value!r}: write it in upper case, for example 'USDT'",
    ),
]
ExchangeId = Annotated[
    str,
    _pattern(
        r"[a-z][a-z0-9_]*",
        "invalid exchange {value!r}: use 'paper' or a ccxt exchange id such as 'binance'",
    ),
]
EnvName = Annotated[
    str, _pattern(r"[A-Za-z_][A-Za-z0-9_]*", "invalid environment variable name {value!r}")
]


class Section(BaseModel):
    """Base of every table: frozen, and an unknown key is an error naming the nearest known key."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in data:
                if key not in cls.model_fields:
                    raise key_error((str(key),), cls._unknown_key(str(key)))
        return data

    @classmethod
    def _unknown_key(cls, key: str) -> str:
        """The problem to report for `key`, which is not a field of this table."""
        return f"unknown key {key!r}{did_you_mean(key, cls.model_fields)}"


class ApiConfig(Section):
    """`[api]`: where the HTTP and WebSocket server listens and how it signs its tokens."""

    host: Annotated[str, Field(min_length=1)] = "127.0.0.1"
    port: Annotated[Integer, Field(ge=1, le=65535)] = 8000
    jwt_secret: SecretStr | None = None
    allow_registration: Flag = False
    rate_limit_per_minute: Annotated[Integer, Field(ge=0)] = 1200
    """General limit per user (per IP without a token) on every `/api/v1` route; 0: none."""
    auth_rate_limit_per_minute: Annotated[Integer, Field(ge=0)] = 5
    """Login, refresh and register, per IP (a brute-force brake); 0: none."""
    bot_create_rate_limit_per_hour: Annotated[Integer, Field(ge=0)] = 10
    """`POST /api/v1/bots`, per user; 0: none."""
    # WebSocket (`/ws`) limits.
    ws_max_connections: Annotated[Integer, Field(ge=1)] = 500
    ws_max_connections_per_user: Annotated[Integer, Field(ge=1)] = 5
    ws_max_messages_per_s: Annotated[Integer, Field(ge=1)] = 100
    """Inbound messages per connection; a client far past it is closed (1008)."""
    ws_queue_size: Annotated[Integer, Field(ge=1)] = 1000
    """Messages a slow client may have waiting (market data aside, which is conflated)
    before it is closed with 1013."""
    ws_write_timeout_s: PositiveNumber = 10.0
    """A client whose socket takes no data for this long is closed with 1013."""
    ws_auth_timeout_s: PositiveNumber = 10.0
    encryption_key: SecretStr | None = None
    """Seals exchange credentials (AES-256-GCM): 32 bytes as hex or base64; best given as
    `TRADERD_ENCRYPTION_KEY` or through `encryption_key_file`, never kept beside the data."""
    encryption_key_file: Path | None = None

    @field_validator("encryption_key_file")
    @classmethod
    def _key_file_path(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else _resolve_path(value, _load_context(info))

    @field_validator("jwt_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < 32:
            raise ValueError("must be at least 32 bytes long")
        return value


class DatabaseConfig(Section):
    """`[database]`: the SQLAlchemy URL; none means a SQLite file in the state directory."""

    url: Annotated[str, Field(min_length=1)] | None = None
    echo: Flag = False


class JournalConfig(Section):
    """`[journal]`: how the journal batches its writes (commit every N events or M ms), and
    where the database work runs: in a writer `process` (the default: SQLAlchemy's Python
    work then never holds the trading actors' interpreter lock) or in the journal's own
    `thread` (one process fewer, for small machines)."""

    batch_size: Annotated[Integer, Field(ge=1, le=100_000)] = 500
    flush_interval_ms: Annotated[Integer, Field(ge=1, le=10_000)] = 50
    writer: Annotated[Literal["process", "thread"], BeforeValidator(_lower)] = "process"


class LoggingConfig(Section):
    """`[logging]`: the level, and JSON or text lines (`auto`: JSON unless stdout is a TTY)."""

    level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], BeforeValidator(_upper)] = "INFO"
    format: Annotated[Literal["auto", "json", "text"], BeforeValidator(_lower)] = "auto"


class SupervisorConfig(Section):
    """`[supervisor]`: the restart policy for failed actors (one-for-one, backoff, window)."""

    max_restarts: Annotated[Integer, Field(gt=0)] = 5
    restart_window_s: PositiveNumber = 60.0
    backoff_initial_s: PositiveNumber = 0.5
    backoff_max_s: PositiveNumber = 30.0
    sweep_interval_s: PositiveNumber = 1.0

    @model_validator(mode="after")
    def _backoff_in_order(self) -> Self:
        if self.backoff_initial_s > self.backoff_max_s:
            raise key_error(("backoff_initial_s",), f"must not exceed backoff_max_s ({self.backoff_max_s})")
        return self


class RiskConfig(Section):
    """`[risk]`: checks every order passes before it leaves the daemon (unset: no limit)."""

    max_order_notional: PositiveDecimal | None = None
    """The largest price x quantity of one order, in its quote currency."""
    max_open_orders: Annotated[Integer, Field(gt=0)] | None = 200
    """Orders open at once on one account (Binance allows 200 per symbol)."""


class PaperAccountConfig(Section):
    """An `[[accounts]]` entry with `exchange = "paper"`: traderd's own matching engine."""

    id: Slug
    exchange: Literal["paper"]
    initial_balances: dict[AssetCode, NonNegativeDecimal] = {}
    maker_fee: FeeRate = Decimal("0.001")
    taker_fee: FeeRate = Decimal("0.001")

    @classmethod
    def _unknown_key(cls, key: str) -> str:
        if key.startswith(ACCOUNT_SECRETS):
            return f"unknown key {key!r}: paper accounts take no API keys"
        return super()._unknown_key(key)


class LiveAccountConfig(Section):
    """An `[[accounts]]` entry on a real exchange, through ccxt.

    A credential is never written in a config file: `api_secret_env = "VAR"` reads it from the
    environment, `api_secret_file = "path"` from a file (trailing newline stripped). The loaded
    model holds it as a `SecretStr`.
    """

    id: Slug
    exchange: ExchangeId
    api_key_env: EnvName | None = None
    api_key_file: Path | None = None
    api_secret_env: EnvName | None = None
    api_secret_file: Path | None = None
    password_env: EnvName | None = None
    password_file: Path | None = None
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    password: SecretStr | None = None
    sandbox: Flag = False
    urls: dict[str, str] = {}
    """Replacement API URLs by ccxt's key; `all` re-hosts every API URL (a proxy, a local fake)."""
    poll_interval_s: PositiveNumber = 2.0
    """How often open orders, fills and balances are polled."""
    not_found_grace_s: PositiveNumber = 10.0
    """How long an order sent without a clear answer may stay unfound before it is lost."""
    requests_per_minute: Annotated[Integer, Field(ge=1, le=100_000)] | None = None
    """The daemon's own request budget for this account, on top of ccxt's rate limiter."""

    @classmethod
    def _unknown_key(cls, key: str) -> str:
        return f"unknown key {key!r}{did_you_mean(key, cls.model_fields.keys() - SECRET_KEYS)}"

    @model_validator(mode="before")
    @classmethod
    def _read_secrets(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            return data
        context = _load_context(info)
        if context is not None:
            for name in ACCOUNT_SECRETS:
                if name in data:
                    raise key_error(
                        (name,), f"secrets may not be written in the config file: use {name}_env or {name}_file"
                    )
        data = dict(data)
        for name in ACCOUNT_SECRETS:
            env, file = data.get(f"{name}_env"), data.get(f"{name}_file")
            if env is not None and file is not None:
                raise key_error((f"{name}_file",), f"give {name}_env or {name}_file, not both")
            if isinstance(env, str):
                data[name] = _secret_from_env(name, env, context)
            elif isinstance(file, str | PurePath):
                data[name] = _secret_from_file(name, Path(file), context)
        return data

    @field_validator("api_key_file", "api_secret_file", "password_file")
    @classmethod
    def _absolute(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else _resolve_path(value, _load_context(info))

    @model_validator(mode="after")
    def _has_credentials(self) -> Self:
        for name in ("api_key", "api_secret"):
            if getattr(self, name) is None:
                raise key_error(
                    (f"{name}_env",), f"required key missing: a live account needs {name}_env or {name}_file"
                )
        return self


def _secret_from_env(name: str, variable: str, context: LoadContext | None) -> str:
    environ = os.environ if context is None else context.environ
    value = environ.get(variable)
    if not value:
        state = "is empty" if value == "" else "is not set"
        raise key_error((f"{name}_env",), f"environment variable {variable} {state}")
    return value


def _secret_from_file(name: str, path: Path, context: LoadContext | None) -> str:
    path = _resolve_path(path, context)
    try:
        value = path.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise key_error((f"{name}_file",), f"cannot read {path}: {reason}") from None
    if not value:
        raise key_error((f"{name}_file",), f"{path} is empty")
    return value


def _account_kind(value: Any) -> str:
    exchange = value.get("exchange") if isinstance(value, dict) else getattr(value, "exchange", None)
    return "paper" if exchange == "paper" else "live"


AccountConfig = Annotated[
    Union[Annotated[PaperAccountConfig, Tag("paper")], Annotated[LiveAccountConfig, Tag("live")]],
    Discriminator(_account_kind),
]
"""An `[[accounts]]` entry: paper when `exchange = "paper"`, else live."""


class ReplayFeedConfig(Section):
    """A `[[feeds]]` entry replaying a CSV of candles (`timestamp_ms,open,high,low,close,volume`).

    `speed` is a multiple of real time: 300 plays one 5-minute candle per second.
    """

    id: Slug
    source: Literal["replay"]
    symbol: Symbol
    path: Path
    speed: PositiveNumber = 1.0
    loop: Flag = False

    @field_validator("path")
    @classmethod
    def _exists(cls, value: Path, info: ValidationInfo) -> Path:
        path = _resolve_path(value, _load_context(info))
        if not path.is_file():
            raise ValueError(f"no such file: {path}")
        return path


class RandomWalkFeedConfig(Section):
    """A `[[feeds]]` entry of made-up prices: a seeded geometric random walk."""

    id: Slug
    source: Literal["random_walk"]
    symbol: Symbol
    start_price: PositiveDecimal
    volatility: Annotated[Number, Field(ge=0, lt=1)] = 0.001
    interval_s: PositiveNumber = 1.0
    seed: Integer = 0


class _CcxtFeedConfig(Section):
    """What both ccxt feeds take: one symbol of one exchange, public endpoints, no keys.
    `urls` points ccxt elsewhere (a testnet, a proxy, a local fake): `all` re-hosts every
    API URL there, keeping its path; other keys replace that entry of ccxt's `urls['api']`.
    Failures back off up to `max_backoff_s`.

    `candles` (default true) also brings the exchange's 1m candles (`fetch_ohlcv` with each
    poll, `watch_ohlcv` beside the ticker stream): paper orders fill on the lows and highs
    between two prices, and the klines API serves them (the last 1000, after a backfill of
    up to 500 at the feed's start)."""

    id: Slug
    exchange: ExchangeId
    symbol: Symbol
    max_backoff_s: PositiveNumber = 60.0
    timeout_s: PositiveNumber = 10.0
    sandbox: Flag = False
    urls: dict[str, str] = {}
    candles: Flag = True

    @field_validator("exchange")
    @classmethod
    def _not_paper(cls, value: str) -> str:
        if value == "paper":
            raise ValueError("the paper exchange has no market data: name a ccxt exchange such as 'binance'")
        return value


class CcxtPollFeedConfig(_CcxtFeedConfig):
    """A `[[feeds]]` entry of real prices: an exchange's REST ticker polled through ccxt
    every `interval_s`."""

    source: Literal["ccxt_poll"]
    interval_s: Annotated[Number, Field(ge=0.1)] = 5.0
    candle_interval_s: Annotated[Number, Field(ge=0.1)] = 15.0
    """How often the candles are polled (with a ticker poll, so never more often): each
    poll costs the exchange's rate limit about what a ticker does, and the candle's low
    and high catch whatever the ticker polls between missed."""


class CcxtStreamFeedConfig(_CcxtFeedConfig):
    """A `[[feeds]]` entry of real prices streamed over the exchange's websocket (ccxt.pro
    `watch_ticker`). `urls` also takes `ws`: a `ws[s]://` base that re-hosts every websocket
    URL (ccxt.pro keeps them under `urls['api']['ws']`). After a disconnect or error the
    stream reconnects after `reconnect_s`, doubling (with jitter) while it keeps failing."""

    source: Literal["ccxt_stream"]
    reconnect_s: Annotated[Number, Field(ge=0.01)] = 1.0


FeedConfig = Annotated[
    Union[ReplayFeedConfig, RandomWalkFeedConfig, CcxtPollFeedConfig, CcxtStreamFeedConfig],
    Field(discriminator="source"),
]
"""A `[[feeds]]` entry, by its `source`."""


class GridConfig(Section):
    """`[bots.config]` of a grid bot; GRID.md has the meaning of every field.

    `spacing` holds the resolved value: geometric when `price_change_percent` is given and
    no spacing is, else arithmetic.
    """

    lower_price: PositiveDecimal
    upper_price: PositiveDecimal
    grid_count: Annotated[Integer, Field(ge=MIN_GRID_INTERVALS, le=MAX_GRID_INTERVALS)] | None = None
    price_change_percent: PositiveDecimal | None = None
    spacing: Literal["arithmetic", "geometric"] = "arithmetic"
    order_amount: PositiveDecimal | None = None
    total_investment: PositiveDecimal | None = None
    stop_at_max: Flag = False
    stop_loss_price: PositiveDecimal | None = None
    take_profit_price: PositiveDecimal | None = None
    trigger_price: PositiveDecimal | None = None
    sell_base_on_stop: Flag = False

    @model_validator(mode="before")
    @classmethod
    def _default_spacing(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("spacing") is None:
            spacing = "arithmetic" if data.get("price_change_percent") is None else "geometric"
            return {**data, "spacing": spacing}
        return data

    @property
    def intervals(self) -> int:
        """N, the number of intervals: `grid_count`, or the most steps of `price_change_percent`
        from `lower_price` that stay at or below `upper_price`."""
        if self.grid_count is not None:
            return self.grid_count
        assert self.price_change_percent is not None  # the validator requires one of the two
        with localcontext() as context:
            context.prec = 50
            ratio = 1 + self.price_change_percent / 100
            count = int((self.upper_price / self.lower_price).ln() / ratio.ln())
            # ln() is rounded: settle the count on exact powers.
            while self.lower_price * ratio ** (count + 1) <= self.upper_price:
                count += 1
            while count > 0 and self.lower_price * ratio**count > self.upper_price:
                count -= 1
        return count

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.lower_price >= self.upper_price:
            raise key_error(
                ("lower_price",), f"must be below upper_price ({self.upper_price}), got {self.lower_price}"
            )
        _exactly_one(self, "grid_count", "price_change_percent")
        if not MIN_GRID_INTERVALS <= self.intervals <= MAX_GRID_INTERVALS:
            raise key_error(
                ("price_change_percent",),
                f"gives {self.intervals} intervals from lower_price to upper_price;"
                f" a grid needs {MIN_GRID_INTERVALS} to {MAX_GRID_INTERVALS}",
            )
        _exactly_one(self, "order_amount", "total_investment")
        if self.stop_loss_price is not None and self.stop_loss_price >= self.upper_price:
            raise key_error(("stop_loss_price",), f"must be below upper_price ({self.upper_price})")
        if self.take_profit_price is not None and self.take_profit_price <= self.lower_price:
            raise key_error(("take_profit_price",), f"must be above lower_price ({self.lower_price})")
        if (
            self.stop_loss_price is not None
            and self.take_profit_price is not None
            and self.stop_loss_price >= self.take_profit_price
        ):
            raise key_error(
                ("stop_loss_price",), f"must be below take_profit_price ({self.take_profit_price})"
            )
        return self


def _exactly_one(model: BaseModel, first: str, second: str) -> None:
    given = [name for name in (first, second) if getattr(model, name) is not None]
    if not given:
        raise key_error((first,), f"required key missing: give {first} or {second}")
    if len(given) == 2:
        raise key_error((second,), f"give {first} or {second}, not both")


class OnStopConfig(Section):
    """`[bots.on_stop]`: what stopping the bot does to its orders and holdings."""

    cancel_orders: Flag = True
    sell_base: Flag = False


class BotConfig(Section):
    """What every `[[bots]]` entry has, whatever its strategy. `name` defaults to `id`."""

    id: Slug
    name: Annotated[str, Field(min_length=1, max_length=100)]
    account: str
    symbol: Symbol
    feed: str | None = None
    auto_start: Flag = True
    on_stop: OnStopConfig = OnStopConfig()

    @model_validator(mode="before")
    @classmethod
    def _name_defaults_to_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and "name" not in data and "id" in data:
            return {**data, "name": data["id"]}
        return data


class GridBotConfig(BotConfig):
    """A `[[bots]]` entry with `strategy = "grid"`.

    Each strategy has its own subclass with a `Literal` strategy and its own `config`;
    `DaemonConfig.bots` becomes a union tagged by `strategy` once there are two.
    """

    strategy: Literal["grid"]
    config: GridConfig


class DaemonConfig(Section):
    """The whole daemon file, with the bots of `bots.d/*.toml` merged into `bots`.

    After `config.loader.load_config`, `state_dir` is the resolved absolute state directory.
    """

    state_dir: Path | None = None
    api: ApiConfig = ApiConfig()
    database: DatabaseConfig = DatabaseConfig()
    journal: JournalConfig = JournalConfig()
    logging: LoggingConfig = LoggingConfig()
    supervisor: SupervisorConfig = SupervisorConfig()
    risk: RiskConfig = RiskConfig()
    accounts: tuple[AccountConfig, ...] = ()
    feeds: tuple[FeedConfig, ...] = ()
    bots: tuple[GridBotConfig, ...] = ()

    @field_validator("state_dir")
    @classmethod
    def _relative_to_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return None if value is None else _resolve_path(value, _load_context(info))

    @model_validator(mode="after")
    def _cross_check(self) -> Self:
        accounts = _index_ids("accounts", "account", self.accounts)
        feeds = _index_ids("feeds", "feed", self.feeds)
        _index_ids("bots", "bot", self.bots)
        for i, bot in enumerate(self.bots):
            if bot.account not in accounts:
                raise key_error(
                    ("bots", i, "account"), f"unknown account {bot.account!r}{_hint(bot.account, accounts)}"
                )
            if bot.feed is None:
                continue
            if bot.feed not in feeds:
                raise key_error(
                    ("bots", i, "feed"), f"unknown feed {bot.feed!r}{_hint(bot.feed, feeds)}"
                )
            feed = self.feeds[feeds[bot.feed]]
            if feed.symbol != bot.symbol:
                raise key_error(
                    ("bots", i, "feed"),
                    f"feed {feed.id!r} carries {feed.symbol}, not the bot's symbol {bot.symbol}",
                )
            live = isinstance(self.accounts[accounts[bot.account]], LiveAccountConfig)
            if live and not isinstance(feed, CcxtPollFeedConfig):
                raise key_error(
                    ("bots", i, "feed"),
                    f"feed {feed.id!r} is simulated: a bot on the live account {bot.account!r} cannot trade on it",
                )
        return self


def _index_ids(where: str, kind: str, items: Sequence[Any]) -> dict[str, int]:
    """Each item's position by its id; a repeated id is an error that points at the first."""
    positions: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.id in positions:
            raise key_error(
                (where, i, "id"), f"duplicate {kind} id {item.id!r}", first=(where, positions[item.id])
            )
        positions[item.id] = i
    return positions


def _hint(word: str, known: Iterable[str]) -> str:
    known = list(known)
    if not known:
        return " (none is configured)"
    return did_you_mean(word, known) or f" (configured: {', '.join(known)})"
