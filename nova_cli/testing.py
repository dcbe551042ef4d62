"""A testing kit for Nova apps: Nova's `nova_test` and Phoenix's ChannelTest, in process.

    from nova_cli.testing import app_client, assert_broadcast

    with app_client() as client:  # the project found from the cwd, like `nova serve`
        assert client.get("/heartbeat").status_code == 200
        with client.sockets("/chat", n=2) as (alice, bob):
            alice.send_text("hi")
            assert_broadcast([alice, bob], "hi")

`AppClient` is Starlette's `TestClient`: its HTTP methods are the request
builder (`headers=`, `json=`, `params=`, `content=`, cookies kept between
requests), and entering it runs the app's lifespan in an event loop of its
own, on a thread.  Its sockets run in that loop, as a server's would, so a
broadcast from one reaches the others.  Every wait has a timeout, and what
does not arrive in time is an `AssertionError` naming the socket, never a
test that hangs.  See docs/testing.md.

(One module, a little over the usual size: it is what an app's tests
import, `from nova_cli.testing import ...`, and its client and sockets
share one event loop and its clock.)
"""

from __future__ import annotations

import contextlib
import json
import math
import queue
import time
from collections.abc import Hashable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextvars import Token
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
import anyio.abc
import anyio.from_thread
from anyio.streams.memory import MemoryObjectSendStream
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message, Scope

from nova_cli import pubsub

__all__ = ["AppClient", "Socket", "UpgradeRefused", "app_client", "assert_broadcast"]

RECEIVE_TIMEOUT = 2.0  # seconds: what a wait allows unless told otherwise
# Put in a socket's inbox when the app's call for it returns: nothing more will come.
_ENDED: Message = {"type": "nova.testing.ended"}


def app_client(
    *,
    root: str | Path | None = None,
    app: str | None = None,
    receive_timeout: float = RECEIVE_TIMEOUT,
    **settings: Any,
) -> AppClient:
    """A client for the Nova app of the project at `root` (default: found from the cwd).

    `settings` override `[tool.nova]` as in `create_app` (`environment="dev"`).
    Use it as a context manager: entering runs the app's lifespan, leaving
    shuts it down (closing the sockets still open with 1001).
    """
    from nova_cli.runtime import create_app

    return AppClient(create_app(app, root=root, **settings), receive_timeout=receive_timeout)


class UpgradeRefused(AssertionError):
    """The app answered a WebSocket upgrade with an HTTP response instead of accepting it."""

    def __init__(self, path: str, status: int, headers: Mapping[str, str], body: bytes) -> None:
        said = f": {body!r:.200}" if body else ""
        super().__init__(f"the WebSocket upgrade of {path} was refused with {status}{said}")
        self.status = status
        self.headers = dict(headers)
        self.body = body


