"""`GET /api/v1/strategies`: the strategy types a bot can run, with the JSON schema of each
config (made from the same pydantic model that validates it)."""

from __future__ import annotations

import functools

from api.base import BaseHandler
from api.endpoint import endpoint
from api.schemas.bots import StrategyCatalog, StrategyOut
from config.schema import GridConfig


@functools.cache
def catalog() -> StrategyCatalog:
    return StrategyCatalog([
        StrategyOut(
            type="grid",
            name="Spot grid",
            description=(
                "Buys low and sells high inside a price range: N intervals between lower_price and "
                "upper_price (arithmetic or geometric), one order per interval, each completed "
                "buy-sell cycle books its profit. Give grid_count or price_change_percent, and "
                "order_amount (quote per interval) or total_investment."
            ),
            config_schema=GridConfig.model_json_schema(),
        ),
    ])


class StrategiesHandler(BaseHandler):
    required_role = "viewer"

    @endpoint("The strategy catalog", response=StrategyCatalog, tags=("bots",))
    async def get(self) -> None:
        self.write_model(catalog())
