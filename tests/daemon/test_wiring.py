"""From config to actors: what the wiring refuses, and which feeds the exchanges need."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.loader import load_config
from daemon import wiring
from trading.clock import SYSTEM_CLOCK
from trading.venues.ccxt_venue import CcxtVenue
from trading.venues.paper_markets import paper_market

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "examples" / "paper.toml"


def write_config(tmp_path: Path, text: str) -> Path:
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "x.csv").write_text(
        "timestamp_ms,open,high,low,close,volume\n1,1,1,1,1,1\n2,1,1,1,1,1\n"
    )
    path = tmp_path / "traderd.toml"
    path.write_text(text)
    return path


def test_the_example_wires_each_paper_exchange_to_the_feeds_its_bots_trade_on():
    config = load_config(EXAMPLE, environ={})
    assert wiring.exchange_feeds(config) == [("paper", "xrp-usdt"), ("paper", "eth-btc")]
    for bot in config.bots:
        market = wiring.paper_markets(config, config.accounts[0])[bot.symbol]
        wiring.check_grid(bot, market)  # the shipped grids fit their markets


def test_a_grid_too_dense_for_the_tick_is_refused_with_its_code(tmp_path):
    config = load_config(write_config(tmp_path, """
[[accounts]]
id = "paper"
exchange = "paper"
initial_balances = { USDT = "1000" }
[[feeds]]
id = "x"
source = "replay"
symbol = "XRP/USDT"
path = "data/x.csv"
[[bots]]
id = "dense"
account = "paper"
symbol = "XRP/USDT"
strategy = "grid"
[bots.config]
lower_price = "1.0000"
upper_price = "1.0010"
grid_count = 20
order_amount = 10
"""), environ={})
    market = paper_market("XRP/USDT", config.accounts[0].maker_fee, config.accounts[0].taker_fee)
    with pytest.raises(wiring.WiringError, match="bot 'dense': INVALID_PRICE_RANGE"):
        wiring.check_grid(config.bots[0], market)


def test_a_live_account_trades_through_ccxt_with_its_keys_and_urls(tmp_path):
    (tmp_path / "key").write_text("k\n")
    (tmp_path / "secret").write_text("s\n")
    config = load_config(write_config(tmp_path, """
[[accounts]]
id = "binance"
exchange = "binance"
api_key_file = "key"
api_secret_file = "secret"
urls = { all = "http://127.0.0.1:9" }
poll_interval_s = 0.5
"""), environ={})
    account = config.accounts[0]
    assert wiring.account_markets(config, account) == {}  # they come from the exchange
    spec = wiring.exchange_spec(config, account, {}, SYSTEM_CLOCK, None, None, None)
    venue = spec.kwargs["venue_factory"]()
    assert isinstance(venue, CcxtVenue) and venue.is_external and venue.poll_interval_s == 0.5
    assert venue.exchange.apiKey == "k" and venue.exchange.secret == "s"
    assert venue.exchange.urls["api"]["private"] == "http://127.0.0.1:9/api/v3"
    assert all(url.startswith("http://127.0.0.1:9/") for url in venue.exchange.urls["api"].values())


def test_a_live_account_on_an_exchange_ccxt_lacks_is_refused(tmp_path):
    config = load_config(write_config(tmp_path, """
[[accounts]]
id = "mystery"
exchange = "no_such_exchange"
api_key_env = "K"
api_secret_env = "S"
"""), environ={"K": "k", "S": "s"})
    with pytest.raises(wiring.WiringError, match="ccxt has no exchange 'no_such_exchange'"):
        wiring.account_markets(config, config.accounts[0])
