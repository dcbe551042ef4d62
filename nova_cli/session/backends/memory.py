"""Sessions in this process's memory: the default, for one worker.

Records live in a dict ordered by their last save.  Each save also looks at
the few oldest records and drops those whose time is up, so memory holds
the sessions saved within the last idle timeout (plus a handful), never
every session ever made, without a timer or a full scan.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from nova_cli.session.backends.base import SessionBackend

SWEEP = 10  # oldest records looked at per save: dead ones go faster than new ones come


class MemoryBackend(SessionBackend):
    """A dict of `sid -> (deadline, record)`, swept a little on every save."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.records: dict[str, tuple[float, dict[str, Any]]] = {}

    local = True

    async def load(self, sid: str) -> dict[str, Any] | None:
        return self.get(sid)

    def get(self, sid: str) -> dict[str, Any] | None:
        found = self.records.get(sid)
        if found is None:
            return None
        deadline, record = found
        if deadline <= self.clock():
            del self.records[sid]
            return None
        return record

    async def save(self, sid: str, record: dict[str, Any], ttl: float) -> None:
        # Popped and put back, so that the dict stays ordered by last save.
        self.records.pop(sid, None)
        self.records[sid] = (self.clock() + ttl, record)
        self.sweep()

    async def delete(self, sid: str) -> None:
        self.records.pop(sid, None)

    def sweep(self) -> None:
        """Drop the expired records among the oldest `SWEEP`; stop at the first live one."""
        now = self.clock()
        for _ in range(SWEEP):
            oldest = next(iter(self.records), None)
            if oldest is None or self.records[oldest][0] > now:
                return
            del self.records[oldest]
