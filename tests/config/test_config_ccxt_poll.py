"""`[[feeds]] source = "ccxt_poll"`: an exchange's REST ticker as a feed."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.errors import ConfigError
from config.loader import load_config
from config.schema import CcxtPollFeedConfig

FEED = """
[[accounts]]
id = "paper"
exchange = "paper"

[[feeds]]
id = "btc"
source = "ccxt_poll"
exchange = "binance"
symbol = "BTC/USDT"
{extra}
"""


def load(tmp_path: Path, extra: str = "", tail: str = "", environ: dict[str, str] | None = None):
    path = tmp_path / "traderd.toml"
    path.write_text(FEED.format(extra=extra) + tail)
    return load_config(path, environ=environ or {})


def test_a_ccxt_poll_feed_with_its_defaults(tmp_path):
    (feed,) = load(tmp_path).feeds
    assert isinstance(feed, CcxtPollFeedConfig)
    assert (feed.exchange, feed.symbol, feed.interval_s, feed.max_backoff_s) == ("binance", "BTC/USDT", 5.0, 60.0)
    assert (feed.sandbox, feed.urls, feed.timeout_s) == (False, {}, 10.0)


def test_interval_and_url_overrides(tmp_path):
    extra = 'interval_s = 2.5\nsandbox = true\nurls = { all = "http://127.0.0.1:8999" }'
    (feed,) = load(tmp_path, extra).feeds
    assert feed.interval_s == 2.5 and feed.sandbox is True
    assert feed.urls == {"all": "http://127.0.0.1:8999"}


@pytest.mark.parametrize("extra,expected", [
    ("interval_s = 0.01", "feeds[0].interval_s"),
    ('exchange = "paper"', "the paper exchange has no market data"),
    ('intervall_s = 1', "did you mean 'interval_s'"),
])
def test_bad_ccxt_poll_feeds_are_refused(tmp_path, extra, expected):
    text = FEED.replace('exchange = "binance"\n', "") if extra.startswith("exchange") else FEED
    path = tmp_path / "traderd.toml"
    path.write_text(text.format(extra=extra))
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert expected in str(caught.value)


def test_a_live_account_bot_may_trade_on_real_prices(tmp_path):
    tail = """
[[accounts]]
id = "live"
exchange = "binance"
api_key_env = "KEY"
api_secret_env = "SECRET"

[[bots]]
id = "btc-grid"
account = "live"
symbol = "BTC/USDT"
feed = "btc"
strategy = "grid"
[bots.config]
lower_price = 60000
upper_price = 70000
grid_count = 10
order_amount = 0.001
"""
    config = load(tmp_path, tail=tail, environ={"KEY": "k", "SECRET": "s"})
    assert config.bots[0].feed == "btc"