class AppClient(TestClient):
    """Starlette's `TestClient` for a Nova app, with WebSockets that wait with a timeout.

    Unlike `TestClient`, it does not follow redirects by default: a
    controller's `("redirect", "/login")` is asserted as the 302 it is.
    While it is open, the test's own `nova_cli.pubsub` calls act on its app.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        receive_timeout: float = RECEIVE_TIMEOUT,
        follow_redirects: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(app, follow_redirects=follow_redirects, **options)
        self.receive_timeout = receive_timeout
        self._opened: dict[str, int] = {}
        found = getattr(getattr(app, "router", None), "pubsub", None)
        # A Nova app's own pub/sub; another ASGI app has none (pubsub's default then).
        self._pubsub = found if isinstance(found, pubsub.PubSub) else None
        self._activation: Token[pubsub.PubSub | None] | None = None

    def __enter__(self) -> AppClient:
        super().__enter__()
        if self._pubsub is not None:
            # Outside any app's context, pubsub means the app started last, which
            # is no app at all once an inner client has shut down: say which.
            self._activation = pubsub.activate(self._pubsub)
        return self

    def __exit__(self, *args: Any) -> None:
        try:
            super().__exit__(*args)
        finally:
            if self._activation is not None:
                pubsub.deactivate(self._activation)
                self._activation = None

    def ws(
        self,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        subprotocols: Sequence[str] | None = None,
    ) -> Socket:
        """Open a WebSocket to `path`, returning once the app accepted it (`init` has run).

        A refusal raises `UpgradeRefused`, with the status the app answered.
        The socket is a context manager that closes it.
        """
        if self.portal is None:
            raise RuntimeError(
                "open the client first, `with app_client() as client:`: its sockets "
                "run in the event loop that the client starts with the app's lifespan"
            )
        # TestClient builds the request (base URL, headers, cookies) and hands
        # back the ASGI app and scope, which the socket then runs itself.
        session = self.websocket_connect(
            path, subprotocols=subprotocols, headers=dict(headers or {})
        )
        number = self._opened[path] = self._opened.get(path, 0) + 1
        return Socket(self.portal, session.app, session.scope, path, number, self.receive_timeout)

    @contextlib.contextmanager
    def sockets(self, path: str, n: int = 2, **options: Any) -> Iterator[tuple[Socket, ...]]:
        """Open `n` sockets to `path`, one after the other; close them all on exit."""
        with contextlib.ExitStack() as stack:
            yield tuple(stack.enter_context(self.ws(path, **options)) for _ in range(n))

    def wait_for_members(self, channel: Hashable, count: int, timeout: float | None = None) -> None:
        """Wait until `channel` has `count` members in this app, or fail after `timeout`.

        A socket is open once `init` has run, so a handler that joins in
        `init` needs no wait; one that joins in `websocket_init`, which runs
        after the upgrade, does before a broadcast must reach it.
        """
        wait = self.receive_timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        members_of = self._pubsub.hub.members if self._pubsub else pubsub.get_local_members
        while True:
            members = len(members_of(channel))
            if members == count:
                return
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"channel {channel!r} has {members} members, not {count}, after {wait:g} s"
                )
            time.sleep(0.01)


class Socket:
    """A WebSocket to the app, as its client sees it.

    The app's side runs in the client's event loop; what it sends lands in
    an inbox here, which every `receive_*` reads with a timeout.  Closing
    (or leaving the `with` block) waits for the handler to finish, its
    `terminate` included.
    """

    def __init__(
        self,
        portal: anyio.from_thread.BlockingPortal,
        app: ASGIApp,
        scope: Scope,
        path: str,
        number: int,
        timeout: float,
    ) -> None:
        self.path = path
        self.name = f"{path} #{number}"  # what a failure calls it: the n-th socket to `path`
        self.timeout = timeout
        self.close_code: int | None = None  # once closed, by the app or by the test
        self.close_reason = ""
        self._portal = portal
        self._app = app
        self._scope = scope
        self._inbox: queue.Queue[Message] = queue.Queue()
        self._closing = False
        self._task: Future[None]
        self._to_app: MemoryObjectSendStream[Message]
        self._task, self._to_app = portal.start_task(self._run)
        self._upgrade()

    def __repr__(self) -> str:
        return f"<Socket {self.name}>"

    def __enter__(self) -> Socket:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- sending ----------------------------------------------------------
    def send_text(self, text: str) -> None:
        """Send a text frame: the handler's `websocket_handle` gets `("text", text)`."""
        self._send({"type": "websocket.receive", "text": text})

    def send_bytes(self, data: bytes) -> None:
        """Send a binary frame: the handler's `websocket_handle` gets `("binary", data)`."""
        self._send({"type": "websocket.receive", "bytes": data})

    def send_json(self, value: Any) -> None:
        """Send `value` as JSON in a text frame."""
        self.send_text(json.dumps(value))

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close from the client's side and wait for the handler to finish; once."""
        if self._closing:
            return
        self._closing = True
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        self._deliver({"type": "websocket.disconnect", "code": code, "reason": reason})
        self._finish("the socket closed")

    # -- receiving --------------------------------------------------------
    def receive_text(self, timeout: float | None = None) -> str:
        """The text of the next message, within `timeout` seconds (default: the client's)."""
        message = self._receive_data(timeout, "a text message")
        text = message.get("text")
        if text is None:
            raise AssertionError(f"{self.name} got {_describe(message)}, not a text message")
        return str(text)

    def receive_bytes(self, timeout: float | None = None) -> bytes:
        """The bytes of the next message, which must be binary."""
        message = self._receive_data(timeout, "a binary message")
        if message.get("text") is not None:
            raise AssertionError(f"{self.name} got {_describe(message)}, not a binary message")
        return bytes(message.get("bytes") or b"")

    def receive_json(self, timeout: float | None = None) -> Any:
        """The next text message, decoded from JSON."""
        text = self.receive_text(timeout)
        try:
            return json.loads(text)
        except ValueError:
            raise AssertionError(f"{self.name} got text {text!r:.200}, which is not JSON") from None

    def receive_close(self, timeout: float | None = None) -> tuple[int, str]:
        """Wait for the app to close the socket; its `(code, reason)`."""
        if self.close_code is not None:
            return self.close_code, self.close_reason
        wait = self._wait(timeout)
        message = self._next(wait)
        if message is None:
            raise AssertionError(f"{self.name} was not closed within {wait:g} s")
        if self.close_code is None:
            raise AssertionError(f"{self.name} got {_describe(message)}, not a close")
        return self.close_code, self.close_reason

    def assert_no_message(self, timeout: float = 0.1) -> None:
        """Assert that nothing arrives within `timeout` seconds (a close counts)."""
        message = self._next(timeout)
        if message is not None:
            raise AssertionError(f"{self.name} got {_describe(message)}, expected nothing")

    # -- inner workings ---------------------------------------------------
    async def _run(self, *, task_status: anyio.abc.TaskStatus[Any]) -> None:
        """The app's side of the socket: one ASGI call, in the client's event loop."""
        to_app, from_client = anyio.create_memory_object_stream[Message](math.inf)
        with to_app, from_client:
            task_status.started(to_app)
            try:
                await self._app(self._scope, from_client.receive, self._from_app)
            finally:
                self._inbox.put(_ENDED)

    async def _from_app(self, message: Message) -> None:
        # Never waits: a broadcast that runs a member's callback inline stays inline.
        self._inbox.put(message)

    def _send(self, message: Message) -> None:
        if not self._deliver(message):
            raise AssertionError(f"{self.name} is closed{self._code()}: cannot send to it")

    def _deliver(self, message: Message) -> bool:
        """Hand `message` to the app; False when its call has returned (the socket is over)."""
        if self._task.done():
            return False
        try:
            self._portal.call(self._to_app.send_nowait, message)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            return False
        return True

    def _code(self) -> str:
        if self.close_code is None:
            return ""
        reason = f", {self.close_reason!r}" if self.close_reason else ""
        return f" ({self.close_code}{reason})"

    def _upgrade(self) -> None:
        """Ask the app to accept the socket; raise unless it does."""
        self._deliver({"type": "websocket.connect"})  # an app may answer without reading it
        answer = self._next(self.timeout)
        if answer is None:
            self._task.cancel()
            raise AssertionError(
                f"no answer to the WebSocket upgrade of {self.name} within {self.timeout:g} s"
            )
        if answer["type"] == "websocket.accept":
            return
        self._closing = True
        if answer["type"] == "websocket.http.response.start":
            body = self._refusal_body()
            self._finish("it refused the upgrade")
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in answer["headers"]}
            raise UpgradeRefused(self.path, answer["status"], headers, body)
        self._finish("it answered the upgrade")  # raises what the app raised, if it did
        if self.close_code is not None:  # a close before the accept is a 403 (ASGI)
            raise UpgradeRefused(self.path, 403, {}, b"")
        raise AssertionError(
            f"the app ended without answering the WebSocket upgrade of {self.path}"
        )

    def _refusal_body(self) -> bytes:
        body = b""
        while (part := self._next(self.timeout)) is not None:
            if part["type"] != "websocket.http.response.body":
                break
            body += part.get("body", b"")
            if not part.get("more_body", False):
                break
        return body

    def _finish(self, why: str) -> None:
        """Wait for the app's call to return; re-raise what it raised."""
        try:
            self._task.result(timeout=self.timeout)
        except TimeoutError:
            if self._task.done():  # the app's own TimeoutError
                raise
            self._task.cancel()
            raise AssertionError(
                f"the handler of {self.name} did not finish within {self.timeout:g} s after {why}"
            ) from None

    def _wait(self, timeout: float | None) -> float:
        return self.timeout if timeout is None else timeout

    def _next(self, timeout: float) -> Message | None:
        """The next message from the app within `timeout` seconds, or None."""
        try:
            message = self._inbox.get(timeout=timeout)
        except queue.Empty:
            return None
        if message is _ENDED:
            self._inbox.put(_ENDED)  # every later read sees the end at once
        elif message["type"] == "websocket.close":
            self.close_code = message.get("code", 1000)
            self.close_reason = message.get("reason") or ""
        return message

    def _receive_data(self, timeout: float | None, what: str) -> Message:
        """The next message, which must be data; any other outcome fails, naming the socket."""
        wait = self._wait(timeout)
        message = self._next(wait)
        if message is None:
            raise AssertionError(f"no message on {self.name} within {wait:g} s (expected {what})")
        if message is _ENDED and self.close_code is not None:
            raise AssertionError(f"{self.name} is closed{self._code()}; expected {what}")
        if message["type"] != "websocket.send":
            raise AssertionError(f"{self.name} got {_describe(message)}, not {what}")
        return message


