"""Pub/sub, Nova's `nova_pubsub`.

    from nova_cli import pubsub

    pubsub.join("chat")                          # the calling process joins
    pubsub.broadcast("chat", "message", payload) # every member, every worker
    # members receive ("nova_pubsub", "chat", sender_pid, "message", payload)
    # in websocket_info

Plain functions, callable from sync or async code, from WebSocket callbacks,
controllers and background tasks.  Channels are hashable values (Nova uses
atoms; strings here).  Delivery is at-most-once, ordered per sender and
receiver; the sender receives its own broadcast when it is a member.
Channels, topics and payloads must be able to cross between workers
(`nova_cli.terms`), with every backend: what cannot is a `TypeError` at the call.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
from collections.abc import Callable, Hashable
from contextvars import ContextVar, Token
from typing import Any

from nova_cli import DISTRIBUTION, process, terms
from nova_cli.process import Pid
from nova_cli.pubsub._hub import Hub, payload_size
from nova_cli.pubsub._tracker import Tracker
from nova_cli.pubsub.backends.base import Backend
from nova_cli.pubsub.backends.memory import MemoryBackend
from nova_cli.terms import SCALARS

__all__ = [
    "join",
    "leave",
    "broadcast",
    "local_broadcast",
    "get_members",
    "get_local_members",
    "PubSub",
]

# Backends by URL scheme, imported only when chosen.
BACKENDS = {
    "memory": "nova_cli.pubsub.backends.memory:MemoryBackend",
    "redis": "nova_cli.pubsub.backends.redis:RedisBackend",
    "rediss": "nova_cli.pubsub.backends.redis:RedisBackend",
}


class PubSub:
    """The pub/sub of one app: its members on this worker (the hub), its
    presence (`nova_cli.presence`) and its backend.

    Each app made by `create_app` has its own, so that two apps in one
    process never share channels.  The module's functions act on the
    current one (`current()`).
    """

    def __init__(
        self, backend: Callable[..., Backend] = MemoryBackend, url: str | None = None
    ) -> None:
        self.hub = Hub()
        self.presence = Tracker(self.hub)
        self.backend: Backend = backend(self.hub, url) if url else backend(self.hub)
        self.backend.attach(self.presence)

    @classmethod
    def from_url(cls, url: str | None) -> PubSub:
        """The pub/sub for `[tool.nova] pubsub` / `NOVA_PUBSUB_URL` (None: in memory).

        An unknown scheme is a `ValueError` naming it, raised before anything
        is served, never a silent fall-back to memory.
        """
        scheme = (url or "memory").split("://", 1)[0].lower()
        target = BACKENDS.get(scheme)
        if target is None:
            raise ValueError(
                f"pubsub = {url!r}: no pub/sub backend for {scheme!r} in this nova_cli "
                f"(available: {', '.join(sorted(BACKENDS))})"
            )
        if scheme.startswith("redis") and importlib.util.find_spec("redis") is None:
            raise ValueError(
                f"pubsub = {url!r} needs the Redis client: pip install '{DISTRIBUTION}[redis]'"
            )
        module_name, _, class_name = target.partition(":")
        return cls(getattr(importlib.import_module(module_name), class_name), url)

    def join(self, channel: Hashable, pid: Pid) -> None:
        proc = process.lookup(pid)
        if proc is None:
            raise RuntimeError(
                f"{pid} cannot join {channel!r}: it is not a live process of this worker; "
                "join from a WebSocket callback (init, websocket_init, websocket_handle, "
                "websocket_info) or pass the pid of a connection"
            )
        terms.check(channel, "pubsub.join channel")
        self.hub.join(channel, pid)
        self.backend.joined(channel, pid)
        # Registered after the join: if the process exited meanwhile (a join from
        # a thread racing its exit), the hook runs at once and takes the join back.
        proc.on_exit(self._exited)

    def _exited(self, pid: Pid) -> None:
        if self.hub.leave_all(pid):
            self.backend.exited(pid)

    def leave(self, channel: Hashable, pid: Pid) -> bool:
        left = self.hub.leave(channel, pid)
        if left:
            self.backend.left(channel, pid)
        return left


_current: ContextVar[PubSub | None] = ContextVar("nova_pubsub", default=None)
_default = PubSub()  # outside any app
_latest: PubSub | None = None  # the app whose lifespan started last


def current() -> PubSub:
    """The pub/sub of the app the calling code runs in.

    Requests, WebSocket callbacks and the lifespan run with their app's own
    (and so do tasks and threads they start through asyncio or Starlette,
    which copy the context).  Code outside any app's context, such as a
    thread started by hand, gets the app whose lifespan started last; with
    no app at all, an in-memory pub/sub of its own.
    """
    return _current.get() or _latest or _default


def activate(pubsub: PubSub) -> Token[PubSub | None]:
    """Make `pubsub` current in this context; `deactivate` the token to undo it."""
    return _current.set(pubsub)


def deactivate(token: Token[PubSub | None]) -> None:
    _current.reset(token)


async def start(pubsub: PubSub) -> None:
    """Connect an app's backend (at its start-up); its app is the fall-back from now on."""
    global _latest
    pubsub.presence.start(asyncio.get_running_loop())
    await pubsub.backend.start()
    _latest = pubsub


