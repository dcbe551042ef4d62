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

import importlib
import importlib.util
from collections.abc import Hashable
from typing import Any

from nova_cli import DISTRIBUTION, process, terms
from nova_cli.process import Pid
from nova_cli.pubsub._hub import Hub, payload_size
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
]

hub = Hub()
backend: Backend = MemoryBackend(hub)

# Backends by URL scheme, imported only when chosen.
BACKENDS = {
    "memory": "nova_cli.pubsub.backends.memory:MemoryBackend",
    "redis": "nova_cli.pubsub.backends.redis:RedisBackend",
    "rediss": "nova_cli.pubsub.backends.redis:RedisBackend",
}


def configure(url: str | None) -> Backend:
    """Choose the backend for `[tool.nova] pubsub` / `NOVA_PUBSUB_URL` (None: in memory).

    An unknown scheme is a `ValueError` naming it, raised before anything is
    served, never a silent fall-back to memory.
    """
    global backend
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
    cls = getattr(importlib.import_module(module_name), class_name)
    backend = cls(hub, url) if url else cls(hub)
    return backend


def join(channel: Hashable, pid: Pid | None = None) -> None:
    """Make the calling process (or `pid`, a local process) a member of `channel`."""
    pid = pid or process.self()
    proc = process.lookup(pid)
    if proc is None:
        raise RuntimeError(
            f"{pid} cannot join {channel!r}: it is not a live process of this worker; "
            "join from a WebSocket callback (init, websocket_init, websocket_handle, "
            "websocket_info) or pass the pid of a connection"
        )
    terms.check(channel, "pubsub.join channel")
    hub.join(channel, pid)
    backend.joined(channel, pid)
    # Registered after the join: if the process exited meanwhile (a join from
    # a thread racing its exit), the hook runs at once and takes the join back.
    proc.on_exit(_exited)


def _exited(pid: Pid) -> None:
    if hub.leave_all(pid):
        backend.exited(pid)


def leave(channel: Hashable, pid: Pid | None = None) -> bool:
    """Remove one membership of the calling process (or `pid`); False if it had none."""
    pid = pid or process.self()
    left = hub.leave(channel, pid)
    if left:
        backend.left(channel, pid)
    return left


def broadcast(channel: Hashable, topic: Any, payload: Any) -> None:
    """Send `("nova_pubsub", channel, sender, topic, payload)` to every member on every worker."""
    if not (type(payload) in SCALARS and type(topic) in SCALARS and type(channel) in SCALARS):
        _check(channel, topic, payload, _BROADCAST)  # the usual broadcast skips the call
    envelope = ("nova_pubsub", channel, process.self(), topic, payload)
    backend.publish(channel, envelope, payload_size(payload))


def local_broadcast(channel: Hashable, topic: Any, payload: Any) -> None:
    """Like `broadcast`, but only to the members on this worker."""
    if not (type(payload) in SCALARS and type(topic) in SCALARS and type(channel) in SCALARS):
        _check(channel, topic, payload, _LOCAL_BROADCAST)
    envelope = ("nova_pubsub", channel, process.self(), topic, payload)
    hub.deliver(channel, envelope, payload_size(payload))


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
    return backend.members(channel)


def get_local_members(channel: Hashable) -> list[Pid]:
    """The pids in `channel` on this worker."""
    return hub.members(channel)
