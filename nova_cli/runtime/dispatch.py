"""The request pipeline: route → body → pre-request plugins → security → controller
→ return handler → post-request plugins, with Nova's error pages around it.

This mirrors Nova's Cowboy middleware chain (`nova_router`,
`nova_plugin_handler`, `nova_security_handler`, `nova_handler`).  It runs as
the router of a Starlette application, so Starlette middleware, lifespan and
`TestClient` all work as usual.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.routing import Router
from starlette.types import Lifespan, Message, Receive, Scope, Send

from nova_cli.core.config import NovaConfig
from nova_cli.core.httperror import HTTPError
from nova_cli.pubsub import PubSub, activate, deactivate
from nova_cli.runtime import cookies, errors, hosts, plugins, security, static, validation
from nova_cli.runtime.invoke import call, is_async
from nova_cli.runtime.origins import OriginPolicy
from nova_cli.runtime.plugin_states import PluginStates
from nova_cli.runtime.request import Request
from nova_cli.runtime.return_handlers import (
    ReturnContext,
    UnsupportedReturn,
    render_view,
    to_response,
)
from nova_cli.runtime.route_compiler import Route, describe
from nova_cli.runtime.route_table import RouteTable
from nova_cli.runtime.shutdown import Connections
from nova_cli.runtime.views import Views
from nova_cli.session import SessionStore

log = logging.getLogger("nova_cli")


class BodyTooLarge(Exception):
    pass


class NovaRouter(Router):
    """A Starlette Router that dispatches through a compiled Nova `RouteTable`.

    `table` may be replaced at any time (the dev server does so after a
    reload); each request reads it once, at its start.
    """

    def __init__(
        self,
        table: RouteTable,
        config: NovaConfig,
        lifespan: Lifespan[Any] | None = None,
        pubsub: PubSub | None = None,
        sessions: SessionStore | None = None,
    ) -> None:
        super().__init__(routes=[], lifespan=lifespan)
        self.table = table
        self.config = config
        self.origins = OriginPolicy(config.ws_allowed_origins, dev=config.dev)
        # The app's own runtime state: two apps in one process share none of it.
        self.pubsub = pubsub or PubSub()
        self.sessions = sessions or SessionStore(secure=not config.dev)
        self.connections = Connections()
        self.plugin_states = PluginStates()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Everything this app runs (requests, WebSocket callbacks, the lifespan
        # and what they start) sees its pub/sub as the current one.
        token = activate(self.pubsub)
        try:
            await self.middleware_stack(scope, receive, send)
        finally:
            deactivate(token)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self.serve_http(scope, receive, send)
        elif kind == "websocket":
            from nova_cli.runtime.websocket import serve_websocket

            await serve_websocket(self, scope, receive, send)
        elif kind == "lifespan":
            await self.lifespan(scope, receive, send)

    async def serve_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one HTTP request: the pipeline's response, or a 500 if sending it fails."""
        try:
            response = await self.handle_http(scope, receive)
        except ClientDisconnect:
            # The client left before its body was complete: a request that was
            # never fully sent is not dispatched, and nobody is left to answer.
            log.debug(
                "%s %s: client gone before the end of the body", scope["method"], scope["path"]
            )
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            await send(message)
            started = True  # only once the server took it: a refused head wrote nothing

        try:
            await response(scope, receive, tracked)
        except Exception as exc:
            if started:
                raise  # half a response: the server can only close the connection
            # A response that fails before its first byte (a file gone since the
            # route found it, a header the server refuses) still gets Nova's 500.
            log.exception("%s %s: the response failed", scope["method"], scope["path"])
            page = errors.error_response(
                Headers(scope=scope), 500, _message(exc), exc=exc, dev=self.config.dev
            )
            await page(scope, receive, send)

    async def handle_http(self, scope: Scope, receive: Receive) -> Response:
        table = self.table
        method = scope["method"]
        if table.http_hosts:
            match, allowed = hosts.match(table.http_hosts, table.http, scope, method)
        else:
            match, allowed = table.http.match(scope["path"], method)
        if match is None:
            req = self.request(scope, receive, method, None)
            if allowed:
                allow = ", ".join(sorted(allowed))
                message = f"{method} is not allowed here; allowed: {allow}"
                return await self.status_page(
                    table, req, 405, headers={"allow": allow}, message=message
                )
            return await self.status_page(table, req, 404, message=f"no route for {scope['path']}")
        route = match.route
        try:
            body, receive = await _read_body(scope, receive, self.config.max_body_size)
        except BodyTooLarge:
            req = self.request(scope, receive, method, route)
            return await self.status_page(
                table, req, 413, message=f"request body over {self.config.max_body_size} bytes"
            )
        req = self.request(scope, receive, method, route, body=body)
        req.bindings = match.bindings
        req.pathinfo = match.pathinfo
        try:
            # The session hooks: loaded before the pipeline, saved after it.
            pending = self.sessions.load(req)  # an awaitable only when the backend is remote
            if pending is not None:
                await pending
            response = await self.run_route(table, route, req)
            pending = self.sessions.commit(req)
            if pending is not None:
                await pending
        except HTTPError as exc:  # from the session store (503) or a post-request plugin
            return await self.http_error(table, req, exc)
        except Exception as exc:
            log.exception("%s %s failed in %s", method, scope["path"], describe(route.target))
            # Headers the plugins set (CORS, correlation id) still apply: a browser
            # must be able to read a cross-origin 500.
            return await self.status_page(
                table,
                req,
                500,
                exc=exc,
                message=_message(exc),
                headers=req.state.get("response_headers"),
            )
        return cookies.attach(req._cookies, response)

    def request(
        self, scope: Scope, receive: Receive, method: str, route: Route | None, body: bytes = b""
    ) -> Request:
        return Request.of_scope(
            scope,
            receive,
            method=method,
            environment=self.config.environment,
            extra_state=route.extra_state if route else None,
            body=body,
        )

    async def run_route(self, table: RouteTable, route: Route, req: Request) -> Response:
        chain = route.group.plugins if route.group.plugins is not None else table.plugins
        if table is not self.plugin_states.table:  # a table swapped in, or no lifespan ran
            await self.plugin_states.start(table)
        try:
            response = await self.reply(table, route, req, chain)
        except HTTPError as exc:
            response = await self.http_error(table, req, exc)
        if chain:
            response = await plugins.run_post(chain, req, response, self.plugin_states)
        extra = req.state.get("response_headers")
        if extra:
            for key, value in extra.items():
                if key not in response.headers:
                    response.headers[key] = value
        return response

    async def reply(
        self, table: RouteTable, route: Route, req: Request, chain: list[plugins.Plugin]
    ) -> Response:
        """Pre-request plugins, security, then the controller: the first to answer wins."""
        reply = None
        if chain:
            req, reply = await plugins.run_pre(chain, req, self.plugin_states)
        if reply is not None:
            return await self.respond(table, reply, req, None, table.views_for(route))
        if route.group.security is not None:
            refusal = await security.check(route.group.security, req)
            if refusal is not None:
                return refusal
        if route.json_schema is not None:
            invalid = validation.check(table.validators[route.json_schema], route.json_schema, req)
            if invalid is not None:
                return invalid
        return await self.call_route(table, route, req)

    async def http_error(self, table: RouteTable, req: Request, exc: HTTPError) -> Response:
        """The page for an `HTTPError`: the app's route for its status, or the built-in page."""
        req.crash_info = {
            "status_code": exc.status,
            "class": type(exc).__name__,
            "reason": exc.reason,
            "exception": exc,
        }
        return await self.status_page(
            table, req, exc.status, message=exc.message, headers=exc.headers or None
        )

    async def call_route(self, table: RouteTable, route: Route, req: Request) -> Response:
        if route.protocol == "static":
            # Resolving the path and checking the file touch the disk: off the loop.
            found = await run_in_threadpool(static.serve, route.target, req.pathinfo, route.static)
            if isinstance(found, int):
                message = "file not found" if found == 404 else "directory listing is off"
                return await self.status_page(table, req, found, message=message)
            return found
        req.controller = route.target
        views = table.views_for(route)
        result = await self.produce(views, route.target, req, req)
        return await self.respond(table, result, req, route.target, views)

    async def produce(
        self,
        views: Views | None,
        fn: Callable[..., Any],
        req: Request,
        *args: Any,
        default_status: int = 200,
    ) -> Any:
        """`fn(*args)`, with a view it returns rendered where it ran.

        A sync `fn` runs in the thread pool, and so does the render of the
        `("ok", vars)` it returns; an async `fn`'s view renders on the event
        loop, as Starlette's templates do for an async endpoint.
        """
        if is_async(fn):
            return await fn(*args)
        ctx = ReturnContext(req, fn, views, default_status)
        return await call(fn, *args, finish=functools.partial(render_view, ctx=ctx))

    async def respond(
        self,
        table: RouteTable,
        value: Any,
        req: Request,
        controller: Any,
        views: Views | None,
        default_status: int = 200,
    ) -> Response:
        """Normalise a return value, asking the controller's fallback when it is unsupported.

        `views` are the templates of the app whose route answers.
        """
        ctx = ReturnContext(req, controller, views, default_status)
        try:
            return await to_response(value, ctx)
        except UnsupportedReturn as unsupported:
            fallback = table.fallbacks.get(id(controller)) if controller is not None else None
            if fallback is None:
                raise
            log.debug("fallback %s resolves %r", describe(fallback), unsupported.value)
            resolved = await self.produce(
                views, fallback.resolve, req, req, unsupported.value, default_status=default_status
            )
            # Nova renders an ("ok", vars) from the fallback with the fallback's view.
            ctx = ReturnContext(req, fallback.resolve, views, default_status)
            return await to_response(resolved, ctx)

    async def status_page(
        self,
        table: RouteTable,
        req: Request,
        status: int,
        *,
        exc: BaseException | None = None,
        message: str = "",
        headers: dict[str, str] | None = None,
    ) -> Response:
        """The user's status-code route for `status` if there is one, else the built-in page."""
        route = table.status.get(status)
        if route is not None:
            req.status_code = status
            if exc is not None:
                req.crash_info = {
                    "status_code": status,
                    "class": type(exc).__name__,
                    "reason": str(exc),
                    "exception": exc,
                }
            try:
                views = table.views_for(route)
                result = await self.produce(views, route.target, req, req, default_status=status)
                response = await self.respond(
                    table, result, req, route.target, views, default_status=status
                )
            except Exception:
                log.exception(
                    "status route %s for %d failed; using the built-in page",
                    describe(route.target),
                    status,
                )
            else:
                for key, value in (headers or {}).items():
                    response.headers.setdefault(key, value)
                return response
        return errors.error_response(
            req.headers, status, message, exc=exc, dev=self.config.dev, extra_headers=headers
        )


def _message(exc: BaseException) -> str:
    if isinstance(exc, UnsupportedReturn):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _has_body(scope: Scope) -> tuple[bool, int | None]:
    length = None
    chunked = False
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                length = int(value)
            except ValueError:
                length = None
        elif key == b"transfer-encoding":
            chunked = True
    return (chunked or bool(length)), length


async def _read_body(scope: Scope, receive: Receive, limit: int) -> tuple[bytes, Receive]:
    """Read the whole body (up to `limit`) and return it with a receive that replays it.

    Raises ClientDisconnect when the client goes away before the body is complete.
    """
    has_body, length = _has_body(scope)
    if not has_body:
        return b"", receive
    if length is not None and length > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay
