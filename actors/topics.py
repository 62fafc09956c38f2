"""Bus topic names, in one place so publishers and subscribers agree."""

from __future__ import annotations

from typing import Any

from actors.bus import EventBus

ORDERS = "orders"
BOTS = "bots"
BOT_VIEW = "bot-view"
"""`BotFigures` from bots and `BotsCommitted` from the journal, for the API's read model."""


def bot_topic(bot_id: str) -> str:
    return f"bot:{bot_id}"


def account_topic(account_id: str) -> str:
    return f"account:{account_id}"


def publish_order_event(bus: EventBus, event: Any) -> None:
    """Order events go to everyone watching orders and to the bot they belong to."""
    bus.publish(ORDERS, event)
    if event.bot_id is not None:
        bus.publish(bot_topic(event.bot_id), event)
