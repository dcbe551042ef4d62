"""The small interface every pub/sub backend implements.

A backend carries broadcasts and membership between workers.  Local fan-out
is always the hub's job: a backend hands each broadcast to `hub.deliver`
once per worker, never once per member.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable
from typing import Any

from nova_cli.process import Pid
from nova_cli.pubsub._hub import Hub
from nova_cli.pubsub._tracker import Tracker


class Backend(ABC):
    """Moves broadcasts to every worker that has members."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.presence: Tracker | None = None

    def attach(self, presence: Tracker) -> None:
        """Carry `presence` between workers: a backend that spans none keeps it local."""
        self.presence = presence

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Connect (called at application start-up)."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Disconnect (called at shutdown)."""

    @abstractmethod
    def publish(self, channel: Hashable, envelope: tuple[Any, ...], size: int) -> None:
        """Deliver `envelope` to the members of `channel` on every worker."""

    @abstractmethod
    def members(self, channel: Hashable) -> list[Pid]:
        """Members of `channel` on every worker."""

    def check(self) -> None:  # noqa: B027 - optional hook
        """Raise `ConnectionError` at once if the backend cannot work (before serving)."""

    def joined(self, channel: Hashable, pid: Pid) -> None:  # noqa: B027 - optional hook
        """A local process joined `channel` (once more)."""

    def left(self, channel: Hashable, pid: Pid) -> None:  # noqa: B027 - optional hook
        """A local process left `channel` (one of its joins)."""

    def exited(self, pid: Pid) -> None:  # noqa: B027 - optional hook
        """A local process that was a member somewhere has ended."""

    def send_remote(self, pid: Pid, message: Any) -> None:  # noqa: B027 - optional hook
        """`process.send` to a pid of another node; a backend that spans none drops it."""
