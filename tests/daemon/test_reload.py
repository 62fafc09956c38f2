"""What a SIGHUP reload applies: the bot diff by config id, and the parts that need a restart."""

from __future__ import annotations

from pathlib import Path

from config.loader import load_config
from daemon.reload import diff_bots, needs_restart

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "examples" / "paper.toml"


def test_bots_are_diffed_by_config_id():
    old = load_config(EXAMPLE, environ={})
    xrp, eth = old.bots
    changed_eth = eth.model_copy(update={"config": eth.config.model_copy(update={"total_investment": 1})})
    added = xrp.model_copy(update={"id": "xrp-two"})

    changes = diff_bots(old.bots, (changed_eth, added))

    assert changes.removed == (xrp,)
    assert changes.added == (added,)
    assert changes.changed == ((eth, changed_eth),)
    assert not diff_bots(old.bots, load_config(EXAMPLE, environ={}).bots)


def test_sections_read_only_at_boot_are_reported_not_bots():
    old = load_config(EXAMPLE, environ={})
    new = load_config(EXAMPLE, environ={"TRADERD_API__PORT": "8123", "TRADERD_RISK__MAX_OPEN_ORDERS": "7"})
    assert needs_restart(old, new) == ["api", "risk"]
    fewer_bots = old.model_copy(update={"bots": old.bots[:1]})
    assert needs_restart(old, fewer_bots) == []
    one_feed = old.model_copy(update={"feeds": old.feeds[:1]})
    assert needs_restart(old, one_feed) == ["feeds ('eth-btc' changed or removed)"]
