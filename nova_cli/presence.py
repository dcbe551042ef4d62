"""Presence, Phoenix.Presence's idea: who is in a channel, on every worker and machine.

    from nova_cli import presence, pubsub

    def init(state):
        pubsub.join("room:lobby")                        # to receive the diffs
        presence.track("room:lobby", "alice", {"device": "phone"})
        return ("ok", state)

    presence.list("room:lobby")   # {"alice": [{"device": "phone", "nova_ref": "..."}]}

The pub/sub members of the channel receive, at most every
`presence_interval` seconds (0.05 by default), one diff of what changed:

    ("nova_presence", channel, {"joins": {key: [meta, ...]}, "leaves": {key: [meta, ...]}})

A process's entries are removed when it exits, and a worker's when it shuts
down or goes silent (the pub/sub backend's heartbeats).  Every listed meta
carries a `nova_ref`, the same for one entry across its updates: remove the
leaves by it, then add the joins.  Keys and metas must be able to cross
between workers (`nova_cli.terms`), as broadcasts must.
"""

from __future__ import annotations

import builtins
from collections.abc import Hashable
from typing import Any

from nova_cli import process, pubsub, terms
from nova_cli.process import Pid
from nova_cli.pubsub._tracker import REF

__all__ = ["track", "update", "untrack", "list", "REF"]


def track(
    channel: Hashable, key: Hashable, meta: dict[str, Any] | None = None, pid: Pid | None = None
) -> None:
    """Track the calling process (or `pid`, a local process) in `channel` under `key`.

    One key (a user name) may have several processes (their tabs), each with
    its own meta; one process tracks a key once per channel (`ValueError`
    otherwise: `update` it).  The entry goes when the process exits.
    """
    pid = pid or process.self()
    proc = process.lookup(pid)
    if proc is None:
        raise RuntimeError(
            f"{pid} cannot be tracked in {channel!r}: it is not a live process of this worker; "
            "track from a WebSocket callback or pass the pid of a connection"
        )
    meta = _checked(channel, key, meta, "track")
    tracker = pubsub.current().presence
    tracker.track(channel, key, meta, pid)
    proc.on_exit(tracker.exited)


def update(channel: Hashable, key: Hashable, meta: dict[str, Any], pid: Pid | None = None) -> None:
    """Replace the meta the calling process (or `pid`) tracks under `key` in `channel`."""
    meta = _checked(channel, key, meta, "update")
    pubsub.current().presence.update(channel, key, meta, pid or process.self())


def untrack(channel: Hashable, key: Hashable, pid: Pid | None = None) -> bool:
    """Stop tracking the calling process (or `pid`) under `key`; False if it was not."""
    return pubsub.current().presence.untrack(channel, key, pid or process.self())


def list(channel: Hashable) -> dict[Hashable, builtins.list[dict[str, Any]]]:
    """Who is in `channel`, on every worker: `{key: [meta, ...]}`, a meta per process."""
    return pubsub.current().presence.list(channel)


def _checked(channel: Hashable, key: Hashable, meta: Any, call: str) -> dict[str, Any]:
    # With every backend, memory included: what works on one worker works on Redis.
    if meta is None:
        meta = {}
    if type(meta) is not dict:
        raise TypeError(f"presence.{call} meta must be a dict, not {type(meta).__name__}")
    if REF in meta:
        raise ValueError(f"presence.{call} meta may not hold {REF!r}: presence sets it")
    terms.check(channel, f"presence.{call} channel")
    terms.check(key, f"presence.{call} key")
    terms.check(meta, f"presence.{call} meta")
    return meta
