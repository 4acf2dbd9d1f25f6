"""Interactive API docs at /api/docs: Swagger UI served by the app itself.

FastAPI's own page loads Swagger UI from a CDN with an inline script: blank offline, and refused
by the site's Content-Security-Policy (``script-src 'self'``, which CloudFront sets on /api/*
too). This page loads Swagger UI's files (from the ``fastapi-swagger`` package, which packages
the current swagger-ui-dist) and its own small start-up script from under /api/docs, and sends
the same strict policy itself, so it works on the local stack, in Lambda and with no internet.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import metadata, resources

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException

ASSET_PACKAGE = "fastapi_swagger.resources"
ASSET_DISTRIBUTION = "fastapi-swagger"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
}
# What the page may load: this origin only (the OpenAPI document, the files above, "Try it out"
# requests), images from data: URLs (Swagger UI's icons). No inline script or style element.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="{docs_url}/swagger-ui.css?v={version}">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{docs_url}/swagger-ui-bundle.js?v={version}"></script>
  <script src="{docs_url}/start.js?v={version}"></script>
</body>
</html>
"""

_START = """// Swagger UI for this API, from the files the API serves itself.
window.ui = SwaggerUIBundle({
  url: %s,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""


@cache
def asset(name: str) -> bytes:
    """One of Swagger UI's files, read once (on the first visit to the docs, not at start)."""
    return resources.files(ASSET_PACKAGE).joinpath(name).read_bytes()


def install_docs(app: FastAPI, docs_url: str, openapi_url: str) -> None:
    """Serve the docs page at ``docs_url`` and its files under it (``app`` built with docs_url=None)."""
    version = metadata.version(ASSET_DISTRIBUTION)
    page = _PAGE.format(title=f"{app.title} - API docs", docs_url=docs_url, version=version)
    start = _START % json.dumps(openapi_url)
    forever = {"Cache-Control": "public, max-age=31536000, immutable"}  # versioned by ?v=

    @app.get(docs_url, include_in_schema=False)
    async def docs_page() -> HTMLResponse:
        return HTMLResponse(
            page, headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-cache"}
        )

    @app.get(f"{docs_url}/start.js", include_in_schema=False)
    async def docs_start() -> Response:
        return Response(start, media_type="text/javascript; charset=utf-8", headers=forever)

    @app.get(f"{docs_url}/{{name}}", include_in_schema=False)
    async def docs_asset(name: str) -> Response:
        if name not in ASSETS:
            raise HTTPException(404, f"the docs have no file {name}")
        return Response(asset(name), media_type=ASSETS[name], headers=forever)
