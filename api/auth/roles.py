"""Roles and their levels (API.md): a role may do what any lower level may."""

from __future__ import annotations

ROLE_LEVELS = {"admin": 100, "trader": 50, "viewer": 10}


def role_allows(role: str, required: str) -> bool:
    """Whether `role` reaches the level of `required`; unknown roles reach nothing."""
    return ROLE_LEVELS.get(role, -1) >= ROLE_LEVELS[required]
