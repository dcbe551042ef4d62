"""The in-memory backend: one worker, nothing to carry."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from nova_cli.process import Pid
from nova_cli.pubsub._hub import Hub
from nova_cli.pubsub.backends.base import Backend


class MemoryBackend(Backend):
    """Broadcasts and membership stay inside this worker."""

    def __init__(self, hub: Hub, url: str | None = None) -> None:
        super().__init__(hub)

    def publish(self, channel: Hashable, envelope: tuple[Any, ...], size: int) -> None:
        self.hub.deliver(channel, envelope, size)

    def members(self, channel: Hashable) -> list[Pid]:
        return self.hub.members(channel)
