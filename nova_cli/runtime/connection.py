"""One WebSocket connection as a process: Nova's `nova_websocket` behaviour.

A `Connection` is a process (see `nova_cli.process`) whose mailbox receives
both the client's frames and the messages sent to it (`process.send`,
pub/sub).  It lives in the task the server gave the WebSocket request:
`init`, the upgrade, then one mailbox item at a time, each callback given
the state the previous one returned, so callbacks never overlap and run in
arrival order.  A second task reads the socket into the mailbox.  Every
callback runs in the connection's own `contextvars` context
(`process.self()`, the app's own context variables; see `eager.InContext`).

Nothing a receiver does reaches its sender.  An idle connection handles a
broadcast inside the broadcaster's call, to spare a task switch per member,
but only when its `websocket_info` is a plain `def`, and then inside the
connection's context, with any exception caught and turned into the
receiver's own close.  Async callbacks always run in the connection's task.

Every way a connection ends -- the client leaves before or after the
upgrade, the upgrade cannot be sent, a callback raises or stops, the
server shuts down, the task is cancelled -- goes through `_exit` exactly
once: unregister, leave every channel, send the close frame if there is
still someone to send it to, and call `terminate` once.

A text reply is written as a frame built once per broadcast when the server
offers that (`frames.PREPARED_SEND`, Nova's own WebSocket protocol does) and
can write it now; otherwise, and under any other ASGI server, it is an ASGI
`send` like every other message.

Callbacks are looked up on the handler module at every call, so when the
dev server reloads the module in place an open socket runs the new code
with the state it already had.

(This module is longer than most here: it is one process's whole life --
its start, its mailbox, the inline delivery, the socket and its one exit
path -- whose invariants read best in one place.  The app's registry of
connections and their shutdown are in `shutdown.py`.)
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from nova_cli import process
from nova_cli.core.config import NovaConfig
from nova_cli.process import Kind
from nova_cli.runtime import errors
from nova_cli.runtime.eager import InContext, Rest, run_eagerly
from nova_cli.runtime.frames import (
    GOING_AWAY,
    INTERNAL,
    NORMAL,
    RETURNS,
    SLOW_CONSUMER,
    TOO_BIG,
    TRY_AGAIN,
    BadReturn,
    deny,
    prepared_writer,
    text_messages,
    to_message,
)
from nova_cli.runtime.invoke import is_async
from nova_cli.runtime.request import Request
from nova_cli.runtime.route_compiler import describe
from nova_cli.runtime.ws_plugins import WsPluginError, WsPlugins

if TYPE_CHECKING:
    from nova_cli.runtime.shutdown import Connections

log = logging.getLogger("nova_cli.websocket")
prepared_frame = text_messages.frame

FRAME, CLOSED, CONTROL, RESUMED, AWAITED = (  # the mailbox kinds (process.Kind)
    Kind.FRAME,
    Kind.CLOSED,
    Kind.CONTROL,
    Kind.RESUMED,
    Kind.AWAITED,
)
CLOSE_SECONDS = 5.0  # at most this long to send a close frame to a client


class Stop(Exception):
    """End the connection: send `code` (unless the client is gone), terminate(`reason`)."""

    def __init__(self, reason: Any, code: int | None = NORMAL, text: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.text = text


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
        connections: Connections,  # the app's open connections (see shutdown.py)
        *,
        threaded: bool = False,
        plugins: WsPlugins | None = None,  # the route's ws-phase plugins, if it has any
    ) -> None:
        super().__init__(max_messages=config.ws_queue_messages, max_bytes=config.ws_queue_bytes)
        self.connections = connections
        self.handler = handler
        self.req = req
        self.scope = scope
        self._receive = receive
        self._send = send
        self._write_frame = prepared_writer(scope, send)  # None: ASGI sends only
        self.dev = config.dev
        self.max_message_size = config.ws_max_message_size
        self.idle_timeout = config.ws_idle_timeout
        self.threaded = threaded  # sync callbacks run in a worker thread
        self.plugins = plugins
        self.state: Any = None
        # The connection's own context: every callback runs in it, whoever calls it.
        self.context = contextvars.copy_context()
        self.context.run(process.set_current, self.pid)
        self._task: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._stopping: Stop | None = None
        self._accepted = False
        self._exiting = False
        self._closed = False
        self._last_frame = 0.0
        self._inline = False  # a callback is running inside deliver()
        self._info: Any = None  # websocket_info as last seen by deliver(), and whether
        self._info_is_sync = False  # it is a plain def that may run there
        self.close_deadline: float | None = None  # set by close_all: the shutdown budget

    # -- lifecycle ------------------------------------------------------
    async def run(self) -> None:
        """Serve the connection to its end, in the calling (ASGI) task."""
        self._task = asyncio.current_task()
        self.register()
        self.connections.add(self)
        try:
            opened = await self._open()
            stop = opened if opened is not None else await self._serve()
        except asyncio.CancelledError:
            if self._stopping is None:  # the server cancelled the ASGI task
                await self._exit(Stop("shutdown", GOING_AWAY, "server shutdown"))
                raise
            _uncancel()
            stop = self._stopping
        except Exception as exc:  # a bug in the runtime: the connection still exits
            log.exception("connection %s failed", self.pid)
            stop = Stop(("crash", exc), INTERNAL, "internal error")
        await self._exit(stop)

    async def _open(self) -> Stop | None:
        """`init`, then the upgrade; a Stop when the connection ends before serving."""
        state: dict[str, Any] = {"req": self.req, "session": self.req.session.snapshot()}
        if self.req.auth_data is not None:
            state["auth_data"] = self.req.auth_data
        self.state = state
        if self.plugins is not None:
            refused = await self._plugins_before_init()
            if refused is not None:
                return refused
        try:
            result = await self._call("init", self.state, default=("ok", self.state))
        except Exception as exc:
            log.exception("%s init crashed for %s", describe(self.handler), self.pid)
            error = errors.error_response(self.req.headers, 500, str(exc), exc=exc, dev=self.dev)
            await deny(self.scope, self._send, error)
            return Stop(("crash", exc), None)
        if not (type(result) is tuple and len(result) == 2 and result[0] == "ok"):
            log.info("%s init refused the upgrade: %.200r", describe(self.handler), result)
            if type(result) is tuple and len(result) == 2:
                self.state = result[1]
            await deny(self.scope, self._send, Response(b"", 403))
            return Stop("refused", None)
        self.state = result[1]
        try:
            await self._send({"type": "websocket.accept"})
        except Exception as exc:  # uvicorn's ClientDisconnected: gone before the 101
            self._closed = True
            return Stop(("remote", 1006, f"gone before the upgrade: {exc}"), None)
        self._accepted = True
        return None

    async def _serve(self) -> Stop:
        """Run callbacks until something stops the connection; return why."""
        self._reader = asyncio.create_task(self._read())
        self._last_frame = self.loop.time()
        if self.idle_timeout > 0:
            self.loop.call_later(self.idle_timeout, self._check_idle)
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
                    await message  # a reply that began in deliver() and had to wait
                elif kind == AWAITED:
                    await self._apply(await self._in_context(message))
                elif kind == FRAME or kind == process.INFO:
                    await self._handle(kind, message)
                else:
                    return message  # a Stop queued by the reader, a timer or shutdown
        except Stop as stop:
            return stop
        except asyncio.CancelledError:
            if self._stopping is None:
                raise
            _uncancel()
            return self._stopping
        except Exception as exc:
            log.exception(
                "%s crashed in %s; closing it with 1011", describe(self.handler), self.pid
            )
            return Stop(("crash", exc), INTERNAL, "internal error")

    async def _exit(self, stop: Stop) -> None:
        """The one exit path: unregister, leave every channel, close, terminate once."""
        if self._exiting:
            return
        self._exiting = True
        self.connections.discard(self)
        if self._reader is not None:
            self._reader.cancel()
        for _kind, message, _size in self._mailbox:
            if isinstance(message, Rest) or inspect.iscoroutine(message):
                message.close()  # never to be awaited now
        self.exit()  # unregisters and leaves every pub/sub channel: nothing more is delivered
        cancelled = False
        if self._accepted and stop.code is not None and not self._closed:
            try:
                # A client too slow to read may never take the close frame.
                await asyncio.wait_for(self._close(stop.code, stop.text), self._close_seconds())
            except asyncio.CancelledError:
                cancelled = True  # cancelled again while closing: terminate all the same
            except Exception:
                pass
        await self._terminate(stop.reason)
        if self.plugins is not None:
            await self._plugins_after_connection()
        if cancelled:
            raise asyncio.CancelledError

    def _close_seconds(self) -> float:
        if self.close_deadline is None:
            return CLOSE_SECONDS
        return max(0.0, min(CLOSE_SECONDS, self.close_deadline - self.loop.time()))

    async def _terminate(self, reason: Any) -> None:
        fn = getattr(self.handler, "terminate", None)
        if not callable(fn):
            return
        try:
            await self._invoke(fn, reason, self.req, self.state)
        except asyncio.CancelledError:
            log.warning("%s terminate was cancelled for %s", describe(self.handler), self.pid)
            raise
        except Exception:
            log.exception("%s terminate crashed for %s", describe(self.handler), self.pid)

    def stop_with(self, stop: Stop, *, force: bool = False) -> None:
        """Stop from outside the connection's task (overflow, shutdown).

        By default the stop waits its turn in the mailbox, after the callback
        in progress; `force` cancels the task at once, which also frees a
        connection waiting on a socket that will not drain.
        """
        if self._stopping is not None or self._exiting:
            return
        self._stopping = stop
        if force:
            self.force_stop()
        else:
            self.put_control(CONTROL, stop)

    def force_stop(self) -> None:
        """Cancel a connection that did not stop in time; its exit path still runs."""
        if self._stopping is None:
            self._stopping = Stop("shutdown", GOING_AWAY, "server shutdown")
        if self._task is not None and not self._exiting:
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
        if self.threaded and not is_async(fn):
            result = await anyio.to_thread.run_sync(self.context.run, fn, message, self.state)
        else:
            result = self.context.run(fn, message, self.state)
            if type(result) is not tuple and inspect.isawaitable(result):
                result = await self._in_context(result)
        await self._apply(result)
        if self.plugins is not None and kind == FRAME:
            await self._plugins_after_handle()

    def deliver(self, message: Any, size: int = 0) -> None:
        """Queue an info message, or handle it at once when the connection is idle.

        An idle connection (its task parked on an empty mailbox) whose
        `websocket_info` is a plain `def` runs it right here, in the
        connection's own context, instead of waking its task: a broadcast to
        1,000 idle members then costs no task switch per member.  Order and
        exclusion hold: nothing is queued before the message and no callback
        of this connection is running.  If the reply must wait for the
        socket, the rest runs in the connection's task, before anything
        queued after it.
        """
        waiter = self._waiter
        if (
            waiter is None
            or waiter.done()
            or self._mailbox
            or self._inline
            or self._stopping is not None
            or self.threaded
            or threading.get_ident() != self._thread
        ):
            super().deliver(message, size)
            return
        fn: Any = getattr(self.handler, "websocket_info", None)
        if fn is not self._info:  # the first message, or a module reloaded meanwhile
            self._info, self._info_is_sync = fn, fn is not None and not is_async(fn)
        if not self._info_is_sync:
            if fn is not None:
                super().deliver(message, size)  # async: it runs in the connection's task
            return
        self._inline = True
        try:
            self.context.run(self._handle_inline, fn, message)
        finally:
            self._inline = False

    def _handle_inline(self, fn: Callable[..., Any], message: Any) -> None:
        """A sync `websocket_info` run by deliver(); whatever it raises stays with this process."""
        try:
            result = fn(message, self.state)
            text = _text_reply(result)
            if text is not None:  # a chat's reply: a prepared frame, or one coroutine
                self.state = result[2]
                write = self._write_frame  # (_wrote_prepared, inlined: once per member)
                if write is not None and write(prepared_frame(text)):
                    return
                step = self._write(text_messages.get(text))
            elif type(result) is not tuple and inspect.isawaitable(result):
                self._first(AWAITED, result)  # the connection's task awaits it
                return
            else:
                step = self._apply(result)
            finished, rest = run_eagerly(step)
            if not finished:
                self._first(RESUMED, rest)
        except Stop as stop:
            self._first(CONTROL, stop)
        except BaseException as exc:  # CancelledError too: it must not reach the sender
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            log.exception(
                "%s crashed in %s; closing it with 1011", describe(self.handler), self.pid
            )
            self._first(CONTROL, Stop(("crash", exc), INTERNAL, "internal error"))

    def _first(self, kind: int, message: Any) -> None:
        """Queue ahead of everything else: it continues or ends what ran in deliver()."""
        self._mailbox.appendleft((kind, message, 0))
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- the ws plugin phases (see ws_plugins.py) -----------------------
    async def _plugins_before_init(self) -> Stop | None:
        """pre_ws_request: a Stop when a plugin refused the upgrade (403, or 500 on error)."""
        assert self.plugins is not None
        try:
            go_on, self.state = await self.plugins.run("pre_ws_request", self.state, self._invoke)
        except Exception as exc:
            if isinstance(exc, WsPluginError):
                log.error("%s; refusing the upgrade of %s", exc, self.pid)
            else:
                log.exception("pre_ws_request crashed for %s", self.pid)
            error = errors.error_response(self.req.headers, 500, str(exc), exc=exc, dev=self.dev)
            await deny(self.scope, self._send, error)
            return Stop(("error", exc), None)
        if not go_on:
            log.info("a pre_ws_request plugin refused the upgrade of %s", self.pid)
            await deny(self.scope, self._send, Response(b"", 403))
            return Stop("refused", None)
        return None

    async def _plugins_after_handle(self) -> None:
        """post_ws_request: `stop` closes the connection with 1000, `error` with 1011."""
        assert self.plugins is not None
        try:
            go_on, self.state = await self.plugins.run("post_ws_request", self.state, self._invoke)
        except WsPluginError as exc:
            log.error("%s; closing %s with %d", exc, self.pid, INTERNAL)
            raise Stop(("error", exc), INTERNAL, "internal error") from None
        if not go_on:
            raise Stop("stop", NORMAL)

    async def _plugins_after_connection(self) -> None:
        """post_ws_connection, after terminate; what it returns changes nothing now."""
        assert self.plugins is not None
        try:
            await self.plugins.run("post_ws_connection", self.state, self._invoke)
        except Exception:
            log.exception("post_ws_connection failed for %s", self.pid)

    # -- the socket -----------------------------------------------------
    async def _read(self) -> None:
        """Move the client's frames into the mailbox, in order."""
        try:
            await self._read_frames()
        except asyncio.CancelledError:
            raise
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
                code, reason = message.get("code", 1005), message.get("reason") or ""
                if code == TRY_AGAIN and reason == SLOW_CONSUMER:
                    stop = Stop("overflow", None)  # the server closed a client that does not read
                else:
                    stop = Stop(("remote", code, reason), None)
                self.put_control(CLOSED, stop)
                return

    async def _close(self, code: int, reason: str = "") -> None:
        if not self._closed:
            self._closed = True
            await self._send({"type": "websocket.close", "code": code, "reason": reason})

    def _wrote_prepared(self, text: str) -> bool:
        """Write `text` as the frame shared by every member, if the server can take it now."""
        write = self._write_frame
        return write is not None and write(prepared_frame(text))

    async def _write(self, message: dict[str, Any]) -> None:
        try:
            await self._send(message)
        except OSError as exc:  # uvicorn's ClientDisconnected: the client went away
            self._closed = True
            raise Stop(("remote", 1006, str(exc)), None) from None

    # -- callbacks ------------------------------------------------------
    async def _call(self, name: str, *args: Any, default: Any = None) -> Any:
        fn = getattr(self.handler, name, None)
        if fn is None:
            if default is None:
                raise BadReturn(f"{describe(self.handler)} has no {name}")
            return default
        return await self._invoke(fn, *args)

    async def _invoke(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Call a callback in the connection's context (in a thread, if so configured)."""
        if self.threaded and not is_async(fn):
            # The task waits meanwhile, so the context is entered in one place at a time.
            return await anyio.to_thread.run_sync(self.context.run, fn, *args)
        result = self.context.run(fn, *args)
        if inspect.isawaitable(result):
            return await self._in_context(result)
        return result

    def _in_context(self, awaitable: Awaitable[Any]) -> Awaitable[Any]:
        if inspect.iscoroutine(awaitable):
            return InContext(awaitable, self.context)
        return awaitable  # a future or the like: no code of the app's runs in its steps

    async def _apply(self, result: Any) -> None:
        """Act on a callback's result: keep the state, send replies, or stop."""
        if type(result) is tuple and result:
            tag, size = result[0], len(result)
            if tag == "ok" and size in (2, 3):
                self.state = result[1]
                return
            if tag == "reply" and size in (3, 4):
                self.state = result[2]
                text = _text_reply(result)
                if text is not None:
                    if not self._wrote_prepared(text):
                        await self._write(text_messages.get(text))
                else:
                    await self._reply(result[1])
                return
            if tag == "stop" and size in (2, 3):
                self.state = result[1]
                raise Stop("stop", NORMAL)
        elif result == "ok":
            return
        raise BadReturn(f"{describe(self.handler)} returned {result!r:.100}; expected {RETURNS}")

    async def _reply(self, frames: Any) -> None:
        for frame in frames if type(frames) is list else (frames,):
            message = to_message(frame)
            if message is None:
                continue
            if message["type"] == "websocket.close":
                raise Stop("stop", message["code"], message["reason"])
            await self._write(message)


def _text_reply(result: Any) -> str | None:
    """The text of `("reply", ("text", str), state)`, the reply of a chat; None otherwise.

    Recognised without the general path's extra steps: it runs once per
    member of every broadcast.
    """
    if type(result) is tuple and len(result) in (3, 4) and result[0] == "reply":
        frame = result[1]
        if type(frame) is tuple and len(frame) == 2 and frame[0] == "text":
            text = frame[1]
            if type(text) is str:
                return text
    return None


def _uncancel() -> None:
    """Take back a cancellation the connection asked for itself (overflow, shutdown)."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()
