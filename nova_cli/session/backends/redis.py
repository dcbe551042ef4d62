"""Sessions in Redis, shared by every worker and machine that uses the same Redis.

One key per session, `nova:session:<id>`, holding the record as msgpack
(`nova_cli.terms`: decoding it runs no code), with an EXPIRE at the sooner
of its idle and absolute deadlines, so Redis itself forgets dead sessions.

Every call is bounded by `TIMEOUT`: a Redis that is down or hung makes the
request a 503 within that time, never a hang.  "unreachable" is logged once
when Redis stops answering, "back" once when it answers again.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable
from typing import Any

from nova_cli import terms
from nova_cli.session.backends.base import SessionBackend, SessionUnavailable

log = logging.getLogger("nova_cli.session")

PREFIX = "nova:session:"
TIMEOUT = 2.0  # seconds for Redis to connect or answer one call


class RedisBackend(SessionBackend):
    """Session records in Redis at `url` (the pub/sub's)."""

    shared = True

    def __init__(self, url: str) -> None:
        self.url = url
        self.down = False  # logged as unreachable, not yet as back
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._connect()

    async def stop(self) -> None:
        client, self._client, self._loop = self._client, None, None
        if client is not None:
            await client.aclose()

    def _connect(self) -> Any:
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # A pooled connection to a Redis that restarted fails once: one retry
        # on a fresh connection, so that a restart is not an outage.
        self._client = aioredis.Redis.from_url(
            self.url,
            retry=Retry(NoBackoff(), 1),
            socket_timeout=TIMEOUT,
            socket_connect_timeout=TIMEOUT,
        )
        self._loop = asyncio.get_running_loop()
        return self._client

    def _current(self) -> Any:
        # The client belongs to the loop that made it; an app driven from
        # another loop (a test client without its lifespan) gets its own.
        if self._client is None or self._loop is not asyncio.get_running_loop():
            return self._connect()
        return self._client

    async def _call(self, what: str, call: Awaitable[Any]) -> Any:
        import redis

        try:
            async with asyncio.timeout(TIMEOUT):
                result = await call
        except (redis.RedisError, OSError, TimeoutError) as exc:
            if not self.down:
                self.down = True
                reason = f"{type(exc).__name__}: {exc}".rstrip(": ")
                log.error(
                    "session store: Redis at %s is unreachable (%s failed: %s); requests with a "
                    "session get 503 until it answers",
                    self.url,
                    what,
                    reason,
                )
            raise SessionUnavailable(f"session store unavailable ({what})") from None
        if self.down:
            self.down = False
            log.warning("session store: Redis at %s is back", self.url)
        return result

    async def load(self, sid: str) -> dict[str, Any] | None:
        data = await self._call("GET", self._current().get(PREFIX + sid))
        if data is None:
            return None
        try:
            record = terms.decode(data)
        except ValueError:
            log.warning("session store: ignoring a record that is not a session")
            return None
        return record if isinstance(record, dict) else None

    async def save(self, sid: str, record: dict[str, Any], ttl: float) -> None:
        expire_ms = max(1, math.ceil(ttl * 1000))
        await self._call(
            "SET", self._current().set(PREFIX + sid, terms.encode(record), px=expire_ms)
        )

    async def delete(self, sid: str) -> None:
        await self._call("DEL", self._current().delete(PREFIX + sid))
