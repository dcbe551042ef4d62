"""The sessions of one app: which backend, which cookie, how long; load before, save after.

The dispatcher calls `load(req)` once before the plugins, security and
controller run (so that sync code in the thread pool reads the session
without awaiting anything), and `commit(req)` once after, which saves what
changed and sets or resets the cookie through `req.set_cookie`.

- The cookie is set only when a session is first written: a request that
  reads nothing, or reads an empty session, leaves no cookie behind.
- An id the store does not know (never issued, expired, deleted, rotated
  away) is never adopted: writing then makes a new id.
- A session expires `idle` seconds after its last use and `absolute`
  seconds after it was made, whichever comes first, checked here on every
  load and enforced by the backend's own expiry.
- A request that only reads refreshes the idle deadline at most every
  `refresh` seconds, so that reads do not write to the backend each time.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from nova_cli import terms
from nova_cli.core.config import NovaConfig
from nova_cli.session._session import Session, copy_term
from nova_cli.session.backends.base import SessionBackend
from nova_cli.session.backends.memory import MemoryBackend

REFRESH = 60.0  # seconds: the most often a read-only request refreshes the idle deadline
ID_LENGTH = 43  # of secrets.token_urlsafe(32): the cookie's pattern allows only its characters


class SessionStore:
    """An app's sessions: a backend, the cookie's name and flags, and the timeouts."""

    def __init__(
        self,
        backend: SessionBackend | None = None,
        *,
        cookie: str = "session_id",
        secure: bool = True,
        idle: float = 86400.0,
        absolute: float = 1209600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.backend = backend if backend is not None else MemoryBackend(clock)
        self.cookie = cookie
        self.secure = secure
        self.idle = idle
        self.absolute = absolute
        self.clock = clock
        # The cookie read straight from the request's head: cheaper than
        # parsing every cookie of it, on every request of the app.
        name = re.escape(cookie.encode("latin-1"))
        self._find = re.compile(rb"(?:^|;)\s*" + name + rb'="?([A-Za-z0-9_-]*)').search
        # A quarter of a short idle timeout, so that a session in use is never
        # more than a quarter short of it.
        self.refresh = min(REFRESH, idle / 4)

    @classmethod
    def from_config(cls, config: NovaConfig) -> SessionStore:
        """The store the settings ask for; a ValueError names a setting that cannot work."""
        backend: SessionBackend
        if config.sessions_in == "redis":
            url = config.pubsub or ""
            if not url.lower().startswith(("redis:", "rediss:")):
                raise ValueError(
                    'session_backend = "redis" keeps sessions in the Redis of pub/sub: '
                    'set pubsub = "redis://…" in [tool.nova] (or NOVA_PUBSUB_URL)'
                )
            from nova_cli.session.backends.redis import RedisBackend

            backend = RedisBackend(url)
        else:
            backend = MemoryBackend()
        return cls(
            backend,
            cookie=config.session_cookie,
            secure=config.secure_cookies,
            idle=config.session_idle_timeout,
            absolute=config.session_absolute_timeout,
        )

    async def start(self) -> None:
        await self.backend.start()

    async def stop(self) -> None:
        await self.backend.stop()

    def load(self, req: Any) -> Awaitable[None] | None:
        """Attach this store to `req`, and the session its cookie names, if it has a live one.

        Returns an awaitable to finish the load when the backend must be asked
        over the network (Redis), None when it is done: a request, with or
        without a session in memory, then costs no coroutine here.  The
        awaitable raises `SessionUnavailable` when the backend does not answer.
        """
        req.sessions = self
        sid = self._cookie(req.scope["headers"])
        if sid is None:
            return None  # `req.session` makes an empty one if the request asks for it
        if len(sid) != ID_LENGTH:
            req._session = Session()
            return None
        if self.backend.local:
            self._attach(req, sid, self.backend.get(sid))
            return None
        return self._load_remote(req, sid)

    async def _load_remote(self, req: Any, sid: str) -> None:
        self._attach(req, sid, await self.backend.load(sid))

    def _attach(self, req: Any, sid: str, record: Any) -> None:
        session = self._live(sid, record)
        # The client's cookie names nothing alive: an empty session, which a
        # write gives a new id (the id a client brings is never adopted).
        req._session = session if session is not None else Session()

    def _cookie(self, headers: list[tuple[bytes, bytes]]) -> str | None:
        for key, value in headers:
            if key == b"cookie":
                found = self._find(value)
                if found is not None:
                    return found.group(1).decode("ascii")
        return None

    def _live(self, sid: str, record: Any) -> Session | None:
        try:
            data, created, seen = record["data"], float(record["created"]), float(record["seen"])
        except (TypeError, KeyError, ValueError):
            return None  # not a record of ours
        now = self.clock()
        if type(data) is not dict or now >= created + self.absolute or now >= seen + self.idle:
            return None
        return Session(sid, data, created, seen)

    def commit(self, req: Any) -> Awaitable[None] | None:
        """Save what the request changed, refresh or forget the session, set the cookie.

        Returns an awaitable when there is something to save or delete, None
        when there is nothing to do (no session, or one only read, its idle
        deadline refreshed recently).  The awaitable raises `SessionUnavailable`
        when the backend does not answer, and `TypeError` when the data holds
        a value that cannot be stored.
        """
        session: Session | None = req._session
        if session is None:
            return None
        now = self.clock()
        if session.discard or session.destroyed:
            return self._save_changes(req, session, now)
        if session.id is None:
            return (
                self._save_changes(req, session, now) if session.data or session.rotated else None
            )
        if session.changed or now - (session.seen or 0.0) >= self.refresh:
            return self._save_changes(req, session, now)
        return None

    async def _save_changes(self, req: Any, session: Session, now: float) -> None:
        if session.id is None:
            if session.data or session.rotated:
                await self._save_new(req, session, now)
            elif session.destroyed:
                req.delete_cookie(self.cookie)
        elif session.changed or now - (session.seen or 0.0) >= self.refresh:
            await self._save(session.id, session, now)
        for old in session.discard:
            await self.backend.delete(old)

    async def _save_new(self, req: Any, session: Session, now: float) -> None:
        sid = secrets.token_urlsafe(32)
        if session.created is None:
            session.created = now  # a rotated session keeps its birth: rotating never extends it
        if await self._save(sid, session, now):
            left = session.created + self.absolute - now
            req.set_cookie(
                self.cookie,
                sid,
                max_age=math.ceil(left),
                path="/",
                secure=self.secure,
                httponly=True,
                samesite="lax",
            )

    async def _save(self, sid: str, session: Session, now: float) -> bool:
        created = session.created if session.created is not None else now
        ttl = min(self.idle, created + self.absolute - now)
        if ttl <= 0:
            return False  # past its absolute deadline during this request: nothing to keep
        terms.check(session.data, "session")  # the same values in memory as in Redis
        record = {"data": copy_term(session.data), "created": created, "seen": now}
        await self.backend.save(sid, record, ttl)
        session.id, session.created, session.seen = sid, created, now
        return True
