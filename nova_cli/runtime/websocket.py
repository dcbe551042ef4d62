"""WebSocket routes: the upgrade request, from the route to the connection's process.

A route `("/ws", handler_module, {"protocol": "ws"})` is served in this
order, each step able to refuse the upgrade with an HTTP response: the
route lookup (404), the origin check (403), the group's pre-request plugins,
the group's security, then, in the connection's own process (see
`connection.py`), the group's `pre_ws_request` plugins (`ws_plugins.py`) and
the handler's `init`, which accepts or refuses.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from nova_cli.core.httperror import HTTPError
from nova_cli.runtime import errors, hosts, plugins, security, ws_plugins
from nova_cli.runtime.connection import Connection
from nova_cli.runtime.frames import deny
from nova_cli.runtime.request import Request
from nova_cli.runtime.route_compiler import Route

log = logging.getLogger("nova_cli.websocket")


async def serve_websocket(router: Any, scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI entry for a WebSocket request: route, origin, plugins, security, process."""
    table = router.table
    conn = HTTPConnection(scope, receive)
    if table.ws_hosts:
        match, _ = hosts.match(table.ws_hosts, table.ws, scope, "GET")
    else:
        match, _ = table.ws.match(scope["path"], "GET")
    if match is None:
        await deny(scope, send, errors.error_response(conn.headers, 404, "no ws route", dev=False))
        return
    if not router.origins.allows(conn.headers):
        log.warning(
            "refused a WebSocket upgrade of %s from origin %r (host %r); "
            "list the origin in ws_allowed_origins to allow it",
            scope["path"],
            conn.headers.get("origin"),
            conn.headers.get("host"),
        )
        await deny(scope, send, Response(b"origin not allowed", 403))
        return
    route = match.route
    if table is not router.plugin_states.table:  # a table swapped in, or no lifespan ran
        await router.plugin_states.start(table)
    req = Request(conn, method="GET", environment=router.config.environment)
    req.bindings, req.pathinfo, req.extra_state = match.bindings, match.pathinfo, route.extra_state
    try:
        pending = router.sessions.load(req)  # for init's state["session"], a read-only copy
        if pending is not None:
            await pending
        refusal = await _admit(router, table, route, req)
    except HTTPError as exc:
        refusal = errors.error_response(
            conn.headers, exc.status, exc.message, dev=router.config.dev, extra_headers=exc.headers
        )
    except Exception as exc:
        log.exception("ws upgrade of %s failed before init", scope["path"])
        refusal = errors.error_response(conn.headers, 500, str(exc), exc=exc, dev=router.config.dev)
    if refusal is not None:
        await deny(scope, send, refusal)
        return
    handler = route.target() if isinstance(route.target, type) else route.target
    threaded = route.sync_callbacks == "thread"
    chain = route.group.plugins if route.group.plugins is not None else table.plugins
    connection = Connection(
        handler,
        req,
        scope,
        receive,
        send,
        router.config,
        router.connections,
        threaded=threaded,
        plugins=ws_plugins.for_route(chain, router.plugin_states),
    )
    await connection.run()


async def _admit(router: Any, table: Any, route: Route, req: Request) -> Response | None:
    """Pre-request plugins and security on the upgrade request; a Response refuses it."""
    chain = route.group.plugins if route.group.plugins is not None else table.plugins
    req, reply = await plugins.run_pre(chain, req, router.plugin_states)
    if reply is not None:
        return await router.respond(table, reply, req, None, table.views_for(route))
    if route.group.security is not None:
        return await security.check(route.group.security, req)
    return None
