"""Serving with uvicorn: Nova's shutdown order, its settings, and its workers.

uvicorn closes open WebSockets with 1012 ("service restart") when it stops.
A Nova server that shuts down is going away, so `NovaServer` first stops
accepting, then closes every WebSocket with 1001 and runs each handler's
`terminate` (bounded by a timeout), and only then lets uvicorn finish.
`serve` runs one such server, or N workers under uvicorn's supervisor
(see `workers`).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from typing import Any

import uvicorn

from nova_cli.core.config import ConfigError
from nova_cli.runtime.descriptors import raise_open_file_limit
from nova_cli.runtime.frames import GOING_AWAY
from nova_cli.runtime.http_protocol import NovaHttpProtocol
from nova_cli.runtime.logs import logging_config
from nova_cli.runtime.shutdown import CONNECTIONS_KEY
from nova_cli.runtime.ws_protocol import NovaWebSocketProtocol


class NovaServer(uvicorn.Server):
    """A uvicorn server that closes WebSockets with 1001 before shutting down.

    Shutdown has one budget, `timeout_graceful_shutdown` (the app's
    `shutdown_timeout`), end to end: WebSockets are closed and their
    `terminate` run within it, and uvicorn gets what is left of it for the
    HTTP requests still running.
    """

    close_code = GOING_AWAY

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        raise_open_file_limit()  # a connection is a descriptor: as many as allowed
        await super().serve(sockets)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        budget = self.config.timeout_graceful_shutdown or 0.0
        for server in self.servers:
            server.close()  # stop accepting first
        # The app's connections, as its lifespan handed them to the server.
        connections = self.lifespan.state.get(CONNECTIONS_KEY)
        if connections is not None:
            await connections.close_all(self.close_code, budget=budget)
        spent = loop.time() - started
        self.config.timeout_graceful_shutdown = max(0.0, budget - spent)  # type: ignore[assignment]
        await super().shutdown(sockets)


def uvicorn_config(nova: Any, app: Any, **extra: Any) -> uvicorn.Config:
    """uvicorn settings for a Nova app: its address, limits, logs and proxy headers.

    HTTP goes through `NovaHttpProtocol`, which bounds request heads (count,
    size, time). permessage-deflate is off, as in Cowboy (and so Nova): it
    costs ~35 KB per idle connection and CPU on every frame.  The logging
    configuration is handed over whole, so that each worker makes the same.
    """
    settings: dict[str, Any] = {
        "host": nova.host,
        "port": nova.port,
        "log_config": logging_config(nova.log_level, nova.log_format),
        "access_log": nova.access_log,
        "proxy_headers": nova.proxy_headers,
        "forwarded_allow_ips": nova.forwarded_allow_ips,
        # Both read the app's limits from its lifespan state, so that they
        # pickle to worker processes and work under plain uvicorn as well.
        "http": NovaHttpProtocol,
        "ws": NovaWebSocketProtocol,
        "ws_max_size": nova.ws_max_message_size,
        "ws_per_message_deflate": False,
        "timeout_graceful_shutdown": nova.shutdown_timeout,
        **extra,
    }
    return uvicorn.Config(app, **settings)


def serve(
    nova: Any,
    workers: int = 1,
    on_ready: Callable[[], None] | None = None,
    *,
    pubsub_per_worker: bool = False,
    sessions_per_worker: bool = False,
) -> None:
    """Serve the Nova app of `nova` (a NovaConfig) until interrupted.

    `on_ready` runs once the app is built and logging set up, before the
    server starts.  Several workers of an app with WebSocket routes need a
    shared pub/sub backend, unless `pubsub_per_worker` says otherwise, and
    of an app with sessions a shared session store, unless `sessions_per_worker`.
    """
    from nova_cli.runtime.app import create_app
    from nova_cli.runtime.workers import HEALTHCHECK_SECONDS, run_supervisor

    # Built here even with workers, so that a bad route table fails in one line
    # before any worker starts.
    app = create_app(config=nova)
    if workers > 1 and not pubsub_per_worker:
        check_shared_channels(nova, app.router, workers)
    if workers > 1 and not sessions_per_worker:
        check_shared_sessions(nova, app.router, workers)
    raise_open_file_limit()  # the workers inherit it; the banner reports it
    if workers == 1:
        server = NovaServer(uvicorn_config(nova, app))
        if on_ready is not None:
            on_ready()
        server.run()
        return
    # Workers are new processes: they rebuild the app from these variables.
    os.environ["NOVA_ROOT"] = str(nova.root)
    os.environ["NOVA_ENVIRONMENT"] = nova.environment
    if nova.app:
        os.environ["NOVA_APP"] = nova.app
    config = uvicorn_config(
        nova,
        "nova_cli.runtime.app:from_environment",
        factory=True,
        workers=workers,
        timeout_worker_healthcheck=HEALTHCHECK_SECONDS,
    )
    if on_ready is not None:
        on_ready()
    run_supervisor(config)


def check_shared_channels(nova: Any, router: Any, workers: int) -> None:
    """Refuse to split an app's channels over workers that would not share them.

    With the memory backend each worker has its own channels: two clients of
    one chat room, landing on different workers, would never see each other.
    """
    table = router.table
    if nova.pubsub is not None or not any(route.protocol == "ws" for route in table.routes):
        return
    raise ConfigError(
        f"{table.app_name} has WebSocket routes and pub/sub in memory: {workers} workers would "
        "each have their own channels, and clients on different workers would not see each "
        'other; share them through Redis (pubsub = "redis://…" in [tool.nova], or '
        "NOVA_PUBSUB_URL), or pass --pubsub-per-worker to run them apart"
    )


def check_shared_sessions(nova: Any, router: Any, workers: int) -> None:
    """Refuse to split an app's sessions over workers that would not share them."""
    from nova_cli.runtime.session_use import uses_sessions

    if router.sessions.backend.shared or not uses_sessions(router.table):
        return
    raise ConfigError(
        f"{router.table.app_name} uses sessions and keeps them in memory: {workers} workers "
        "would each have their own, and a client whose requests reach different workers "
        'would lose its session; share them through Redis (pubsub = "redis://…" in '
        "[tool.nova], or NOVA_PUBSUB_URL), or pass --sessions-per-worker to run them apart"
    )
