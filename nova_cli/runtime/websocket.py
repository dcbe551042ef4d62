"""WebSocket handlers: Nova's `nova_websocket` behaviour, one process per connection.

A route `("/ws", handler_module, {"protocol": "ws"})` serves each connection
as a `Connection`, a process (see `nova_cli.process`) whose mailbox receives
both the client's frames and the messages sent to it (`process.send`,
pub/sub).  One task reads the socket into the mailbox; the connection's own
task takes one item at a time and calls `websocket_handle` or
`websocket_info` with the state the previous callback returned, so
callbacks never overlap and run in arrival order.

A broadcast only appends to mailboxes: it never awaits a socket.  A
connection whose mailbox passes its bound (a client too slow to read what
it is sent) is closed with 1013 and leaves every channel; the others go on.

Callbacks are looked up on the handler module at every call, so when the
dev server reloads the module in place an open socket runs the new code
with the state it already had.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import threading
from collections.abc import Coroutine, Generator
from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from nova_cli import process
from nova_cli.config import NovaConfig
from nova_cli.process import _current  # set directly: this runs once per broadcast member
from nova_cli.runtime import errors, plugins, security
from nova_cli.runtime.request import Request
from nova_cli.runtime.routes import Route, describe

log = logging.getLogger("nova_cli.websocket")

NORMAL, GOING_AWAY, POLICY, TOO_BIG, INTERNAL, TRY_AGAIN = 1000, 1001, 1008, 1009, 1011, 1013
FRAME, CLOSED, CONTROL, RESUMED = 1, 2, 3, 4  # mailbox kinds besides process.INFO
RETURNS = '("ok", state), ("reply", frame | [frames], state), ("stop", state)'

_connections: set[Connection] = set()


class BadReturn(TypeError):
    """A callback returned something that is not a nova_websocket result."""


class Stop(Exception):
    """End the connection: send `code` (unless the client is gone), terminate(`reason`)."""

    def __init__(self, reason: Any, code: int | None = NORMAL, text: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.text = text


async def serve_websocket(router: Any, scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI entry for a WebSocket request: route, plugins, security, then the process."""
    table = router.table
    conn = HTTPConnection(scope, receive)
    match, _ = table.ws.match(scope["path"], "GET")
    req = Request(conn, method="GET", environment=router.config.environment)
    if match is None:
        await _deny(scope, send, errors.error_response(conn.headers, 404, "no ws route", dev=False))
        return
    route = match.route
    req.bindings, req.pathinfo, req.extra_state = match.bindings, match.pathinfo, route.extra_state
    try:
        refusal = await _admit(router, table, route, req)
    except Exception as exc:
        log.exception("ws upgrade of %s failed before init", scope["path"])
        refusal = errors.error_response(conn.headers, 500, str(exc), exc=exc, dev=router.config.dev)
    if refusal is not None:
        await _deny(scope, send, refusal)
        return
    handler = route.target() if isinstance(route.target, type) else route.target
    await Connection(handler, req, scope, receive, send, router.config).run()


async def _admit(router: Any, table: Any, route: Route, req: Request) -> Response | None:
    """Pre-request plugins and security on the upgrade request; a Response refuses it."""
    chain = route.group.plugins if route.group.plugins is not None else table.plugins
    req, reply = await plugins.run_pre(chain, req)
    if reply is not None:
        return await router.respond(table, reply, req, None)
    if route.group.security is not None:
        return await security.check(route.group.security, req)
    return None


async def _deny(scope: Scope, send: Send, response: Response) -> None:
    """Refuse an upgrade with an HTTP response when the server can send one."""
    if "websocket.http.response" in scope.get("extensions", {}):
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
        await send(
            {
                "type": "websocket.http.response.start",
                "status": response.status_code,
                "headers": headers,
            }
        )
        await send({"type": "websocket.http.response.body", "body": response.body})
    else:
        await send({"type": "websocket.close", "code": POLICY})


