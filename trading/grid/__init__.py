"""The spot grid strategy of GRID.md: its geometry (levels, quantities, orders) and money."""
