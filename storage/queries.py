"""Read queries over the projections (for the actors at start, and later the API)."""

from __future__ import annotations

from sqlalchemy import Engine, select

from storage.models import OrderRow

OPEN_STATUSES = ("SUBMITTED", "ACCEPTED", "PENDING_CANCEL", "PARTIALLY_FILLED")


def open_orders_by_account(engine: Engine) -> dict[str, set[str]]:
    """The client ids of the orders each account has open, per the journal."""
    orders = OrderRow.__table__
    query = select(orders.c.account_id, orders.c.client_order_id).where(orders.c.status.in_(OPEN_STATUSES))
    result: dict[str, set[str]] = {}
    with engine.connect() as connection:
        for account_id, client_order_id in connection.execute(query):
            result.setdefault(account_id, set()).add(client_order_id)
    return result
