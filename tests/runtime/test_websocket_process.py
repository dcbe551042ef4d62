"""A WebSocket connection as a process, driven in memory: ordering, exclusion, self().

These pin what the e2e tests cannot see from outside: an idle connection
handles a message inside `deliver` (no task switch), and still never runs
two callbacks at once nor reorders messages.
"""

from __future__ import annotations

import asyncio
import types
from typing import Any

from starlette.requests import HTTPConnection

from nova_cli import process
from nova_cli.config import NovaConfig
from nova_cli.runtime.request import Request
from nova_cli.runtime.websocket import Connection

SCOPE = {"type": "websocket", "path": "/t", "headers": [], "query_string": b""}


class FakeSocket:
    """The ASGI side: records what the connection sends; `blocked` holds sends back."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.blocked = asyncio.Event()
        self.blocked.set()
        self.closed = asyncio.Event()
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def send(self, message: dict[str, Any]) -> None:
        await self.blocked.wait()
        if message["type"] == "websocket.send":
            self.sent.append(message.get("text", message.get("bytes")))
        elif message["type"] == "websocket.close":
            self.sent.append(("close", message["code"]))
            self.closed.set()

    async def receive(self) -> dict[str, Any]:
        return await self.incoming.get()


def handler(**callbacks: Any) -> types.SimpleNamespace:
    return types.SimpleNamespace(**callbacks)


async def open_connection(
    h: Any, **config: Any
) -> tuple[Connection, FakeSocket, asyncio.Task[None]]:
    sock = FakeSocket()
    req = Request(HTTPConnection(SCOPE), method="GET")
    conn = Connection(h, req, SCOPE, sock.receive, sock.send, NovaConfig(**config))
    task = asyncio.create_task(conn.run())
    for _ in range(100):  # until it is parked on its empty mailbox
        await asyncio.sleep(0)
        if conn._waiter is not None:
            break
    return conn, sock, task


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_an_idle_connection_handles_a_message_inside_deliver() -> None:
    seen: list[Any] = []

    def info(msg: Any, state: Any) -> Any:
        seen.append((msg, process.self()))
        return ("reply", ("text", msg), state)

    conn, sock, task = await open_connection(handler(websocket_handle=None, websocket_info=info))
    process.set_current(None)
    process.send(conn.pid, "now")
    # Handled before control went back to the loop, as the connection's own process.
    assert sock.sent == ["now"] and seen == [("now", conn.pid)]
    assert process.self() != conn.pid  # the sender's identity is back
    task.cancel()


async def test_an_async_callback_that_waits_keeps_later_messages_behind_it() -> None:
    log: list[str] = []

    async def info(msg: str, state: Any) -> Any:
        log.append(f"start {msg}")
        if msg == "slow":
            await asyncio.sleep(0.01)
        log.append(f"end {msg}")
        return ("reply", ("text", msg), state)

    conn, sock, task = await open_connection(handler(websocket_handle=None, websocket_info=info))
    process.send(conn.pid, "slow")
    process.send(conn.pid, "fast")
    await asyncio.sleep(0.05)
    assert sock.sent == ["slow", "fast"]
    assert log == ["start slow", "end slow", "start fast", "end fast"]
    task.cancel()


async def test_a_message_sent_from_inside_a_callback_waits_for_it() -> None:
    log: list[str] = []

    def info(msg: str, state: Any) -> Any:
        log.append(f"start {msg}")
        if msg == "a":
            process.send(process.self(), "b")  # to itself, mid-callback
        log.append(f"end {msg}")
        return ("reply", ("text", msg), state)

    conn, sock, task = await open_connection(handler(websocket_handle=None, websocket_info=info))
    process.send(conn.pid, "a")
    await settle()
    assert log == ["start a", "end a", "start b", "end b"]
    assert sock.sent == ["a", "b"]
    task.cancel()


async def test_a_socket_that_cannot_take_more_queues_and_then_overflows() -> None:
    def info(msg: int, state: Any) -> Any:
        return ("reply", ("text", str(msg)), state)

    conn, sock, task = await open_connection(
        handler(websocket_handle=None, websocket_info=info), ws_queue_messages=5
    )
    sock.blocked.clear()  # the client stopped reading
    for i in range(5):
        process.send(conn.pid, i)  # 0 waits on the socket; 1-4 queue behind it
    assert sock.sent == [] and len(conn._mailbox) == 5  # 4 messages + 0's remainder
    process.send(conn.pid, 5)  # over the bound: the slow consumer is closed
    sock.blocked.set()
    await asyncio.wait_for(task, 5)
    assert sock.sent[-1] == ("close", 1013)
    assert not process.is_alive(conn.pid)


async def test_a_callback_that_raises_inside_deliver_closes_with_1011() -> None:
    reasons: list[Any] = []

    def info(msg: Any, state: Any) -> Any:
        raise RuntimeError("boom")

    def terminate(reason: Any, req: Any, state: Any) -> None:
        reasons.append(reason)

    h = handler(websocket_handle=None, websocket_info=info, terminate=terminate)
    conn, sock, task = await open_connection(h)
    process.send(conn.pid, "x")
    process.send(conn.pid, "never handled")
    await asyncio.wait_for(task, 5)
    assert sock.sent == [("close", 1011)]
    assert reasons[0][0] == "crash" and str(reasons[0][1]) == "boom"


async def test_stop_inside_deliver_closes_after_the_replies() -> None:
    def info(msg: Any, state: Any) -> Any:
        return ("reply", [("text", "bye"), ("close", 4001, "done")], state)

    conn, sock, task = await open_connection(handler(websocket_handle=None, websocket_info=info))
    process.send(conn.pid, "x")
    await asyncio.wait_for(task, 5)
    assert sock.sent == ["bye", ("close", 4001)]
