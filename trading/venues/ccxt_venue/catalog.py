"""What the API tells about ccxt's exchanges without a network call: their ids, names
and `has` capabilities, read from the classes."""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def exchange_ids() -> frozenset[str]:
    """Every exchange id ccxt knows."""
    import ccxt  # heavy: only when first asked

    return frozenset(ccxt.exchanges)


@functools.cache
def describe_exchanges() -> tuple[tuple[str, str, dict[str, Any]], ...]:
    """(id, name, has) of every ccxt exchange, sorted by id, from each class's `describe()`
    (no configured instance where it can be helped, never the network)."""
    import ccxt

    found = []
    for exchange_id in sorted(ccxt.exchanges):
        cls = getattr(ccxt, exchange_id, None)
        if cls is None:
            continue
        try:
            description = cls.describe(object.__new__(cls))
        except Exception:  # a describe() that needs a configured instance (still offline)
            instance = cls()
            description = {"has": instance.has, "name": instance.name}
        has = {key: value for key, value in description.get("has", {}).items()
               if isinstance(value, (bool, str)) or value is None}
        found.append((exchange_id, str(description.get("name", exchange_id)), has))
    return tuple(found)
