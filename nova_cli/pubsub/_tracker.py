"""Presence: who is tracked in which channel, on every node, and the diffs members receive.

The table holds, per node, `{channel: {(pid, key): meta}}`.  A node writes
only its own part (its processes' `track`, `update`, `untrack`, and their
exits); the other nodes' parts come from the backend: their changes, their
full tables (a sync, when one of them is new or messages were lost), and
their removal when they go silent or shut down.  Every change, whoever made
it, marks the entry as touched; a flush, at most every `interval` seconds,
compares each touched entry with what it was at the previous flush and
delivers one diff per channel to the channel's pub/sub members on this node:

    ("nova_presence", channel, {"joins": {key: [meta, ...]}, "leaves": {key: [meta, ...]}})

Comparing the states at two flushes, rather than replaying the changes in
between, keeps diffs small and unambiguous: an entry tracked and untracked
within one interval is in neither, an update is a leave of the old meta and
a join of the new one, and a receiver always removes the leaves, then adds
the joins.  The same flush hands this node's own changes (their final
states) to the backend in one message.
"""

from __future__ import annotations

import asyncio
import builtins
import threading
from collections.abc import Callable, Hashable
from typing import Any

from nova_cli import process
from nova_cli.pid import Pid
from nova_cli.pubsub._hub import Hub

INTERVAL = 0.05  # seconds between two diffs of a channel, at most (`presence_interval`)
REF = "nova_ref"  # the key, in every listed meta, that tells one tracked entry from another

Ident = tuple[Pid, Hashable]  # one tracked entry of a channel: (process, key)
Table = dict[Hashable, dict[Ident, dict[str, Any]]]  # channel: {(pid, key): meta}
# One entry on the wire: [channel, pid, key, meta]; meta None when untracked.
Change = builtins.list[Any]


def ref(pid: Pid) -> str:
    """The `nova_ref` of what `pid` tracks: unique per key and channel."""
    return pid.encode()


