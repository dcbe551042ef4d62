"""`nova run --workers N`: uvicorn's supervisor, running Nova's workers.

uvicorn's `Multiprocess` binds nothing itself: it starts N worker processes
on the socket it is given, replaces one that dies or stops answering its
health check, restarts them one by one on SIGHUP and adds or removes one on
SIGTTIN / SIGTTOU.  Nova changes what a worker is (`Worker`):

- it serves a `NovaServer`, whose shutdown closes WebSockets with 1001 and
  runs `terminate` within the app's `shutdown_timeout`;
- it exits if its supervisor dies, even by SIGKILL (`exit_with_parent`);
- it is given `shutdown_timeout` + `EXIT_MARGIN` after SIGTERM before it is
  killed (uvicorn would wait for ever);
- its start and its end are one line each, with its pid.

The health check is a ping that a thread of the worker answers, so a busy
event loop or a long shutdown answers it; only a worker that holds the GIL
(a long C call) or is stopped does not.  A worker gets `HEALTHCHECK_SECONDS`
to answer, as long as gunicorn gives its workers, rather than uvicorn's 5 s.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from typing import Any

from uvicorn.server import Server
from uvicorn.supervisors import multiprocess

from nova_cli.runtime.parentdeath import exit_with_parent
from nova_cli.runtime.server import NovaServer

log = logging.getLogger("nova_cli.server")
# A worker's WebSockets, their terminate and its HTTP requests all end within
# the shutdown budget; after it comes only the pub/sub backend's own bounded
# stop (at most 5 s) and the interpreter's exit.  Past the budget and this
# margin, the supervisor kills the worker.
EXIT_MARGIN = 7.0
# How long a worker may leave the supervisor's ping unanswered before it is
# killed and replaced; also how long a new worker may take to start serving
# when SIGHUP restarts them.
HEALTHCHECK_SECONDS = 30


class Worker(multiprocess.Process):
    """A worker process of uvicorn's supervisor that serves a NovaServer."""

    def __init__(self, config: Any, sockets: list[socket.socket]) -> None:
        # Made in the supervisor, so this is its pid: the worker needs it even
        # when the supervisor is already gone by the time it runs.
        self.supervisor_pid = os.getpid()
        self.stop_deadline: float | None = None
        super().__init__(config, sockets)

    @property
    def server(self) -> Server:
        if self._server is None:
            self._server = NovaServer(config=self.config)
        return self._server

    def target(self, sockets: list[socket.socket] | None = None) -> None:
        exit_with_parent(self.supervisor_pid)  # never an orphan holding the port
        super().target(sockets)

    def start(self) -> None:
        super().start()
        log.info("worker %d started", self.pid)

    def terminate(self) -> None:
        """SIGTERM: the worker shuts down, and has until `stop_deadline` to exit."""
        if self.process.exitcode is None and self.pid is not None:
            self.stop_deadline = time.monotonic() + self.budget
            os.kill(self.pid, signal.SIGTERM)
        self.parent_conn.close()
        self.child_conn.close()

    def join(self) -> None:
        """Wait for the worker to exit, killing it past its deadline; say how it ended."""
        deadline = self.stop_deadline or time.monotonic() + self.budget
        self.process.join(max(0.0, deadline - time.monotonic()))
        if self.process.exitcode is None:
            log.warning(
                "worker %d did not exit %.0f s after SIGTERM; killing it", self.pid, self.budget
            )
            self.process.kill()
            self.process.join()
        log.info("worker %d stopped (%s)", self.pid, _ending(self.process.exitcode))

    @property
    def budget(self) -> float:
        """Seconds from SIGTERM to the kill: the app's shutdown budget and the margin."""
        return float(self.config.timeout_graceful_shutdown or 0.0) + EXIT_MARGIN


def _ending(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"signal {signal.Signals(-exitcode).name}"
    return f"exit code {exitcode}"


class Supervisor(multiprocess.Multiprocess):
    """uvicorn's supervisor, whose workers are `Worker`s."""

    def run(self) -> None:
        # uvicorn makes every worker (at start, to replace one, on SIGHUP and
        # SIGTTIN) from its module's `Process` and, since 0.51, takes no other
        # class or target: ours stands in for it while the supervisor runs.
        original, multiprocess.Process = multiprocess.Process, Worker  # type: ignore[misc]
        try:
            super().run()
        finally:
            multiprocess.Process = original  # type: ignore[misc]


def run_supervisor(config: Any) -> None:
    """Serve `config.workers` Nova workers on one socket until SIGINT or SIGTERM."""
    sock = config.bind_socket()
    try:
        Supervisor(config, sockets=[sock]).run()
    finally:
        sock.close()
