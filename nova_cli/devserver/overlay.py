"""The error page `nova serve` shows while the new code does not load.

`ErrorOverlay` is ASGI middleware used only by the dev server.  While a
reload has failed, a browser navigating to any page (a GET that prefers
`text/html`) gets a 500 page with the file, the line, the message and the
code around it; every other request (JSON clients, fetches, stylesheets,
WebSockets) is served by the last good code as if nothing happened, so an
API client or a test suite running against the dev server is not broken
by a half-typed edit.  The live-reload script reloads the page once the
file is fixed.

If the app has never loaded (the code was broken when the worker
started), there is no last good code: HTTP requests get the error (HTML or
JSON) and WebSocket upgrades are refused.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from nova_cli.devserver.problems import Problem
from nova_cli.runtime.errors import error_body, wants_html


class ErrorOverlay:
    """Serve the current reload problem to browsers; everything else goes to `app`."""

    def __init__(self, app: ASGIApp | None, problem: Callable[[], Problem | None]) -> None:
        self.app = app  # None: the app never loaded
        self.problem = problem

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if self.app is None:
            await self._without_app(scope, receive, send)
            return
        if kind == "http" and scope["method"] in ("GET", "HEAD"):
            problem = self.problem()
            if problem is not None and wants_html(Headers(scope=scope)):
                await error_page(problem)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _without_app(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        problem = self.problem() or Problem("Error", "the app is not loaded")
        if kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1011, "reason": "app not loaded"})
        elif wants_html(Headers(scope=scope)):
            await error_page(problem)(scope, receive, send)
        else:
            payload = error_body(500, f"the app did not load: {problem.headline()}")
            await Response(json.dumps(payload), 500, media_type="application/json")(
                scope, receive, send
            )


def error_page(problem: Problem) -> Response:
    """The HTML page for a failed reload."""
    return HTMLResponse(render(problem), 500, headers={"cache-control": "no-store"})


def render(problem: Problem) -> str:
    esc = html.escape
    rows = []
    for number, text in problem.source:
        mark = ' class="hit"' if number == problem.line else ""
        rows.append(f"<tr{mark}><td>{number}</td><td>{esc(text) or ' '}</td></tr>")
    source = f"<table class='src'>{''.join(rows)}</table>" if rows else ""
    where = f"<p class='where'>{esc(problem.location)}</p>" if problem.location else ""
    trace = f"<pre>{esc(problem.traceback)}</pre>" if problem.traceback else ""
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Reload failed: {esc(problem.kind)}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2.5rem;color:#222}"
        "h1{color:#b00020;font-size:1.4rem}.where{font-family:monospace;font-size:1.1rem}"
        "pre,.src{background:#f6f6f6;padding:1rem;overflow:auto;font-family:monospace}"
        ".src{border-collapse:collapse;width:100%}.src td{padding:0 .6rem;white-space:pre}"
        ".src td:first-child{color:#666;text-align:right;width:3rem}"
        ".hit{background:#ffd7d7}.note{color:#555}</style></head>"
        # The live-reload script knows this page by its problem: it is not covered again.
        f"<body data-nova-problem='{esc(problem.headline())}'>"
        f"<h1>Reload failed: {esc(problem.kind)}: {esc(problem.message)}</h1>"
        f"{where}{source}{trace}"
        "<p class='note'>nova serve is still serving the last good code to other requests. "
        "Fix the file and save: this page reloads by itself.</p>"
        "</body></html>"
    )