class Tracker:
    """The presence of one app: every node's entries, and the diffs not flushed yet."""

    def __init__(self, hub: Hub, interval: float = INTERVAL) -> None:
        self.hub = hub
        self.interval = interval
        # Set by the backend: hands this node's changes (then its full table) to the others.
        self.publish: Callable[[builtins.list[Change]], None] = lambda changes: None
        self._lock = threading.Lock()
        self._nodes: dict[str, Table] = {}
        self._tracked: dict[Pid, set[tuple[Hashable, Hashable]]] = {}  # (channel, key) per pid
        self._before: dict[Hashable, dict[Ident, dict[str, Any] | None]] = {}
        self._outgoing: dict[Hashable, set[Ident]] = {}
        self._scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Flush on `loop` (the app's, from its start-up) from now on."""
        self._loop = loop

    # -- this node's entries ----------------------------------------------
    def track(self, channel: Hashable, key: Hashable, meta: dict[str, Any], pid: Pid) -> None:
        """Add `pid`'s entry under `key`; a `ValueError` if it already has one."""
        with self._lock:
            if (channel, key) in self._tracked.get(pid, ()):
                raise ValueError(
                    f"{pid} already tracks {key!r} in {channel!r}; "
                    "use presence.update to change its meta"
                )
            self._tracked.setdefault(pid, set()).add((channel, key))
            self._set_local(channel, (pid, key), {**meta, REF: ref(pid)})

    def update(self, channel: Hashable, key: Hashable, meta: dict[str, Any], pid: Pid) -> None:
        """Replace the meta of `pid`'s entry; a `ValueError` if it has none."""
        with self._lock:
            if (channel, key) not in self._tracked.get(pid, ()):
                raise ValueError(f"{pid} does not track {key!r} in {channel!r}; track it first")
            self._set_local(channel, (pid, key), {**meta, REF: ref(pid)})

    def untrack(self, channel: Hashable, key: Hashable, pid: Pid) -> bool:
        """Remove `pid`'s entry under `key`; False when there was none."""
        with self._lock:
            keys = self._tracked.get(pid)
            if keys is None or (channel, key) not in keys:
                return False
            keys.discard((channel, key))
            if not keys:
                del self._tracked[pid]
            self._set_local(channel, (pid, key), None)
        return True

    def exited(self, pid: Pid) -> None:
        """`pid` ended: remove everything it tracked (an exit hook)."""
        with self._lock:
            for channel, key in self._tracked.pop(pid, set()):
                self._set_local(channel, (pid, key), None)

    def _set_local(self, channel: Hashable, ident: Ident, meta: dict[str, Any] | None) -> None:
        self._set(process.node(), channel, ident, meta)
        self._outgoing.setdefault(channel, set()).add(ident)
        self._schedule()

    def local_table(self) -> builtins.list[Change]:
        """This node's entries, for a sync."""
        with self._lock:
            table = self._nodes.get(process.node(), {})
            return [
                [channel, pid, key, meta]
                for channel, entries in table.items()
                for (pid, key), meta in entries.items()
            ]

    # -- the other nodes' entries ----------------------------------------
    def apply(self, node: str, changes: builtins.list[Change]) -> None:
        """`node`'s changes: each entry's meta, or None when it was untracked."""
        with self._lock:
            for channel, pid, key, meta in changes:
                if pid.node == node:  # a node speaks for its own processes only
                    self._set(node, channel, (pid, key), meta)
            self._schedule()

    def replace(self, node: str, entries: builtins.list[Change]) -> None:
        """`node`'s full table (its sync): what it no longer has leaves."""
        with self._lock:
            for channel, old in builtins.list(self._nodes.get(node, {}).items()):
                for ident in builtins.list(old):
                    self._set(node, channel, ident, None)
            for channel, pid, key, meta in entries:
                if pid.node == node:
                    self._set(node, channel, (pid, key), meta)
            self._schedule()

    def drop(self, node: str) -> None:
        """`node` went silent or shut down: its entries leave."""
        self.replace(node, [])

    # -- reading ----------------------------------------------------------
    def list(self, channel: Hashable) -> dict[Hashable, builtins.list[dict[str, Any]]]:
        """`{key: [meta, ...]}` of `channel` on every node."""
        listed: dict[Hashable, builtins.list[dict[str, Any]]] = {}
        with self._lock:
            for table in self._nodes.values():
                for (_pid, key), meta in table.get(channel, {}).items():
                    listed.setdefault(key, []).append(meta)
        return listed

    # -- diffs ------------------------------------------------------------
    def _set(self, node: str, channel: Hashable, ident: Ident, meta: dict[str, Any] | None) -> None:
        # Under the lock.  The first change of an entry since the last flush keeps
        # what it was, so that the flush can tell what changed in between.
        entries = self._nodes.setdefault(node, {}).setdefault(channel, {})
        before = self._before.setdefault(channel, {})
        if ident not in before:
            before[ident] = entries.get(ident)
        if meta is None:
            entries.pop(ident, None)
            if not entries:
                del self._nodes[node][channel]
        else:
            entries[ident] = meta

    def _schedule(self) -> None:
        # Under the lock.  One flush pending at a time, on the app's loop.
        # Without a loop (its app stopped), the change waits for the next flush.
        if self._scheduled:
            return
        loop = self._loop or _caller_loop()
        if loop is None or loop.is_closed():
            return
        if _running_loop() is loop:
            loop.call_later(self.interval, self.flush)
        else:
            try:
                loop.call_soon_threadsafe(loop.call_later, self.interval, self.flush)
            except RuntimeError:  # closed meanwhile
                return
        self._scheduled = True

    def flush(self) -> None:
        """Deliver the diffs of every touched channel, and hand this node's changes on."""
        with self._lock:
            self._scheduled = False
            before, self._before = self._before, {}
            outgoing, self._outgoing = self._outgoing, {}
            diffs = {channel: self._diff(channel, entries) for channel, entries in before.items()}
            local = self._nodes.get(process.node(), {})
            changes = [
                [channel, pid, key, local.get(channel, {}).get((pid, key))]
                for channel, idents in outgoing.items()
                for pid, key in idents
            ]
        if changes:
            self.publish(changes)
        for channel, diff in diffs.items():
            if diff["joins"] or diff["leaves"]:
                self.hub.deliver(channel, ("nova_presence", channel, diff), 64)

    def _diff(
        self, channel: Hashable, before: dict[Ident, dict[str, Any] | None]
    ) -> dict[str, dict[Hashable, builtins.list[dict[str, Any]]]]:
        joins: dict[Hashable, builtins.list[dict[str, Any]]] = {}
        leaves: dict[Hashable, builtins.list[dict[str, Any]]] = {}
        for ident, old in before.items():
            pid, key = ident
            new = self._nodes.get(pid.node, {}).get(channel, {}).get(ident)
            if old == new:
                continue
            if old is not None:
                leaves.setdefault(key, []).append(old)
            if new is not None:
                joins.setdefault(key, []).append(new)
        return {"joins": joins, "leaves": leaves}


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _caller_loop() -> asyncio.AbstractEventLoop | None:
    """Without an app started: the loop of the calling process, or the running one."""
    running = _running_loop()
    if running is not None:
        return running
    proc = process.lookup(process.self())
    return proc.loop if proc is not None else None
