"""Group security: Nova's `nova_security_handler` for HTTP routes and ws upgrades.

A group's `security` is a callable `(req)`, sync or async, whose result
either lets the request through (and may attach `auth_data`) or is turned
into the refusal.  A callable that raises is the caller's business: the
dispatcher answers 500, never the protected resource.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from nova_cli.runtime.invoke import call
from nova_cli.runtime.request import Request
from nova_cli.runtime.return_handlers import ReturnContext, to_response
from nova_cli.runtime.route_compiler import describe

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
            return await _refusal(result, req)
        if head == "redirect" and len(result) == 2 and isinstance(result[1], str):
            return await to_response(result, ReturnContext(req, None, None))
    if result is not False:
        # Deny what we do not understand, as Nova does, but say why.
        log.warning(
            "security %s returned %r; expected one of %s; refusing with 401",
            describe(security),
            result,
            ", ".join(RESULTS),
        )
    return Response(b"", 401)


async def _refusal(result: tuple[Any, ...], req: Request) -> Response:
    """`(False, [status,] headers[, body])` is a `("status", ...)` reply, 401 by default.

    It goes through the one normaliser of return values, so that headers and
    bodies mean here what they mean in a controller's reply.
    """
    if len(result) == 2:
        reply: tuple[Any, ...] = ("status", 401, result[1] or {})
    else:
        reply = ("status", result[1], result[2] or {}, *result[3:])
    return await to_response(reply, ReturnContext(req, None, None))
