"""A WebSocket connection as a process, driven in memory.

These pin what the e2e tests cannot see from outside: an idle connection
handles a message inside `deliver` (no task switch), and still never runs
two callbacks at once nor reorders messages; nothing a receiver does
reaches its sender; and every way a connection ends runs one exit path,
exactly once.
"""

from __future__ import annotations

import asyncio
import contextvars
import types
from typing import Any

import pytest
from starlette.requests import HTTPConnection

from nova_cli import process, pubsub
from nova_cli.core.config import NovaConfig
from nova_cli.runtime.connection import Connection
from nova_cli.runtime.frames import PREPARED_SEND
from nova_cli.runtime.request import Request
from nova_cli.runtime.shutdown import Connections

SCOPE = {"type": "websocket", "path": "/t", "headers": [], "query_string": b""}


class FakeSocket:
    """The ASGI side: records what the connection sends; `blocked` holds sends back."""

    def __init__(self, accept_error: BaseException | None = None) -> None:
        self.sent: list[Any] = []
        self.blocked = asyncio.Event()
        self.blocked.set()
        self.closed = asyncio.Event()
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.accept_error = accept_error

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "websocket.accept" and self.accept_error is not None:
            raise self.accept_error
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
    h: Any, sock: FakeSocket | None = None, threaded: bool = False, **config: Any
) -> tuple[Connection, FakeSocket, asyncio.Task[None]]:
    sock = sock or FakeSocket()
    scope = getattr(sock, "scope", SCOPE)
    req = Request(HTTPConnection(scope), method="GET")
    conn = Connection(
        h,
        req,
        scope,
        sock.receive,
        getattr(sock, "app_send", sock.send),
        NovaConfig(**config),
        Connections(),
        threaded=threaded,
    )
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


# -- prepared frames: a broadcast framed once -------------------------------


