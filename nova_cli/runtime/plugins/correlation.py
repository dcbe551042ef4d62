"""The correlation-id plugin (Nova's `nova_correlation_plugin`).

Reads the id from `request_correlation_header` when that option names a
header the request carries, else makes a UUID4; sets `req.correlation_id`
and the response header `x-correlation-id`.  Under `nova run --log-format
json` every log line of the request carries it (`correlation_id`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from nova_cli import __version__
from nova_cli.runtime.logs import correlation_id
from nova_cli.runtime.request import Request


def plugin_info() -> dict[str, Any]:
    """What `nova middleware` shows for this plugin (Nova's `plugin_info/0`)."""
    return {
        "title": "nova correlation plugin",
        "version": __version__,
        "description": "gives every request a correlation id",
    }


def validate_options(options: Mapping[str, Any]) -> None:
    unknown = set(options) - {"request_correlation_header"}
    if unknown:
        raise ValueError(f"correlation plugin: unknown options {sorted(unknown)}")


async def pre_request(req: Request, options: Mapping[str, Any]) -> Any:
    header = options.get("request_correlation_header")
    value = req.headers.get(str(header).lower()) if header else None
    req.correlation_id = value or str(uuid.uuid4())
    correlation_id.set(req.correlation_id)
    req.state.setdefault("response_headers", {})["x-correlation-id"] = req.correlation_id
    return None
