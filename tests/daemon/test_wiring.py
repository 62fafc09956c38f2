"""From config to actors: what the wiring refuses, and which feeds the exchanges need."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.loader import load_config
from daemon import wiring
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


def test_a_live_account_is_refused_until_live_exchanges_are_built(tmp_path):
    (tmp_path / "key").write_text("k\n")
    (tmp_path / "secret").write_text("s\n")
    config = load_config(write_config(tmp_path, """
[[accounts]]
id = "binance"
exchange = "binance"
api_key_file = "key"
api_secret_file = "secret"
"""), environ={})
    with pytest.raises(wiring.WiringError, match="exchange 'binance' is not supported yet"):
        wiring.account_markets(config, config.accounts[0])
