"""Swagger UI at /api/v1/docs, served offline from the installed bundle."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from tests.api.conftest import LiveServer


def fetch(server: LiveServer, path: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5) as reply:
        return reply.status, reply.headers["Content-Type"], reply.read()


def test_the_docs_page_points_swagger_ui_at_the_document(live_server):
    status, content_type, page = fetch(live_server, "/api/v1/docs")

    assert status == 200 and content_type.startswith("text/html")
    assert b'url: "/api/v1/openapi.json"' in page
    assert b'src="/api/v1/docs/swagger-ui-bundle.js"' in page
    assert b"http://" not in page and b"https://" not in page  # offline: nothing from a CDN


def test_the_assets_come_from_the_installed_package(live_server):
    status, content_type, script = fetch(live_server, "/api/v1/docs/swagger-ui-bundle.js")

    assert status == 200 and "javascript" in content_type
    assert b"SwaggerUIBundle" in script
    status, content_type, css = fetch(live_server, "/api/v1/docs/swagger-ui.css")
    assert status == 200 and content_type.startswith("text/css") and css


@pytest.mark.parametrize("path", ["/api/v1/docs/no-such-file.js", "/api/v1/docs/../../setup.cfg"])
def test_a_missing_asset_or_a_path_outside_the_bundle_is_refused(live_server, path):
    with pytest.raises(urllib.error.HTTPError) as refused:
        fetch(live_server, path)
    assert refused.value.code in (403, 404)
