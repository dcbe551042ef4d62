"""`create_app`: a Nova app as an ASGI application any ASGI server can run."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from nova_cli.core.config import LIFESPAN_KEY, ConfigError, NovaConfig, load_config
from nova_cli.pubsub import PubSub
from nova_cli.runtime.dispatch import NovaRouter
from nova_cli.runtime.route_table import build_table
from nova_cli.runtime.shutdown import CONNECTIONS_KEY
from nova_cli.session import SessionStore


def create_app(
    app: str | None = None,
    *,
    root: str | Path | None = None,
    config: NovaConfig | None = None,
    **settings: Any,
) -> Starlette:
    """Build the ASGI app for the Nova app package `app` of the project at `root`.

    Settings come from `[tool.nova]`, then `NOVA_*` variables, then the keyword
    arguments here (`environment="dev"`, `max_body_size=...`).  The environment
    is "prod", with no code shown on error pages, unless one of them names
    another.  A bad route table raises `RouteTableError` before anything is served.
    """
    if config is None:
        config = load_config(Path(root) if root is not None else None, app=app, **settings)
    table = build_table(config)
    router = NovaRouter(
        table,
        config,
        lifespan=_lifespan,
        pubsub=_pubsub_for(config),
        sessions=_sessions_for(config),
    )
    starlette = NovaApp(debug=config.dev)
    starlette.router = router
    starlette.state.nova_config = config
    return starlette


def _pubsub_for(config: NovaConfig) -> PubSub:
    try:
        chosen = PubSub.from_url(config.pubsub)
        chosen.presence.interval = config.presence_interval
        # Checked here, before anything is served: a dead Redis is one line at start-up.
        chosen.backend.check()
    except (ValueError, ConnectionError) as exc:
        raise ConfigError(str(exc)) from None
    return chosen


def _sessions_for(config: NovaConfig) -> SessionStore:
    try:
        return SessionStore.from_config(config)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


class NovaApp(Starlette):
    """Starlette, with requests handed straight to the Nova router.

    Starlette wraps its router in two middleware: `ServerErrorMiddleware`
    (a 500 for an exception that escapes) and `ExceptionMiddleware` (the
    app's exception handlers).  The Nova router answers its own errors: a
    failing controller, plugin or status route, and a response that fails
    before its first byte, get the negotiated 500; a WebSocket closes with
    1011.  So the two wrappers have nothing to do until the user adds
    middleware or exception handlers, yet they wrap every request and every
    frame a WebSocket sends (a broadcast to 1,000 members would pay for
    them 1,000 times).  Until then, everything goes straight to the router.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.user_middleware or self.exception_handlers or self.max_body_size is not None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        await self.router(scope, receive, send)


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
    from nova_cli import process, pubsub

    router: NovaRouter = app.router  # type: ignore[assignment]
    # The node is named in the OS process that serves, never inherited from a
    # parent that imported the app and forked (gunicorn --preload).
    process.fix_node()
    await pubsub.start(router.pubsub)
    await router.sessions.start()
    await router.plugin_states.start(router.table)
    try:
        # The lifespan state reaches the server: its protocols read the app's
        # limits from it, and its shutdown the app's WebSocket connections.
        yield {LIFESPAN_KEY: app.state.nova_config, CONNECTIONS_KEY: router.connections}
    finally:
        # Under `nova serve`/`nova run` the server closes sockets with 1001 before
        # this point; under plain uvicorn, uvicorn has closed them with 1012.
        await router.connections.close_all(budget=app.state.nova_config.shutdown_timeout)
        await router.plugin_states.stop()
        await router.sessions.stop()
        await pubsub.stop(router.pubsub)


def from_environment() -> Starlette:
    """An app factory for `uvicorn --factory`: the project comes from NOVA_ROOT / NOVA_APP.

    The environment is NOVA_ENVIRONMENT's, or `[tool.nova]`'s, or "prod".
    """
    return create_app()
