"""Local membership and fan-out: which processes of this worker are in which channel.

Membership follows Erlang's `pg`: a process that joins twice is listed twice
and receives each broadcast twice; `leave` removes one join.  A process that
exits leaves every channel at once (the pubsub module's exit hook), so no
member is ever stale.
The tables are guarded by a lock because `join` and `broadcast` may be called
from the thread pool; delivery itself is `Process.deliver`, which hops to the
process's own loop.

A broadcast iterates a channel's snapshot: a tuple of its members, built at
the first broadcast after its membership changed and kept until the next
change.  A chat of 2,000 members then costs no list of 2,000 pids per
message, and a member joining or leaving during a delivery never disturbs
the iteration (the tuple is never mutated; a change makes a new one).
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

from nova_cli import process
from nova_cli.process import Pid


def payload_size(payload: Any) -> int:
    """Roughly what a message costs a mailbox, for its byte bound."""
    if isinstance(payload, str | bytes | bytearray):
        return len(payload)
    return 64


class Hub:
    """The channels of this worker and their local members."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._members: dict[Hashable, dict[Pid, int]] = {}
        self._channels: dict[Pid, set[Hashable]] = {}
        self._snapshots: dict[Hashable, tuple[Pid, ...]] = {}  # dropped on every change

    def join(self, channel: Hashable, pid: Pid) -> bool:
        """Add one membership; True when `pid` is new to the channel."""
        with self._lock:
            members = self._members.setdefault(channel, {})
            members[pid] = members.get(pid, 0) + 1
            self._snapshots.pop(channel, None)
            self._channels.setdefault(pid, set()).add(channel)
            return members[pid] == 1

    def leave(self, channel: Hashable, pid: Pid) -> bool:
        """Remove one membership; False when `pid` was not a member."""
        with self._lock:
            members = self._members.get(channel)
            if not members or pid not in members:
                return False
            members[pid] -= 1
            self._snapshots.pop(channel, None)
            if members[pid] == 0:
                del members[pid]
                channels = self._channels.get(pid)
                if channels is not None:
                    channels.discard(channel)
                    if not channels:
                        del self._channels[pid]
            if not members:
                del self._members[channel]
            return True

    def leave_all(self, pid: Pid) -> list[Hashable]:
        """Remove `pid` from every channel (it exited); returns the channels it left."""
        with self._lock:
            channels = self._channels.pop(pid, set())
            for channel in channels:
                self._snapshots.pop(channel, None)
                members = self._members.get(channel)
                if members is not None:
                    members.pop(pid, None)
                    if not members:
                        del self._members[channel]
            return list(channels)

    def members(self, channel: Hashable) -> list[Pid]:
        """The local members of `channel`, a pid joined twice listed twice."""
        return list(self.snapshot(channel))

    def snapshot(self, channel: Hashable) -> tuple[Pid, ...]:
        """The members of `channel` as one tuple, the same object until membership changes."""
        with self._lock:
            snapshot = self._snapshots.get(channel)
            if snapshot is None:
                members = self._members.get(channel)
                if not members:
                    return ()
                snapshot = tuple(pid for pid, count in members.items() for _ in range(count))
                self._snapshots[channel] = snapshot
            return snapshot

    def channels(self) -> list[Hashable]:
        with self._lock:
            return list(self._members)

    def deliver(self, channel: Hashable, envelope: tuple[Any, ...], size: int) -> int:
        """Put `envelope` in every local member's mailbox; returns how many got it."""
        delivered = 0
        find = process.lookup
        for pid in self.snapshot(channel):
            proc = find(pid)
            if proc is not None:
                proc.deliver(envelope, size)
                delivered += 1
        return delivered