def assert_broadcast(
    sockets: Sequence[Socket], expected: Any, timeout: float | None = None
) -> None:
    """Assert that the next message of every socket is `expected`, within `timeout` in all.

    `expected` is the text of a text frame (str), the data of a binary
    frame (bytes), or any other value, which a text frame must hold as JSON.
    The failure names every socket that missed it and what it got instead.
    """
    if not sockets:
        raise ValueError("assert_broadcast needs at least one socket")
    wait = sockets[0].timeout if timeout is None else timeout
    deadline = time.monotonic() + wait
    problems = []
    for socket in sockets:
        message = socket._next(max(0.0, deadline - time.monotonic()))
        if message is None:
            problems.append(f"{socket.name} got nothing")
        elif not _matches(message, expected):
            problems.append(f"{socket.name} got {_describe(message)}")
    if problems:
        reached = len(sockets) - len(problems)
        raise AssertionError(
            f"broadcast {expected!r:.200} reached {reached} of {len(sockets)} sockets "
            f"within {wait:g} s: {'; '.join(problems)}"
        )


def _matches(message: Message, expected: Any) -> bool:
    if message["type"] != "websocket.send":
        return False
    text = message.get("text")
    if isinstance(expected, str):
        return bool(text == expected)
    if isinstance(expected, bytes):
        return text is None and message.get("bytes") == expected
    if text is None:
        return False
    try:
        return bool(json.loads(text) == expected)
    except ValueError:
        return False


def _describe(message: Message) -> str:
    """A message from the app, as a failure states it."""
    kind = message["type"]
    if kind == "websocket.send":
        text = message.get("text")
        if text is not None:
            return f"text {text!r:.200}"
        return f"binary {message.get('bytes')!r:.200}"
    if kind == "websocket.close":
        reason = message.get("reason") or ""
        return f"a close ({message.get('code', 1000)}{', ' + repr(reason) if reason else ''})"
    return "the end of its handler, without a close"
