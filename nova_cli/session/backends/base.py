"""What a session backend does: keep one record per session id, for a while."""

from __future__ import annotations

from typing import Any

from nova_cli.core.httperror import HTTPError


class SessionUnavailable(HTTPError):
    """The backend did not answer: the request gets 503, and may be retried in a second."""

    def __init__(self, reason: str) -> None:
        super().__init__(503, reason, {"retry-after": "1"})


class SessionBackend:
    """Records by session id, each kept `ttl` seconds after its last save.

    A record is a dict of values `nova_cli.terms` allows.  Every method is
    bounded in time: a backend that cannot answer raises `SessionUnavailable`.
    """

    shared = False  # whether the workers of a server (and other machines) see the same records
    local = False  # whether `get` answers at once, without I/O (the store then skips a coroutine)

    def get(self, sid: str) -> dict[str, Any] | None:
        """`load` without awaiting, for a backend whose records are in this process."""
        raise NotImplementedError

    async def start(self) -> None:
        """Connect, at the app's start-up."""

    async def stop(self) -> None:
        """Disconnect, at the app's shutdown."""

    async def load(self, sid: str) -> dict[str, Any] | None:
        """The record of `sid`, or None when there is none (never saved, expired, deleted)."""
        raise NotImplementedError

    async def save(self, sid: str, record: dict[str, Any], ttl: float) -> None:
        """Keep `record` under `sid` for `ttl` seconds (replacing what was there)."""
        raise NotImplementedError

    async def delete(self, sid: str) -> None:
        """Forget `sid` (nothing happens when it is unknown)."""
        raise NotImplementedError
