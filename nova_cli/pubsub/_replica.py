"""What a node knows of the other nodes: their members, when each was last
heard, and the sequence number of the last message each sent.

Membership is replicated as Erlang's `pg` does it, so `members` is eventually
consistent.  A node dropped for silence keeps its last sequence number for a
while, so that when it is heard again the messages lost in between are known.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import NamedTuple

from nova_cli.pid import Pid

GONE_REMEMBERED = 1024  # dropped nodes whose last sequence number is kept


class Heard(NamedTuple):
    """What one message says about its origin."""

    new: bool  # a node this one did not know, or had dropped
    lost: int  # messages from it that never arrived, just before this one
    stale: bool  # already received (a resent message): ignore it


class Replica:
    """The other nodes' membership and liveness, as this node has heard it."""

    def __init__(self) -> None:
        # `members` is read from any thread; the rest only on the backend's loop.
        self._lock = threading.Lock()
        self._members: dict[str, dict[Hashable, dict[Pid, int]]] = {}
        self._seen: dict[str, float] = {}
        self._seq: dict[str, int] = {}
        self._gone: OrderedDict[str, int] = OrderedDict()

    def heard(self, node: str, seq: int, now: float) -> Heard:
        """Note a message numbered `seq` from `node`, received at `now`."""
        new = node not in self._seen
        self._seen[node] = now
        last = self._gone.pop(node, None) if new else self._seq.get(node)
        if last is not None and seq <= last:
            self._seq[node] = last
            return Heard(new, 0, True)
        self._seq[node] = seq
        return Heard(new, 0 if last is None else seq - last - 1, False)

    def join(self, node: str, channel: Hashable, pid: Pid) -> None:
        with self._lock:
            pids = self._members.setdefault(node, {}).setdefault(channel, {})
            pids[pid] = pids.get(pid, 0) + 1

    def leave(self, node: str, channel: Hashable, pid: Pid) -> None:
        with self._lock:
            channels = self._members.get(node, {})
            pids = channels.get(channel, {})
            if pids.get(pid, 0) > 1:
                pids[pid] -= 1
                return
            pids.pop(pid, None)
            if not pids:
                channels.pop(channel, None)

    def exit(self, node: str, pid: Pid) -> None:
        with self._lock:
            channels = self._members.get(node, {})
            for channel in [c for c, pids in channels.items() if pid in pids]:
                del channels[channel][pid]
                if not channels[channel]:
                    del channels[channel]

    def replace(self, node: str, table: dict[Hashable, dict[Pid, int]]) -> None:
        """`node`'s full membership, from its sync."""
        with self._lock:
            self._members[node] = table

    def members(self, channel: Hashable) -> list[Pid]:
        found: list[Pid] = []
        with self._lock:
            for channels in self._members.values():
                for pid, count in channels.get(channel, {}).items():
                    found.extend([pid] * count)
        return found

    def expire(self, now: float, silence: float) -> list[str]:
        """Drop the nodes not heard from for `silence` seconds; returns them."""
        silent = [node for node, seen in self._seen.items() if now - seen > silence]
        for node in silent:
            last = self._seq.get(node)
            self.forget(node)
            if last is not None:
                self._gone[node] = last
            if len(self._gone) > GONE_REMEMBERED:
                self._gone.popitem(last=False)
        return silent

    def forget(self, node: str) -> None:
        """Drop `node` and its members (it said it is going, or went silent)."""
        self._seen.pop(node, None)
        self._seq.pop(node, None)
        with self._lock:
            self._members.pop(node, None)
