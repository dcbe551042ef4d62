"""The app's API, served by `nova serve`: `/__nova/openapi.json` and a Swagger UI at `/__nova/api/`.

The document is built from the route table being served, so it follows the
code as the reloader swaps tables.  Swagger UI's files come from the
`swagger-ui-py` package, installed with nova: the page works offline, and
nothing is fetched from a CDN.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

DOCUMENT = "/__nova/openapi.json"
PAGE = "/__nova/api/"
# The only files of Swagger UI the page loads.
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png")

_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} API</title>
<link rel="icon" href="{page}favicon-32x32.png">
<link rel="stylesheet" href="{page}swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{page}swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({{url: "{document}", dom_id: "#swagger-ui"}});</script>
</body></html>
"""


def swagger_dir() -> Path | None:
    """Swagger UI's static files, found without importing the package (it imports PyYAML)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "static"
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


class ApiDocs:
    """ASGI middleware: the OpenAPI document and its page, everything else to `app`.

    `table` returns the route table being served, or None while the app's
    code does not load.
    """

    def __init__(self, app: ASGIApp, table: Callable[[], Any]) -> None:
        self.app = app
        self.table = table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == DOCUMENT or (path + "/").startswith(PAGE)):
            await self.app(scope, receive, send)
            return
        await self.respond(path)(scope, receive, send)

    def respond(self, path: str) -> Response:
        table = self.table()
        if table is None:
            return _unavailable()
        if path == DOCUMENT:
            from nova_cli.runtime.openapi import document

            return Response(json.dumps(document(table)), media_type="application/json")
        if path == PAGE.rstrip("/"):
            return RedirectResponse(PAGE)
        if path == PAGE:
            page = _HTML.format(title=table.app_name, page=PAGE, document=DOCUMENT)
            return HTMLResponse(page)
        return _asset(path.removeprefix(PAGE))


def _asset(name: str) -> Response:
    folder = swagger_dir()
    if name not in ASSETS or folder is None:
        return Response("not found", 404, media_type="text/plain")
    return FileResponse(folder / name)


def _unavailable() -> Response:
    body = {"status": 503, "error": "unavailable", "message": "the app's code did not load"}
    return Response(json.dumps(body), 503, media_type="application/json")