async def stop(pubsub: PubSub) -> None:
    global _latest
    if _latest is pubsub:
        _latest = None
    await pubsub.backend.stop()


def _send_remote(pid: Pid, message: Any) -> None:
    # process.send to a pid of another node: the current app's backend carries it.
    current().backend.send_remote(pid, message)


process.remote_send = _send_remote


def join(channel: Hashable, pid: Pid | None = None) -> None:
    """Make the calling process (or `pid`, a local process) a member of `channel`."""
    current().join(channel, pid or process.self())


def leave(channel: Hashable, pid: Pid | None = None) -> bool:
    """Remove one membership of the calling process (or `pid`); False if it had none."""
    return current().leave(channel, pid or process.self())


def broadcast(channel: Hashable, topic: Any, payload: Any) -> None:
    """Send `("nova_pubsub", channel, sender, topic, payload)` to every member on every worker."""
    if not (type(payload) in SCALARS and type(topic) in SCALARS and type(channel) in SCALARS):
        _check(channel, topic, payload, _BROADCAST)  # the usual broadcast skips the call
    envelope = ("nova_pubsub", channel, process.self(), topic, payload)
    current().backend.publish(channel, envelope, payload_size(payload))


def local_broadcast(channel: Hashable, topic: Any, payload: Any) -> None:
    """Like `broadcast`, but only to the members on this worker."""
    if not (type(payload) in SCALARS and type(topic) in SCALARS and type(channel) in SCALARS):
        _check(channel, topic, payload, _LOCAL_BROADCAST)
    envelope = ("nova_pubsub", channel, process.self(), topic, payload)
    current().hub.deliver(channel, envelope, payload_size(payload))


# What the checks call each part, made once: a broadcast's check must cost next to nothing.
_BROADCAST = tuple(f"pubsub.broadcast {part}" for part in ("channel", "topic", "payload"))
_LOCAL_BROADCAST = tuple(
    f"pubsub.local_broadcast {part}" for part in ("channel", "topic", "payload")
)


def _check(channel: Hashable, topic: Any, payload: Any, names: tuple[str, ...]) -> None:
    # With every backend, memory included: an app must not work on one
    # worker and break once its workers share Redis.
    terms.check(channel, names[0])
    terms.check(topic, names[1])
    terms.check(payload, names[2])


def get_members(channel: Hashable) -> list[Pid]:
    """The pids in `channel` on every worker (a pid joined twice is listed twice)."""
    return current().backend.members(channel)


def get_local_members(channel: Hashable) -> list[Pid]:
    """The pids in `channel` on this worker."""
    return current().hub.members(channel)
