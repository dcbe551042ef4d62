"""Prepared frames held to the end of the loop's turn: one write per socket, order kept.

The transport underneath records its calls (what reaches the socket, in
which calls), which is what these pin; test_ws_protocol.py drives the same
path on a real socket.
"""

from __future__ import annotations

import asyncio
from typing import Any

from nova_cli.runtime.corked import CorkedTransport, turn_end


class Recording:
    """The transport's calls, in order."""

    def __init__(self) -> None:
        self.calls: list[Any] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.calls.append(data)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.calls.append("close")
        self.closing = True

    def abort(self) -> None:
        self.calls.append("abort")
        self.closing = True

    def get_write_buffer_size(self) -> int:
        return 7


def corked() -> tuple[CorkedTransport, Recording]:
    raw = Recording()
    return CorkedTransport(raw, turn_end(asyncio.get_running_loop())), raw  # type: ignore[arg-type]


async def test_the_frames_of_one_turn_go_out_in_one_write_at_its_end() -> None:
    a, raw_a = corked()
    b, raw_b = corked()
    for frame in (b"1", b"2", b"3"):  # three broadcasts in one turn
        a.hold(frame)
        b.hold(frame)
    assert raw_a.calls == [] and raw_b.calls == []
    await asyncio.sleep(0)
    assert raw_a.calls == [b"123"] and raw_b.calls == [b"123"]
    a.hold(b"4")  # the next turn: a write of its own
    await asyncio.sleep(0)
    assert raw_a.calls == [b"123", b"4"]


async def test_any_other_write_or_close_comes_after_what_is_held() -> None:
    a, raw = corked()
    a.hold(b"frame")
    a.write(b"close frame")
    a.hold(b"late")
    a.close()
    assert raw.calls == [b"frame", b"close frame", b"late", "close"]
    await asyncio.sleep(0)
    assert raw.calls == [b"frame", b"close frame", b"late", "close"]  # nothing twice


async def test_an_abort_drops_what_is_held_and_a_closed_socket_gets_nothing() -> None:
    a, raw = corked()
    a.hold(b"frame")
    a.abort()
    b, raw_b = corked()
    b.hold(b"frame")
    raw_b.closing = True  # lost meanwhile
    await asyncio.sleep(0)
    assert raw.calls == ["abort"] and raw_b.calls == []
    assert a.get_write_buffer_size() == 7  # the rest is the transport's own