class Connection(process.Process):
    """One WebSocket connection: a process running its handler's callbacks."""

    def __init__(
        self,
        handler: Any,
        req: Request,
        scope: Scope,
        receive: Receive,
        send: Send,
        config: NovaConfig,
    ) -> None:
        super().__init__(max_messages=config.ws_queue_messages, max_bytes=config.ws_queue_bytes)
        self.handler = handler
        self.req = req
        self.scope = scope
        self._receive = receive
        self._send = send
        self.max_message_size = config.ws_max_message_size
        self.idle_timeout = config.ws_idle_timeout
        self.state: Any = None
        self._task: asyncio.Task[Any] | None = None
        self._stopping: Stop | None = None
        self._serving = False  # between accept and the start of _finish: cancellable
        self._last_frame = 0.0
        self._closed = False
        self._inline = False  # a callback is running inside deliver()

    # -- lifecycle ------------------------------------------------------
    async def run(self) -> None:
        self._task = asyncio.current_task()
        self.register()
        process.set_current(self.pid)
        state: dict[str, Any] = {"req": self.req}
        if self.req.auth_data is not None:
            state["auth_data"] = self.req.auth_data
        try:
            result = await self._call("init", state, default=("ok", state))
        except Exception as exc:
            log.exception("%s init crashed for %s", describe(self.handler), self.pid)
            await _deny(
                self.scope,
                self._send,
                errors.error_response(
                    self.req.headers, 500, str(exc), exc=exc, dev=self.req.environment == "dev"
                ),
            )
            self.exit()
            return
        if not (isinstance(result, tuple) and len(result) == 2 and result[0] == "ok"):
            log.info("%s init refused the upgrade: %r", describe(self.handler), result)
            await _deny(self.scope, self._send, Response(b"", 403))
            self.exit()
            return
        self.state = result[1]
        await self._send({"type": "websocket.accept"})
        _connections.add(self)
        reader = asyncio.create_task(self._read())
        self._last_frame = self.loop.time()
        if self.idle_timeout > 0:
            self.loop.call_later(self.idle_timeout, self._check_idle)
        self._serving = True
        stop = await self._serve()
        reader.cancel()
        await self._finish(stop)

    async def _serve(self) -> Stop:
        """Run callbacks until something stops the connection; return why."""
        try:
            if callable(getattr(self.handler, "websocket_init", None)):
                await self._apply(await self._call("websocket_init", self.state))
            take = self.take
            while True:
                item = take()
                if item is None:
                    await self.wait()
                    continue
                kind, message = item
                if kind == RESUMED:
                    await message  # a callback that began in deliver() and had to wait
                elif kind == FRAME or kind == process.INFO:
                    await self._handle(kind, message)
                else:
                    return message  # a Stop queued by the reader, a timer or shutdown
        except Stop as stop:
            return stop
        except asyncio.CancelledError:
            if self._stopping is None:
                raise
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            return self._stopping
        except Exception as exc:
            log.exception(
                "%s crashed in %s; closing it with 1011", describe(self.handler), self.pid
            )
            return Stop(("crash", exc), INTERNAL, "internal error")

    async def _finish(self, stop: Stop) -> None:
        self._serving = False
        _connections.discard(self)
        self.exit()  # leaves every pub/sub channel: nothing more is delivered
        if stop.code is not None and not self._closed:
            with contextlib.suppress(Exception):
                # A client too slow to read may never take the close frame.
                await asyncio.wait_for(self._close(stop.code, stop.text), 5.0)
        terminate = getattr(self.handler, "terminate", None)
        if callable(terminate):
            try:
                result = terminate(stop.reason, self.req, self.state)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("%s terminate crashed for %s", describe(self.handler), self.pid)

    def stop_with(self, stop: Stop, *, force: bool = False) -> None:
        """Stop from outside the connection's task (overflow, shutdown).

        By default the stop waits its turn in the mailbox, after the callback
        in progress; `force` cancels the task at once, which also frees a
        connection waiting on a socket that will not drain.
        """
        if self._stopping is not None or not self.alive:
            return
        self._stopping = stop
        if force and self._serving and self._task is not None:
            self._task.cancel()
        else:
            self.put_control(CONTROL, stop)

    def force_stop(self) -> None:
        """Cancel a connection that did not stop in time."""
        if self._serving and self._task is not None:
            self._task.cancel()

    def on_overflow(self, messages: int, size: int) -> None:
        log.warning(
            "%s is too slow to read (%d messages, %d bytes queued); closing it with %d",
            self.pid,
            messages,
            size,
            TRY_AGAIN,
        )
        self.stop_with(Stop("overflow", TRY_AGAIN, "slow consumer"), force=True)

    def _check_idle(self) -> None:
        if not self.alive or self._stopping is not None:
            return
        idle_for = self.loop.time() - self._last_frame
        if idle_for >= self.idle_timeout:
            self.put_control(CONTROL, Stop("timeout", NORMAL, "idle timeout"))
        else:
            self.loop.call_later(self.idle_timeout - idle_for, self._check_idle)

    # -- one message --------------------------------------------------
    async def _handle(self, kind: int, message: Any) -> None:
        """Run the callback for one frame or info message and act on its result."""
        # Looked up at every call: a module the dev server reloaded runs its new code.
        if kind == FRAME:
            fn = getattr(self.handler, "websocket_handle", None)
            if fn is None:
                raise BadReturn(f"{describe(self.handler)} has no websocket_handle")
        else:
            fn = getattr(self.handler, "websocket_info", None)
            if fn is None:
                return
        result = fn(message, self.state)
        if type(result) is not tuple:
            result = await _maybe_await(result)
        # The common reply of a chat, ("reply", ("text", str), state), without
        # the general path's extra coroutines: this runs once per member.
        if len(result) == 3 and result[0] == "reply":
            frame = result[1]
            if type(frame) is tuple and len(frame) == 2 and frame[0] == "text":
                text = frame[1]
                if type(text) is str:
                    self.state = result[2]
                    try:
                        await self._send(_text_messages.get(text))
                    except OSError as exc:  # uvicorn's ClientDisconnected
                        self._closed = True
                        raise Stop(("remote", 1006, str(exc)), None) from None
                    return
        await self._apply(result)

    def deliver(self, message: Any, size: int = 0) -> None:
        """Queue an info message, or handle it at once when the connection is idle.

        An idle connection (its task parked on an empty mailbox) runs the
        callback right here, in the sender's call, instead of waking its task:
        a broadcast to 1,000 idle members then costs no task switch per member.
        Order and exclusion hold: nothing is queued before the message and no
        callback of this connection is running.  If the callback or its send
        must wait (an async callback that awaits, a socket that is not
        writable), the rest runs in the connection's task, before anything
        queued after it.
        """
        waiter = self._waiter
        if (
            waiter is None
            or waiter.done()
            or self._mailbox
            or self._inline
            or self._stopping is not None
            or threading.get_ident() != self._thread
        ):
            super().deliver(message, size)
            return
        self._inline = True
        token = _current.set(self.pid)
        try:
            finished, rest = _run_eagerly(self._handle(process.INFO, message))
            if not finished:
                self._first(RESUMED, rest)
        except Stop as stop:
            self._first(CONTROL, stop)
        except Exception as exc:
            log.exception(
                "%s crashed in %s; closing it with 1011", describe(self.handler), self.pid
            )
            self._first(CONTROL, Stop(("crash", exc), INTERNAL, "internal error"))
        finally:
            _current.reset(token)
            self._inline = False

    def _first(self, kind: int, message: Any) -> None:
        """Queue ahead of everything else: it continues or ends what ran in deliver()."""
        self._mailbox.appendleft((kind, message, 0))
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- the socket -----------------------------------------------------
    async def _read(self) -> None:
        """Move the client's frames into the mailbox, in order."""
        try:
            await self._read_frames()
        except Exception as exc:  # the server's receive failed: treat as a lost client
            self._closed = True
            self.put_control(CLOSED, Stop(("error", exc), None))

    async def _read_frames(self) -> None:
        while True:
            message = await self._receive()
            kind = message["type"]
            if kind == "websocket.receive":
                text = message.get("text")
                frame = (
                    ("text", text) if text is not None else ("binary", message.get("bytes") or b"")
                )
                size = len(frame[1])
                self._last_frame = self.loop.time()
                if size > self.max_message_size:
                    log.warning(
                        "%s sent %d bytes, over the %d limit; closing it with %d",
                        self.pid,
                        size,
                        self.max_message_size,
                        TOO_BIG,
                    )
                    self.put_control(CLOSED, Stop("message_too_big", TOO_BIG, "message too big"))
                    return
                await self.put_when_room(FRAME, frame, size)
            elif kind == "websocket.disconnect":
                self._closed = True
                code = message.get("code", 1005)
                self.put_control(CLOSED, Stop(("remote", code, message.get("reason") or ""), None))
                return

    async def _close(self, code: int, reason: str = "") -> None:
        if not self._closed:
            self._closed = True
            await self._send({"type": "websocket.close", "code": code, "reason": reason})

    async def _write(self, message: dict[str, Any]) -> None:
        try:
            await self._send(message)
        except OSError as exc:  # uvicorn's ClientDisconnected: the client went away
            self._closed = True
            raise Stop(("remote", 1006, str(exc)), None) from None

    @staticmethod
    def _frame_message(frame: Any) -> dict[str, Any] | None:
        """The ASGI message for an outgoing frame; None for ping/pong; Stop for close."""
        if type(frame) is tuple and frame:
            tag = frame[0]
            if tag == "text" and len(frame) == 2 and type(frame[1]) is str:
                return _text_messages.get(frame[1])
            if tag == "binary" and len(frame) == 2 and isinstance(frame[1], bytes | bytearray):
                return {"type": "websocket.send", "bytes": bytes(frame[1])}
            if tag == "close" and len(frame) <= 3:
                code = frame[1] if len(frame) > 1 else NORMAL
                raise Stop("stop", int(code), str(frame[2]) if len(frame) > 2 else "")
            if tag in ("ping", "pong") and len(frame) <= 2:
                return None  # ASGI has no control frames; uvicorn pings and answers pings itself
        elif frame in ("ping", "pong"):
            return None
        elif frame == "close":
            raise Stop("stop", NORMAL)
        raise BadReturn(
            f'unknown frame {frame!r:.80}; expected ("text", str), '
            '("binary", bytes), ("ping", bytes) or ("close", code, reason)'
        )

    # -- callbacks ------------------------------------------------------
    async def _call(self, name: str, *args: Any, default: Any = None) -> Any:
        fn = getattr(self.handler, name, None)
        if fn is None:
            if default is None:
                raise BadReturn(f"{describe(self.handler)} has no {name}")
            return default
        return await _maybe_await(fn(*args))

    async def _apply(self, result: Any) -> None:
        """Act on a callback's result: keep the state, send replies, or stop."""
        if type(result) is tuple and result:
            tag, size = result[0], len(result)
            if tag == "ok" and size in (2, 3):
                self.state = result[1]
                return
            if tag == "reply" and size in (3, 4):
                self.state = result[2]
                frames = result[1]
                for frame in frames if type(frames) is list else (frames,):
                    message = self._frame_message(frame)
                    if message is not None:
                        await self._write(message)
                return
            if tag == "stop" and size in (2, 3):
                self.state = result[1]
                raise Stop("stop", NORMAL)
        elif result == "ok":
            return
        raise BadReturn(f"{describe(self.handler)} returned {result!r:.100}; expected {RETURNS}")


