"""The zero-setup example `config/examples/paper.toml` loads as documented, with exact decimals."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import pytest

from config.loader import database_url, load_config
from config.schema import DaemonConfig, PaperAccountConfig, ReplayFeedConfig

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "examples"
PAPER = EXAMPLES / "paper.toml"

# The bundled candles are the shared real data, unchanged (see examples/data/README.md).
CANDLES_SHA256 = {
    "XRP-USDT_5m.csv": "3b5dc8f1e39c105a80c29cf10bfc706ee2809321e66c164225efe2ff3467f5aa",
    "ETH-BTC_5m.csv": "baf7a97f5416d08f24b9f9767252f9f19d96f62c4634e590a59f7819e88494f8",
}


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DaemonConfig:
    monkeypatch.chdir(tmp_path)
    return load_config(PAPER, environ={})


def test_state_and_api_defaults(config: DaemonConfig, tmp_path: Path) -> None:
    assert config.state_dir == tmp_path.resolve() / "var"
    assert database_url(config) == f"sqlite:///{tmp_path.resolve()}/var/traderd.sqlite3"
    assert (config.api.host, config.api.port) == ("127.0.0.1", 8000)
    assert config.api.jwt_secret is None
    assert config.api.allow_registration is False


def test_one_paper_account_with_exact_balances(config: DaemonConfig) -> None:
    (account,) = config.accounts
    assert isinstance(account, PaperAccountConfig)
    assert account.id == "paper"
    assert account.initial_balances == {"USDT": Decimal("10000"), "BTC": Decimal("1"), "ETH": Decimal("5")}
    assert all(type(value) is Decimal for value in account.initial_balances.values())
    assert account.taker_fee == Decimal("0.001")


def test_replay_feeds_play_a_candle_every_fifth_of_a_second(config: DaemonConfig) -> None:
    feeds = {feed.id: feed for feed in config.feeds}
    assert {feed.symbol for feed in feeds.values()} == {"XRP/USDT", "ETH/BTC"}
    for feed in feeds.values():
        assert isinstance(feed, ReplayFeedConfig)
        assert feed.path.is_absolute() and feed.path.parent == EXAMPLES / "data"
        assert 5 * 60 / feed.speed == pytest.approx(0.2)
    assert feeds["xrp-usdt"].path.name == "XRP-USDT_5m.csv"
    assert feeds["eth-btc"].path.name == "ETH-BTC_5m.csv"


def test_grid_prices_are_exact_decimals_not_floats(config: DaemonConfig) -> None:
    xrp, eth = (bot.config for bot in config.bots)
    assert type(xrp.lower_price) is Decimal
    assert str(xrp.lower_price) == "1.02"  # float(1.02) would be 1.0200000000000000177...
    assert xrp.upper_price == Decimal("1.22")
    assert str(eth.lower_price) == "0.083"
    assert str(eth.price_change_percent) == "1.5"
    assert str(eth.total_investment) == "0.5"


def test_two_grid_bots_as_described(config: DaemonConfig) -> None:
    xrp, eth = config.bots
    assert (xrp.id, xrp.account, xrp.symbol, xrp.feed) == ("xrp-grid", "paper", "XRP/USDT", "xrp-usdt")
    assert (xrp.config.spacing, xrp.config.intervals) == ("arithmetic", 20)
    assert xrp.config.order_amount == Decimal("20") and xrp.config.total_investment is None
    assert (eth.id, eth.symbol, eth.feed) == ("eth-btc-grid", "ETH/BTC", "eth-btc")
    assert eth.config.spacing == "geometric"
    assert eth.config.intervals == 16
    assert eth.config.order_amount is None
    assert eth.auto_start and eth.on_stop.cancel_orders and not eth.on_stop.sell_base


def test_bundled_candles_are_the_shared_files_unchanged() -> None:
    for name, digest in CANDLES_SHA256.items():
        data = (EXAMPLES / "data" / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest
        assert data.startswith(b"timestamp_ms,open,high,low,close,volume\n")
