"""Route sections: the route table grouped by path prefix.

Tornado matches a request against its rules in order, one regular expression each, so a
flat table of 70 routes cost the last of them 70 matches (7% of a `GET /bots/{id}`).
A section is one rule whose pattern is the prefix and whose target is that prefix's own
rules (Tornado's nested routers), so a request tries the sections and then its own few
routes. Sections must not overlap; then their order is free, and the busiest go first.
"""

from __future__ import annotations

import re
from typing import Iterator

import tornado.routing
import tornado.web


def section(prefix: str, rules: list[tornado.web.URLSpec]) -> tornado.routing.Rule:
    """The routes under `prefix` (each with its whole pattern), as one rule."""
    for rule in rules:
        if not rule.regex.pattern.startswith(prefix):
            raise ValueError(f"route {rule.name or rule.regex.pattern} is outside its section {prefix}")
    return tornado.routing.Rule(tornado.routing.PathMatches(re.escape(prefix) + r"(?:/.*)?"), rules)


def route_rules(router: tornado.routing.RuleRouter) -> Iterator[tornado.routing.Rule]:
    """Every route of `router` (an application's `wildcard_router`), sections opened, in order."""
    for rule in router.rules:
        if isinstance(rule.target, tornado.routing.RuleRouter):
            yield from route_rules(rule.target)
        else:
            yield rule
