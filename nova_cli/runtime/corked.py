"""Prepared frames held until the end of the event loop's turn, then written in one call.

A server behind on its work handles several broadcasts in one turn of the
event loop: the frames that arrived from the sender while it delivered the
previous one.  Once a broadcast's frame is built once, the system call that
writes it is most of what a delivery costs, and writing each frame at once
makes one call per frame per member.  A `CorkedTransport` holds the prepared
frames of one turn and writes them together when the turn ends: one call per
socket per turn, however many broadcasts it took.

Order on the wire is the order of the calls: any other write (an ASGI
`send`, a pong, a close frame) and `close()` first write what is held.
Flow control is the transport's own, applied when the held frames are
written; `abort()` drops them with everything else.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any


class TurnEnd:
    """The transports of one event loop that hold frames, written at the end of the turn."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.pending: list[CorkedTransport] = []

    def add(self, transport: CorkedTransport) -> None:
        if not self.pending:
            self.loop.call_soon(self.flush)
        self.pending.append(transport)

    def flush(self) -> None:
        pending, self.pending = self.pending, []
        for transport in pending:
            transport.flush()


_turn_ends: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, TurnEnd] = (
    weakref.WeakKeyDictionary()
)


def turn_end(loop: asyncio.AbstractEventLoop) -> TurnEnd:
    """The one `TurnEnd` of `loop`."""
    found = _turn_ends.get(loop)
    if found is None:
        found = _turn_ends[loop] = TurnEnd(loop)
    return found


class CorkedTransport:
    """A transport that can hold frames until the end of the turn; otherwise the transport."""

    __slots__ = ("transport", "turn", "held")

    def __init__(self, transport: asyncio.Transport, turn: TurnEnd) -> None:
        self.transport = transport
        self.turn = turn
        self.held: list[bytes] | None = None

    def hold(self, frame: bytes) -> None:
        """Write `frame` at the end of this turn, after what is already held."""
        held = self.held
        if held is None:
            self.held = [frame]
            self.turn.add(self)
        else:
            held.append(frame)

    def flush(self) -> None:
        """Write what is held, now."""
        held = self.held
        if held is None:
            return
        self.held = None
        if not self.transport.is_closing():  # aborted or lost meanwhile: nobody to write to
            self.transport.write(held[0] if len(held) == 1 else b"".join(held))

    def write(self, data: bytes) -> None:
        if self.held is not None:
            self.flush()
        self.transport.write(data)

    def writelines(self, data: Any) -> None:
        self.flush()
        self.transport.writelines(data)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def abort(self) -> None:
        self.held = None
        self.transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)
