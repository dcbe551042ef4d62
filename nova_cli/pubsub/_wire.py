"""The messages pub/sub nodes exchange through a shared broker, and their format.

Every message is one encoded list (`nova_cli.terms`):

    [VERSION, origin node, kind, sequence number, *fields]

The origin comes first after the version, so that a node recognises its own
messages, which come back to it, by their first bytes (`own_prefix`) without
decoding them.  The sequence number counts, from 1, every message the origin
has published, so a receiver that sees a gap knows how many it lost.  A message
of another version, of an unknown kind, or with the wrong fields is refused
with `Malformed`, whose `category` lets the receiver log each kind of
problem once.
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable
from typing import Any, NamedTuple

from nova_cli import terms
from nova_cli.pid import Pid

VERSION = 1

# kind: its fields
HEARTBEAT = "heartbeat"  # -: the origin is alive
BROADCAST = "broadcast"  # channel, envelope: for the channel's members
SEND = "send"  # pid, message: `process.send` to a pid of another node
JOIN = "join"  # channel, pid: a process joined the channel (once more)
LEAVE = "leave"  # channel, pid: it left (one of its joins)
EXIT = "exit"  # pid: a member ended, leaving all its channels
SYNC = "sync"  # {channel: {pid: joins}}: the origin's full membership
SYNC_REQUEST = "sync_request"  # node or None: that node (None: every node) sends a sync
DOWN = "down"  # -: the origin is shutting down
PRESENCE = "presence"  # [[channel, pid, key, meta or None], ...]: the origin's presence changes
PRESENCE_SYNC = "presence_sync"  # [[channel, pid, key, meta], ...]: its full presence


class Malformed(ValueError):
    """A message this node does not understand; `category` is the kind of problem."""

    def __init__(self, category: str, detail: str) -> None:
        super().__init__(detail)
        self.category = category


class Message(NamedTuple):
    kind: str
    origin: str
    seq: int
    fields: list[Any]


def pack(kind: str, origin: str, seq: int, *fields: Any) -> bytes:
    """The bytes of one message."""
    return terms.encode([VERSION, origin, kind, seq, *fields])


def own_prefix(node: str) -> bytes:
    """The bytes after the array header of every message from `node` (its
    header is one byte: a message has fewer than 16 items)."""
    return terms.encode([VERSION, node])[1:]


def parse(data: bytes) -> Message:
    """The message in `data`, its fields checked; `Malformed` if it is not one."""
    try:
        value = terms.decode(data)
    except ValueError as exc:
        raise Malformed("undecodable", str(exc)) from None
    if type(value) is not list or len(value) < 4:
        raise Malformed("undecodable", f"not a nova pub/sub message: {reprlib.repr(value)}")
    version, origin, kind, seq, *fields = value
    if version != VERSION:
        raise Malformed(
            "version", f"wire format version {reprlib.repr(version)} (this node speaks {VERSION})"
        )
    valid = _FIELDS.get(kind) if type(kind) is str else None
    if valid is None:
        raise Malformed("kind", f"unknown message kind {reprlib.repr(kind)}")
    if type(origin) is not str or type(seq) is not int or not valid(fields):
        raise Malformed("fields", f"a {kind} message with bad fields: {reprlib.repr(value)}")
    return Message(kind, origin, seq, fields)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _envelope(value: Any) -> bool:
    return (
        type(value) is tuple
        and len(value) == 5
        and value[0] == "nova_pubsub"
        and type(value[2]) is Pid
    )


def _membership(table: Any) -> bool:
    return type(table) is dict and all(
        type(pids) is dict
        and all(
            type(pid) is Pid and type(joins) is int and joins > 0 for pid, joins in pids.items()
        )
        for pids in table.values()
    )


def _presence(entries: Any, untracked: bool) -> bool:
    return type(entries) is list and all(
        type(entry) is list
        and len(entry) == 4
        and _hashable(entry[0])
        and type(entry[1]) is Pid
        and _hashable(entry[2])
        and (type(entry[3]) is dict or (untracked and entry[3] is None))
        for entry in entries
    )


_FIELDS: dict[str, Callable[[list[Any]], bool]] = {
    HEARTBEAT: lambda f: not f,
    BROADCAST: lambda f: len(f) == 2 and _hashable(f[0]) and _envelope(f[1]),
    SEND: lambda f: len(f) == 2 and type(f[0]) is Pid,
    JOIN: lambda f: len(f) == 2 and _hashable(f[0]) and type(f[1]) is Pid,
    LEAVE: lambda f: len(f) == 2 and _hashable(f[0]) and type(f[1]) is Pid,
    EXIT: lambda f: len(f) == 1 and type(f[0]) is Pid,
    SYNC: lambda f: len(f) == 1 and _membership(f[0]),
    SYNC_REQUEST: lambda f: len(f) == 1 and (f[0] is None or type(f[0]) is str),
    DOWN: lambda f: not f,
    PRESENCE: lambda f: len(f) == 1 and _presence(f[0], untracked=True),
    PRESENCE_SYNC: lambda f: len(f) == 1 and _presence(f[0], untracked=False),
}
