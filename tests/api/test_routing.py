from __future__ import annotations

import pytest
import tornado.routing
import tornado.web

from api.app import make_app
from api.context import ApiContext
from api.routing import route_rules, section


class _Nothing(tornado.web.RequestHandler):
    pass


def test_a_section_refuses_a_route_outside_its_prefix():
    with pytest.raises(ValueError, match="outside its section /api/v1/bots"):
        section("/api/v1/bots", [tornado.web.url(r"/api/v1/orders", _Nothing, name="orders")])


def test_route_rules_opens_the_sections_in_table_order():
    app = tornado.web.Application([
        tornado.web.url(r"/a", _Nothing, name="a"),
        section("/b", [tornado.web.url(r"/b", _Nothing, name="b"), tornado.web.url(r"/b/c", _Nothing, name="b_c")]),
        tornado.web.url(r"/d", _Nothing, name="d"),
    ])
    assert [rule.name for rule in route_rules(app.wildcard_router)] == ["a", "b", "b_c", "d"]


def test_the_sections_of_the_api_do_not_overlap():
    """Their order is free only if no path can fall in two of them."""
    prefixes = [rule.matcher.regex.pattern for rule in make_app(ApiContext(version="9.9.9")).wildcard_router.rules
                if isinstance(rule.target, tornado.routing.RuleRouter)]
    assert len(prefixes) > 5
    plain = [pattern.split("(?:")[0].replace("\\", "") for pattern in prefixes]
    for one in plain:
        for other in plain:
            assert one == other or not other.startswith(one + "/"), (one, other)
