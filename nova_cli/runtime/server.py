"""Serving with uvicorn: Nova's shutdown order, and several workers on one socket.

uvicorn closes open WebSockets with 1012 ("service restart") when it stops.
A Nova server that shuts down is going away, so `NovaServer` first stops
accepting, then closes every WebSocket with 1001 and runs each handler's
`terminate` (bounded by a timeout), and only then lets uvicorn finish.
`run_workers` starts N such servers in child processes sharing one
listening socket, and replaces a worker that dies; a worker whose parent
dies (even by SIGKILL) shuts down too, so it never holds the port alone.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn

from nova_cli.runtime.connection import close_all
from nova_cli.runtime.frames import GOING_AWAY
from nova_cli.runtime.http_protocol import NovaHttpProtocol
from nova_cli.runtime.logs import logging_config
from nova_cli.runtime.parentdeath import exit_with_parent
from nova_cli.runtime.ws_protocol import NovaWebSocketProtocol

log = logging.getLogger("nova_cli.server")
# A worker's WebSockets, their terminate and its HTTP requests all end within
# the shutdown budget; after it comes only the pub/sub backend's own bounded
# stop (at most 5 s) and the interpreter's exit.  Past the budget and this
# margin, the supervisor kills the worker.
EXIT_MARGIN = 7.0


class NovaServer(uvicorn.Server):
    """A uvicorn server that closes WebSockets with 1001 before shutting down.

    Shutdown has one budget, `timeout_graceful_shutdown` (the app's
    `shutdown_timeout`), end to end: WebSockets are closed and their
    `terminate` run within it, and uvicorn gets what is left of it for the
    HTTP requests still running.
    """

    close_code = GOING_AWAY

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        budget = self.config.timeout_graceful_shutdown or 0.0
        for server in self.servers:
            server.close()  # stop accepting first
        await close_all(self.close_code, budget=budget)
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


def serve(nova: Any, workers: int = 1, on_ready: Callable[[], None] | None = None) -> None:
    """Serve the Nova app of `nova` (a NovaConfig) until interrupted.

    `on_ready` runs once the app is built and logging set up, before the
    server starts.
    """
    from nova_cli.runtime.app import create_app

    # Built here even with workers, so that a bad route table fails in one line
    # before any worker starts.
    app = create_app(config=nova)
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
    config = uvicorn_config(nova, "nova_cli.runtime.app:from_environment", factory=True)
    if on_ready is not None:
        on_ready()
    run_workers(config, workers)


def _worker(config: uvicorn.Config, sock: socket.socket, parent_pid: int) -> None:
    exit_with_parent(parent_pid)  # never an orphan holding the port
    config.configure_logging()  # a spawned process starts with none: no line would be written
    NovaServer(config).run(sockets=[sock])


def run_workers(config: uvicorn.Config, workers: int) -> None:
    """Run `workers` NovaServers on one socket until SIGINT/SIGTERM; restart dead ones."""
    sock = config.bind_socket()
    context = multiprocessing.get_context("spawn")
    stop = threading.Event()

    def start() -> Any:
        proc = context.Process(target=_worker, args=(config, sock, os.getpid()), daemon=False)
        proc.start()
        return proc

    def request_stop(signum: int, frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    procs = [start() for _ in range(workers)]
    try:
        while not stop.wait(0.5):
            for i, proc in enumerate(procs):
                if not proc.is_alive() and not stop.is_set():
                    log.warning(
                        "worker %s exited with %s; starting another", proc.pid, proc.exitcode
                    )
                    procs[i] = start()
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()  # SIGTERM: each worker shuts down gracefully
        deadline = time.monotonic() + (config.timeout_graceful_shutdown or 0.0) + EXIT_MARGIN
        for proc in procs:
            proc.join(max(0.1, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
        sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
