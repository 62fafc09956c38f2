"""A grid bot's config as the pure grid of `trading.grid`: shared by the daemon's wiring
(config-file bots) and the API (bots made through it), so both refuse the same grids."""

from __future__ import annotations

from config.schema import GridConfig
from trading.grid.geometry import GridParams, GridPlan, build_grid
from trading.markets import Market

GEOMETRY_FIELDS = frozenset({
    "lower_price", "upper_price", "grid_count", "price_change_percent", "spacing",
    "order_amount", "total_investment",
})
"""The fields that lay out the grid; changing them needs the bot stopped."""


def grid_params(grid: GridConfig) -> GridParams:
    return GridParams(
        lower_price=grid.lower_price,
        upper_price=grid.upper_price,
        grid_count=grid.grid_count,
        price_change_percent=grid.price_change_percent,
        spacing=grid.spacing,
        order_amount=grid.order_amount,
        total_investment=grid.total_investment,
    )


def fit_grid(grid: GridConfig, market: Market) -> GridPlan:
    """The grid laid out on `market`; `trading.grid.geometry.GridConfigError` (with API.md's
    code) when it does not fit the tick size, the minimums or the fees."""
    return build_grid(grid_params(grid), market)