class PreparingSocket(FakeSocket):
    """A server that also takes prepared frames, while `writable` (as Nova's protocol)."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[bytes] = []
        self.writable = True
        offer = {"send": self.send, "write": self.write}
        self.scope = {**SCOPE, "extensions": {PREPARED_SEND: offer}}

    def write(self, frame: bytes) -> bool:
        if not self.writable:
            return False
        self.frames.append(frame)
        return True


def echo_info(msg: Any, state: Any) -> Any:
    return ("reply", ("text", msg[4] if type(msg) is tuple else msg), state)


async def test_a_broadcast_is_framed_once_and_written_to_every_member() -> None:
    def init(state: Any) -> Any:
        pubsub.join("prepared")
        return ("ok", state)

    socks = [PreparingSocket() for _ in range(3)]
    tasks = []
    for sock in socks:
        h = handler(init=init, websocket_handle=None, websocket_info=echo_info)
        tasks.append((await open_connection(h, sock))[2])
    process.set_current(None)
    pubsub.broadcast("prepared", "message", "hello")
    assert [sock.frames for sock in socks] == [[b"\x81\x05hello"]] * 3
    assert socks[0].frames[0] is socks[1].frames[0] is socks[2].frames[0]  # built once
    assert [sock.sent for sock in socks] == [[], [], []]  # no ASGI send at all
    for task in tasks:
        task.cancel()


async def test_a_socket_that_cannot_take_a_frame_now_gets_the_asgi_send() -> None:
    async def info(msg: Any, state: Any) -> Any:  # in the connection's task, not deliver()
        return echo_info(msg, state)

    sock = PreparingSocket()
    conn, sock, task = await open_connection(
        handler(websocket_handle=None, websocket_info=info), sock
    )
    sock.writable = False
    process.send(conn.pid, "queued")
    await settle()
    sock.writable = True
    process.send(conn.pid, "framed")
    await settle()
    assert sock.sent == ["queued"] and sock.frames == [b"\x81\x06framed"]
    task.cancel()


async def test_a_send_wrapped_by_a_middleware_sees_every_message() -> None:
    sock = PreparingSocket()
    seen: list[str] = []

    async def wrapped(message: dict[str, Any]) -> None:
        seen.append(message["type"])
        await sock.send(message)

    sock.app_send = wrapped  # type: ignore[attr-defined]
    conn, sock, task = await open_connection(
        handler(websocket_handle=None, websocket_info=echo_info), sock
    )
    process.send(conn.pid, "hi")
    await settle()
    assert sock.frames == [] and sock.sent == ["hi"]
    assert seen == ["websocket.accept", "websocket.send"]
    task.cancel()


# -- every way a connection ends: one exit path, exactly once ---------------


class Recorder:
    """A handler that joins its own channel in init and records terminate calls."""

    def __init__(self, channel: str, **callbacks: Any) -> None:
        self.channel = channel
        self.reasons: list[Any] = []
        self.callbacks = {
            "init": self.init,
            "websocket_handle": None,
            "websocket_info": lambda msg, state: ("ok", state),
            "terminate": self.terminate,
            **callbacks,
        }

    def init(self, state: Any) -> Any:
        pubsub.join(self.channel)
        return ("ok", state)

    def terminate(self, reason: Any, req: Any, state: Any) -> None:
        self.reasons.append(reason)

    def handler(self) -> types.SimpleNamespace:
        return handler(**self.callbacks)

    def assert_gone(self, conn: Connection) -> None:
        assert not process.is_alive(conn.pid)
        assert pubsub.get_local_members(self.channel) == []
        assert len(self.reasons) == 1, self.reasons


async def test_an_accept_that_fails_runs_the_exit_path() -> None:
    rec = Recorder("exit-accept")
    sock = FakeSocket(accept_error=OSError("client disconnected"))
    conn, sock, task = await open_connection(rec.handler(), sock)
    await asyncio.wait_for(task, 5)
    rec.assert_gone(conn)
    assert rec.reasons[0][:2] == ("remote", 1006)


async def test_cancelling_an_open_connection_runs_the_exit_path() -> None:
    rec = Recorder("exit-cancel")
    conn, sock, task = await open_connection(rec.handler())
    assert pubsub.get_local_members("exit-cancel") == [conn.pid]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    rec.assert_gone(conn)
    assert rec.reasons == ["shutdown"] and sock.sent == [("close", 1001)]


async def test_cancelling_during_init_runs_the_exit_path() -> None:
    entered = asyncio.Event()

    async def init(state: Any) -> Any:
        pubsub.join("exit-init")
        entered.set()
        await asyncio.Event().wait()  # never answers

    rec = Recorder("exit-init", init=init)
    sock = FakeSocket()
    req = Request(HTTPConnection(SCOPE), method="GET")
    conn = Connection(
        rec.handler(), req, SCOPE, sock.receive, sock.send, NovaConfig(), Connections()
    )
    task = asyncio.create_task(conn.run())
    await asyncio.wait_for(entered.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    rec.assert_gone(conn)
    assert sock.sent == []  # never accepted: nothing to close


@pytest.mark.parametrize(
    ("init_result", "reason"), [(("stop", {}), "refused"), (RuntimeError("no"), "crash")]
)
async def test_an_init_that_refuses_or_raises_runs_the_exit_path(
    init_result: Any, reason: str
) -> None:
    def init(state: Any) -> Any:
        pubsub.join("exit-refused")
        if isinstance(init_result, Exception):
            raise init_result
        return init_result

    rec = Recorder("exit-refused", init=init)
    conn, sock, task = await open_connection(rec.handler())
    await asyncio.wait_for(task, 5)
    rec.assert_gone(conn)
    got = rec.reasons[0]
    assert (got[0] if isinstance(got, tuple) else got) == reason
    assert sock.sent == [("close", 1008)]  # refused before the upgrade (no HTTP denial here)


async def test_close_all_closes_with_the_code_and_terminates_once() -> None:
    rec = Recorder("exit-shutdown")
    conn, sock, task = await open_connection(rec.handler())
    await conn.connections.close_all(1001, budget=5)
    assert task.done()
    rec.assert_gone(conn)
    assert rec.reasons == ["shutdown"] and sock.sent == [("close", 1001)]


async def test_close_all_cancels_a_busy_connection_within_its_budget() -> None:
    async def info(msg: Any, state: Any) -> Any:
        await asyncio.Event().wait()  # a callback that never returns

    rec = Recorder("exit-busy", websocket_info=info)
    conn, sock, task = await open_connection(rec.handler())
    process.send(conn.pid, "hang")
    await settle()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await conn.connections.close_all(1001, budget=0.6)
    assert loop.time() - started < 1.0
    assert task.done()
    rec.assert_gone(conn)
    assert rec.reasons == ["shutdown"] and sock.sent == [("close", 1001)]


async def test_close_all_logs_what_the_budget_did_not_allow(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def terminate(reason: Any, req: Any, state: Any) -> None:
        await asyncio.sleep(0.2)  # takes longer than the whole budget
        rec.reasons.append(reason)

    rec = Recorder("exit-slow-terminate", terminate=terminate)
    conn, sock, task = await open_connection(rec.handler())
    await conn.connections.close_all(1001, budget=0.1)
    assert "1 WebSocket connections did not finish closing" in caplog.text
    await asyncio.wait_for(task, 5)  # it goes on finishing, once
    assert rec.reasons == ["shutdown"]


async def test_a_connection_of_another_event_loop_is_left_alone() -> None:
    rec = Recorder("exit-other-loop")
    conn, sock, task = await open_connection(rec.handler())
    conn.loop = asyncio.new_event_loop()  # as if it belonged to a loop that is gone
    try:
        await conn.connections.close_all(1001, budget=0.1)  # must not touch it, nor fail
        assert sock.sent == []
    finally:
        conn.loop.close()
        conn.loop = asyncio.get_running_loop()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


# -- nothing a receiver does reaches its sender ------------------------------


async def test_an_async_websocket_info_runs_in_the_connections_own_task() -> None:
    tasks: list[Any] = []

    async def info(msg: Any, state: Any) -> Any:
        tasks.append(asyncio.current_task())
        return ("reply", ("text", msg), state)

    conn, sock, task = await open_connection(handler(websocket_handle=None, websocket_info=info))
    process.send(conn.pid, "hi")
    assert tasks == []  # not run inside the sender's call
    await settle()
    assert tasks == [conn._task] and sock.sent == ["hi"]
    task.cancel()


async def test_a_timeout_in_the_receiver_never_cancels_the_sender() -> None:
    async def info(msg: Any, state: Any) -> Any:
        async with asyncio.timeout(0.01):
            await asyncio.sleep(1)
        return ("ok", state)

    conn, sock, task = await open_connection(handler(websocket_handle=None, websocket_info=info))
    pubsub.join("timeouts", conn.pid)
    pubsub.broadcast("timeouts", "t", "x")
    await asyncio.sleep(0.1)  # the sender goes on: nothing cancels it
    await asyncio.wait_for(task, 5)
    assert sock.sent == [("close", 1011)]  # the receiver's own timeout ended the receiver


async def test_an_anyio_cancel_scope_in_the_receiver_works() -> None:
    import anyio

    async def info(msg: Any, state: Any) -> Any:
        with anyio.move_on_after(0.01):
            await anyio.sleep(1)
        return ("reply", ("text", "moved on"), state)

    conn, sock, task = await open_connection(handler(websocket_handle=None, websocket_info=info))
    process.send(conn.pid, "x")
    for _ in range(100):
        await asyncio.sleep(0.01)
        if sock.sent:
            break
    assert sock.sent == ["moved on"]
    task.cancel()


async def test_context_variables_of_an_inline_callback_stay_with_the_receiver() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    def info(msg: Any, state: Any) -> Any:
        var.set("receiver's")
        return ("reply", ("text", var.get()), state)

    async def handle(frame: Any, state: Any) -> Any:
        await asyncio.sleep(0)
        seen = var.get()
        var.set("handle's")
        return ("reply", ("text", "handle sees " + seen), state)

    h = handler(websocket_handle=handle, websocket_info=info)
    conn, sock, task = await open_connection(h)
    var.set("sender's")
    process.send(conn.pid, "x")
    assert sock.sent == ["receiver's"]  # it ran inline...
    assert var.get() == "sender's"  # ...without touching the sender's context
    await sock.incoming.put({"type": "websocket.receive", "text": "y"})
    await settle()
    assert sock.sent[-1] == "handle sees receiver's"  # one context for all its callbacks
    assert var.get() == "sender's"
    task.cancel()


async def test_a_cancelled_error_raised_by_a_sync_receiver_stays_with_it() -> None:
    def info(msg: Any, state: Any) -> Any:
        raise asyncio.CancelledError

    conn, sock, task = await open_connection(handler(websocket_handle=None, websocket_info=info))
    process.send(conn.pid, "x")  # would cancel the sender if it escaped
    await asyncio.sleep(0.01)
    await asyncio.wait_for(task, 5)
    assert sock.sent == [("close", 1011)]


# -- sync callbacks in threads -------------------------------------------------


async def test_threaded_sync_callbacks_leave_the_loop_free_and_run_one_at_a_time() -> None:
    import threading
    import time

    running: list[int] = []
    overlap: list[bool] = []

    seen: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="")

    def info(msg: Any, state: Any) -> Any:
        running.append(threading.get_ident())
        overlap.append(len(running) > 1)
        time.sleep(0.2)  # blocking work
        running.pop()
        before = seen.get()
        seen.set(msg)  # seen by the next callback, as in any connection
        return ("reply", ("text", f"{msg} {process.self() == state['pid']} {before}"), state)

    def init(state: Any) -> Any:
        state["pid"] = process.self()
        return ("ok", state)

    h = handler(init=init, websocket_handle=None, websocket_info=info)
    conn, sock, task = await open_connection(h, threaded=True)
    loop = asyncio.get_running_loop()
    process.send(conn.pid, "a")
    process.send(conn.pid, "b")
    ticks = 0
    started = loop.time()
    while len(sock.sent) < 2 and loop.time() - started < 5:
        await asyncio.sleep(0.01)
        ticks += 1
    assert sock.sent == ["a True ", "b True a"]
    assert ticks > 20  # the loop kept running while the callbacks slept
    assert overlap == [False, False]
    task.cancel()
