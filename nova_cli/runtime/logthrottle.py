"""A log line at most once per interval, for events an attacker can repeat at will.

A flood of bad requests (or a process out of file descriptors, where every
connection attempt fails the same way) would otherwise write a line per
event and turn the log into the next thing to fill up.  The lines that are
held back are counted and the count goes out with the next line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any


class ThrottledLog:
    """Log through `logger` at most once every `interval` seconds."""

    def __init__(
        self,
        logger: logging.Logger,
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval = interval
        self.clock = clock
        self._last = -interval
        self._held = 0

    def log(self, level: int, message: str, *args: Any) -> bool:
        """Log `message % args` unless a line went out less than `interval` ago.

        Returns whether the line was written.
        """
        now = self.clock()
        if now - self._last < self.interval:
            self._held += 1
            return False
        if self._held:
            message += " (and %d more like it in the last %.0f s)"
            args = (*args, self._held, now - self._last)
        self._last, self._held = now, 0
        self.logger.log(level, message, *args)
        return True
