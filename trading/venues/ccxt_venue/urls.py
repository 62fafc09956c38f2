"""Pointing a ccxt exchange elsewhere (a testnet, a proxy, a local fake) from a config's `urls`.

ccxt deep-merges its constructor config, so a URL left out still points at the real
exchange (CCXT.md). `overridden_urls` therefore rewrites every one: `all` re-hosts each
URL of `urls['api']`, `urls['test']` and `urls['demo']` onto one base URL, keeping its path
(Binance's `/api/v3`, `/sapi/v1`, ... all land on the one fake server); `ws` re-hosts
the websocket URLs ccxt.pro keeps under `urls[section]['ws']` the same way (after `all`,
so a REST fake and a stream fake can live on different ports); any other key replaces that
entry of `urls['api']` as given. The keys are those of `CcxtSettings.urls`
(`ccxt_venue`), so accounts and feeds are configured alike. Pure: dicts in, a new dict out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

ALL = "all"
WS = "ws"
REBASED_SECTIONS = ("api", "test", "demo")


def overridden_urls(urls: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    """A copy of ccxt's `exchange.urls` with `overrides` applied (see the module docstring)."""
    result = dict(urls)
    base = overrides.get(ALL)
    if base is not None:
        scheme, netloc, *_ = urlsplit(base)
        if not scheme or not netloc:
            raise ValueError(f"urls.all must be scheme://host[:port][/path], got {base!r}")
        for section in REBASED_SECTIONS:
            if section in result:
                result[section] = _rebased(result[section], base.rstrip("/"))
    ws_base = overrides.get(WS)
    if ws_base is not None:
        scheme, netloc, *_ = urlsplit(ws_base)
        if scheme not in ("ws", "wss") or not netloc:
            raise ValueError(f"urls.ws must be ws[s]://host[:port][/path], got {ws_base!r}")
        for section in REBASED_SECTIONS:
            value = result.get(section)
            if isinstance(value, Mapping) and "ws" in value:
                result[section] = {**value, "ws": _rebased(value["ws"], ws_base.rstrip("/"))}
    specific = {key: value for key, value in overrides.items() if key not in (ALL, WS)}
    if specific:
        api = result.get("api")
        result["api"] = {**(api if isinstance(api, Mapping) else {}), **specific}
    return result


def _rebased(value: Any, base: str) -> Any:
    if isinstance(value, Mapping):
        return {key: _rebased(item, base) for key, item in value.items()}
    if isinstance(value, str):
        # `{hostname}` placeholders (Upbit's 'https://{hostname}') go with the host.
        return base + urlsplit(value).path
    return value
