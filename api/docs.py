"""Swagger UI at `/api/v1/docs`, offline: its assets come from the installed
`swagger-ui-bundle-v2` package (Swagger UI 5, which reads OpenAPI 3.1), never from a CDN,
so the docs work on a machine without internet access."""

from __future__ import annotations

import html

from swagger_ui_bundle import swagger_ui_path

from api.base import BaseHandler

ASSETS_PATH = str(swagger_ui_path)
"""The folder of Swagger UI's files; a StaticFileHandler route serves it."""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <title>traderd API</title>
  <link rel="stylesheet" href="{assets}/swagger-ui.css">
  <link rel="icon" type="image/png" href="{assets}/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{assets}/swagger-ui-bundle.js" charset="UTF-8"></script>
  <script src="{assets}/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
  <script>
    window.onload = function () {{
      window.ui = SwaggerUIBundle({{
        url: "{document}",
        dom_id: "#swagger-ui",
        deepLinking: true,
        persistAuthorization: true,
        presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
        layout: "StandaloneLayout"
      }});
    }};
  </script>
</body>
</html>
"""


class DocsHandler(BaseHandler):
    """The Swagger UI page, pointed at the OpenAPI document. Paths are absolute, so the
    page works with or without a trailing slash."""

    rate_limit = None

    def initialize(self, context=None, assets: str = "/api/v1/docs", document: str = "/api/v1/openapi.json") -> None:
        super().initialize(context)
        self._page = _PAGE.format(assets=html.escape(assets), document=html.escape(document))

    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-cache")
        self.finish(self._page)
