"""The CORS plugin (Nova's `nova_cors_plugin`).

Options: `allow_origins` (required: "*", one origin, or a list of origins),
`allow_headers` (default "*"), `allow_methods` (default "*").  A preflight
`OPTIONS` is answered 200 at once; every other response gets the headers.
List the route's methods with "options" (or none) so the preflight reaches
the plugin instead of a 405, as in Nova.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from nova_cli import __version__
from nova_cli.runtime.request import Request


def plugin_info() -> dict[str, Any]:
    """What `nova middleware` shows for this plugin (Nova's `plugin_info/0`)."""
    return {
        "title": "nova CORS plugin",
        "version": __version__,
        "description": "answers preflights and adds CORS headers",
    }


def validate_options(options: Mapping[str, Any]) -> None:
    origins = options.get("allow_origins")
    if not origins or not isinstance(origins, str | list | tuple):
        raise ValueError("cors plugin needs allow_origins: '*', an origin or a list of origins")


def _allow_origin(req: Request, options: Mapping[str, Any]) -> str | None:
    origins = options["allow_origins"]
    if isinstance(origins, str):
        return origins
    origin = req.headers.get("origin")
    return origin if origin in origins else None


def _headers(req: Request, options: Mapping[str, Any]) -> dict[str, str]:
    origin = _allow_origin(req, options)
    if origin is None:
        return {}
    headers = {
        "access-control-allow-origin": origin,
        "access-control-allow-headers": str(options.get("allow_headers", "*")),
        "access-control-allow-methods": str(options.get("allow_methods", "*")),
    }
    if origin != "*":
        headers["vary"] = "Origin"
    return headers


async def pre_request(req: Request, options: Mapping[str, Any]) -> Any:
    headers = _headers(req, options)
    if req.method == "OPTIONS":
        return ("stop", Response(b"", 200, headers))
    req.state.setdefault("response_headers", {}).update(headers)
    return None
