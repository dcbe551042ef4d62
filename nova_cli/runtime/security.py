"""Group security: Nova's `nova_security_handler` for HTTP routes and ws upgrades.

A group's `security` is a callable `(req)`, sync or async, whose result
either lets the request through (and may attach `auth_data`) or is turned
into the refusal.  A callable that raises is the caller's business: the
dispatcher answers 500, never the protected resource.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from starlette.responses import Response

from nova_cli.runtime.handlers import encode_json
from nova_cli.runtime.invoke import call
from nova_cli.runtime.request import Request
from nova_cli.runtime.routes import describe

log = logging.getLogger("nova_cli.security")

RESULTS = (
    "True",
    "(True, auth_data)",
    "False",
    "(False, headers)",
    "(False, status, headers)",
    "(False, status, headers, body)",
    '("redirect", url)',
)


async def check(security: Callable[..., Any], req: Request) -> Response | None:
    """Run `security(req)`; None lets the request through, a Response refuses it."""
    result = await call(security, req)
    if result is True:
        return None
    if isinstance(result, tuple) and result:
        head = result[0]
        if head is True and len(result) == 2:
            req.auth_data = result[1]
            return None
        if head is False and len(result) in (2, 3, 4):
            return _refusal(result, security)
        if head == "redirect" and len(result) == 2 and isinstance(result[1], str):
            return Response(b"", 302, {"location": result[1]})
    if result is not False:
        # Deny what we do not understand, as Nova does, but say why.
        log.warning(
            "security %s returned %r; expected one of %s; refusing with 401",
            describe(security),
            result,
            ", ".join(RESULTS),
        )
    return Response(b"", 401)


def _refusal(result: tuple[Any, ...], security: Any) -> Response:
    if len(result) == 2:
        return Response(b"", 401, _headers(result[1]))
    status = result[1]
    headers = _headers(result[2])
    body = result[3] if len(result) == 4 else b""
    if isinstance(body, Mapping | list):
        headers.setdefault("content-type", "application/json")
        body = encode_json(body)
    elif isinstance(body, str):
        body = body.encode()
    return Response(body, int(status), headers)


def _headers(value: Any) -> dict[str, str]:
    if not value:
        return {}
    if isinstance(value, Mapping):
        return {str(k).lower(): str(v) for k, v in value.items()}
    return {str(k).lower(): str(v) for k, v in value}
