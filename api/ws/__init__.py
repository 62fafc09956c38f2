"""The WebSocket side of the API: hub, connections, channels, and the relay's outlet."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from api.context import ApiContext
    from api.ws.hub import WebSocketHub


def make_hub(context: ApiContext) -> WebSocketHub:
    """The hub of one API context, its metrics on the context's registry."""
    from api.ws import metrics
    from api.ws.hub import WebSocketHub
    from api.ws.ownership import OwnershipCache
    from api.ws.positions import PositionUpdates

    ownership = OwnershipCache(context.engine)
    hub = WebSocketHub(
        version=context.version,
        limits=context.ws_limits,
        outlet=context.ws_outlet,
        ownership=ownership,
        positions=PositionUpdates(engine=context.engine, markets=context.markets, actors=context.actors, ownership=ownership),
        monotonic=context.monotonic,
    )
    metrics.register(context.registry, hub)
    return hub