async def _maybe_await(result: Any) -> Any:
    if inspect.isawaitable(result):
        return await result
    return result


class _TextMessages:
    """The ASGI message for the text of a broadcast, built once for every member.

    Members of a channel reply with the very same str object, so the last
    message is reused when the text is identical (by identity: cheap, and
    never wrong, since ASGI servers do not mutate the message).
    """

    __slots__ = ("text", "message")

    def __init__(self) -> None:
        self.text: str | None = None
        self.message: dict[str, Any] = {}

    def get(self, text: str) -> dict[str, Any]:
        if text is not self.text:
            self.text = text
            self.message = {"type": "websocket.send", "text": text}
        return self.message


_text_messages = _TextMessages()


def _run_eagerly(coro: Coroutine[Any, Any, Any]) -> tuple[bool, Any]:
    """Run `coro` until it finishes or first waits.

    Returns `(True, result)`, or `(False, rest)` where `rest` is an awaitable
    that carries on from where `coro` stopped, for a task to await.
    """
    try:
        waiting_on = coro.send(None)
    except StopIteration as done:
        return True, done.value
    return False, _Rest(coro, waiting_on)


class _Rest:
    """The remainder of a coroutine that already ran up to its first wait."""

    __slots__ = ("coro", "waiting_on")

    def __init__(self, coro: Coroutine[Any, Any, Any], waiting_on: Any) -> None:
        self.coro = coro
        self.waiting_on = waiting_on

    def __await__(self) -> Generator[Any, Any, Any]:
        # Hand what the coroutine waits on to the awaiting task, and its
        # outcome back to the coroutine: what `await coro` would have done.
        coro, waiting_on = self.coro, self.waiting_on
        while True:
            try:
                value = yield waiting_on
            except BaseException as exc:
                try:
                    waiting_on = coro.throw(exc)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    waiting_on = coro.send(value)
                except StopIteration as done:
                    return done.value


async def close_all(code: int = GOING_AWAY, timeout: float = 5.0) -> None:
    """Close every open connection with `code`, calling each `terminate` (server shutdown)."""
    connections = list(_connections)
    if not connections:
        return
    tasks = {c._task: c for c in connections if c._task is not None}
    for conn in connections:
        conn.stop_with(Stop("shutdown", code, "server shutdown"))
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        tasks[task].force_stop()
    if pending:
        await asyncio.wait(pending, timeout=timeout)
