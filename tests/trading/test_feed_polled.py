"""The pure parts of polled feeds: backoff, and pointing ccxt's URLs elsewhere."""

from __future__ import annotations

import pytest

from trading.feeds.polled import Backoff
from trading.venues.ccxt_venue.urls import overridden_urls


def test_backoff_doubles_up_to_the_maximum_and_resets_on_success():
    backoff = Backoff(interval_s=1.0, max_s=10.0, jitter=0.0)
    assert [backoff.failed() for _ in range(5)] == [2.0, 4.0, 8.0, 10.0, 10.0]
    assert backoff.failures == 5
    assert backoff.succeeded() == 1.0 and backoff.failures == 0
    assert backoff.failed() == 2.0


def test_backoff_jitter_stays_within_its_band_and_retry_after_wins():
    low = Backoff(1.0, 10.0, jitter=0.2, random_fraction=lambda: 0.0)
    high = Backoff(1.0, 10.0, jitter=0.2, random_fraction=lambda: 1.0)
    assert (low.failed(), high.failed()) == (pytest.approx(1.6), pytest.approx(2.4))
    assert Backoff(1.0, 10.0, jitter=0.0).failed(retry_after_s=30.0) == 30.0


def test_backoff_survives_a_long_outage():
    backoff = Backoff(1.0, 60.0, jitter=0.0)
    assert [backoff.failed() for _ in range(2000)][-1] == 60.0


@pytest.mark.parametrize("interval,maximum,jitter", [(0, 1, 0), (2, 1, 0), (1, 2, 1)])
def test_backoff_refuses_nonsense(interval, maximum, jitter):
    with pytest.raises(ValueError):
        Backoff(interval, maximum, jitter)


BINANCE_LIKE = {
    "logo": "https://example.invalid/logo.png",
    "api": {"public": "https://api.binance.com/api/v3", "sapi": "https://api.binance.com/sapi/v1",
            "fapiPublic": "https://fapi.binance.com/fapi/v1"},
    "test": {"public": "https://testnet.binance.vision/api/v3"},
    "demo": {"public": "https://demo-api.binance.com/api/v3"},
    "www": "https://www.binance.com",
}


def test_all_moves_every_api_test_and_demo_url_keeping_paths():
    urls = overridden_urls(BINANCE_LIKE, {"all": "http://127.0.0.1:8999"})
    assert urls["api"] == {"public": "http://127.0.0.1:8999/api/v3", "sapi": "http://127.0.0.1:8999/sapi/v1",
                           "fapiPublic": "http://127.0.0.1:8999/fapi/v1"}
    assert urls["test"] == {"public": "http://127.0.0.1:8999/api/v3"}
    assert urls["demo"] == {"public": "http://127.0.0.1:8999/api/v3"}
    assert urls["www"] == BINANCE_LIKE["www"] and BINANCE_LIKE["api"]["public"].startswith("https://api")


def test_upbit_hostname_placeholder_is_replaced_and_named_keys_win():
    upbit = {"api": {"public": "https://{hostname}", "private": "https://{hostname}"}}
    urls = overridden_urls(upbit, {"all": "http://127.0.0.1:1/", "private": "http://127.0.0.1:2/x"})
    assert urls["api"] == {"public": "http://127.0.0.1:1", "private": "http://127.0.0.1:2/x"}


def test_all_without_a_host_is_refused():
    with pytest.raises(ValueError, match="scheme://host"):
        overridden_urls(BINANCE_LIKE, {"all": "127.0.0.1:8999"})
