"""An app's open WebSocket connections, and closing them all within one budget.

The server's shutdown (`NovaServer.shutdown`) and the app's lifespan find
the app's `Connections` in its lifespan state, under `CONNECTIONS_KEY`: each
app has its own, so that shutting one down never touches another's sockets.
"""

from __future__ import annotations

import asyncio
import logging

from nova_cli.runtime.connection import Connection, Stop
from nova_cli.runtime.frames import GOING_AWAY

log = logging.getLogger("nova_cli.websocket")

# Where an app's lifespan state holds its Connections, for the server's shutdown.
CONNECTIONS_KEY = "nova.connections"


class Connections:
    """The open WebSocket connections of one app: what its shutdown closes."""

    def __init__(self) -> None:
        self._open: set[Connection] = set()

    def add(self, conn: Connection) -> None:
        self._open.add(conn)

    def discard(self, conn: Connection) -> None:
        self._open.discard(conn)

    def __len__(self) -> int:
        return len(self._open)

    async def close_all(self, code: int = GOING_AWAY, budget: float = 10.0) -> None:
        """Close every connection of this event loop with `code`, within `budget` seconds.

        Each connection is asked to stop after its current callback; those
        still running at half the budget are cancelled, so that their close
        frame and `terminate` fit in the other half.  Connections that are
        still not done when the budget is spent are logged by count.
        """
        loop = asyncio.get_running_loop()
        tasks = {c._task: c for c in list(self._open) if c.loop is loop and c._task is not None}
        if not tasks:
            return
        deadline = loop.time() + budget
        for conn in tasks.values():
            conn.close_deadline = deadline
            conn.stop_with(Stop("shutdown", code, "server shutdown"))
        _, pending = await asyncio.wait(tasks, timeout=budget / 2)
        for task in pending:
            tasks[task].force_stop()
        if pending:
            _, pending = await asyncio.wait(pending, timeout=max(0.0, deadline - loop.time()))
        if pending:
            log.warning(
                "%d WebSocket connections did not finish closing within the %.1f s shutdown budget",
                len(pending),
                budget,
            )
