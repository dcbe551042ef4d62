"""Erlang-style processes: pids, mailboxes, `self()` and `send(pid, message)`.

Every WebSocket connection is one logical process.  Its pid is opaque,
hashable and printable, and names the node (this worker process, `node()`)
it lives on, so that a distributed pub/sub backend can route a message for a pid to
the worker that owns it.  Messages sent to a process arrive in its mailbox
and are handled one at a time, in arrival order, by its own task.

`send` may be called from the event loop or from any thread (a sync
controller runs in the thread pool); delivery always happens on the loop
that owns the process, so a process's callbacks never run concurrently.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar
from enum import IntEnum
from typing import Any

from nova_cli import terms
from nova_cli.pid import Pid, fix_node, node

__all__ = ["Pid", "Process", "self", "send", "is_alive", "node", "fix_node"]

_ids = itertools.count(1)
log = logging.getLogger("nova_cli.process")


class Kind(IntEnum):
    """What a mailbox entry `(kind, message, size)` holds."""

    INFO = 0  # a message sent to the process (`send`, pub/sub): websocket_info's
    FRAME = 1  # a client's frame: websocket_handle's
    CLOSED = 2  # the socket ended (a Stop saying how)
    CONTROL = 3  # a Stop from a timer, an overflow or the shutdown
    RESUMED = 4  # the rest of a reply begun inside deliver(), to finish first
    AWAITED = 5  # an awaitable a plain-def websocket_info returned: its result counts


INFO = Kind.INFO  # the kind `send` and pub/sub deliver


def new_pid() -> Pid:
    return Pid(node(), next(_ids))


class Process:
    """A mailbox owned by one task on one event loop.

    Subclasses (a WebSocket connection) read the mailbox with `receive()`
    and decide what happens when it overflows, in `on_overflow`.

    What goes into a mailbox, and by which door:

    - `deliver`: a message sent to the process (`send`, pub/sub), from any
      thread, bounded (`on_overflow` past the bound);
    - `_put`: `deliver` from another thread, run on the owner's loop;
    - `put_control`: the owner's own control items (the end of the socket,
      a stop), never refused: they are how a full mailbox gets emptied;
    - `put_when_room`: the client's frames, which wait for room instead of
      overflowing (back-pressure: the socket is not read meanwhile);
    - a connection also puts an item first in line (`Connection._first`):
      the rest of what began in `deliver`, which must run before anything else.
    """

    def __init__(self, *, max_messages: int = 1000, max_bytes: int = 1024 * 1024) -> None:
        self.pid = new_pid()
        self.loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._mailbox: deque[Any] = deque()
        self._bytes = 0
        self._waiter: asyncio.Future[None] | None = None
        self._room: asyncio.Future[None] | None = None
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.alive = True
        self._exit_hooks: list[Callable[[Pid], None]] = []
        self._hooks_lock = threading.Lock()

    # -- registry -------------------------------------------------------
    def register(self) -> None:
        _processes[self.pid] = self

    def exit(self) -> None:
        """Unregister and run exit hooks (pub/sub leaves every channel here), once."""
        with self._hooks_lock:
            if not self.alive:
                return
            self.alive = False
            hooks, self._exit_hooks = self._exit_hooks, []
        _processes.pop(self.pid, None)
        self._mailbox.clear()
        for hook in hooks:
            _run_hook(hook, self.pid)

    def on_exit(self, hook: Callable[[Pid], None]) -> None:
        """Call `hook(pid)` when the process exits; at once if it already has.

        Safe from any thread: a hook added while the process exits on its
        loop either runs with the others or runs here, never not at all.
        """
        with self._hooks_lock:
            if self.alive:
                if hook not in self._exit_hooks:
                    self._exit_hooks.append(hook)
                return
        _run_hook(hook, self.pid)

    # -- mailbox --------------------------------------------------------
    def deliver(self, message: Any, size: int = 0) -> None:
        """Queue an info `message`; thread-safe.  `size` counts toward `max_bytes`."""
        if threading.get_ident() != self._thread:
            self.loop.call_soon_threadsafe(self._put, INFO, message, size)
            return
        # The hot path of every broadcast, inlined: append and wake the owner.
        if not self.alive:
            return
        mailbox = self._mailbox
        if len(mailbox) >= self.max_messages or self._bytes + size > self.max_bytes:
            self.on_overflow(len(mailbox), self._bytes + size)
            return
        mailbox.append((INFO, message, size))
        self._bytes += size
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _put(self, kind: int, message: Any, size: int) -> None:
        if not self.alive:
            return
        if len(self._mailbox) >= self.max_messages or self._bytes + size > self.max_bytes:
            self.on_overflow(len(self._mailbox), self._bytes + size)
            return
        self.put_control(kind, message, size)

    def put_control(self, kind: int, message: Any, size: int = 0) -> None:
        """Queue without the bounds (the owner's own control messages)."""
        self._mailbox.append((kind, message, size))
        self._bytes += size
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def on_overflow(self, messages: int, size: int) -> None:
        """Called on the loop when the mailbox is full; the default drops the message."""

    async def put_when_room(self, kind: int, message: Any, size: int = 0) -> None:
        """Queue from the owner's own loop, waiting while the mailbox is full
        instead of overflowing (back-pressure on a client's frames)."""
        while len(self._mailbox) >= self.max_messages and self.alive:
            self._room = self.loop.create_future()
            try:
                await self._room
            finally:
                self._room = None
        self.put_control(kind, message, size)

    def take(self) -> tuple[int, Any] | None:
        """The next `(kind, message)` if there is one, without waiting."""
        if not self._mailbox:
            return None
        kind, message, size = self._mailbox.popleft()
        self._bytes -= size
        room = self._room
        if room is not None and not room.done():
            room.set_result(None)
        return kind, message

    async def wait(self) -> None:
        """Wait until the mailbox holds something."""
        while not self._mailbox:
            self._waiter = self.loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    async def receive(self) -> tuple[int, Any]:
        """The next `(kind, message)`, waiting for one if the mailbox is empty."""
        item = self.take()
        while item is None:
            await self.wait()
            item = self.take()
        return item

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.pid}>"


def _run_hook(hook: Callable[[Pid], None], pid: Pid) -> None:
    # One failing hook must not keep the others (leaving channels) from running.
    try:
        hook(pid)
    except Exception:
        log.exception("exit hook %r failed for %s", hook, pid)


_processes: dict[Pid, Process] = {}
_current: ContextVar[Pid | None] = ContextVar("nova_process", default=None)
# A pid the parent made for its context (at import) names the parent's node: a
# forked worker's tasks, which copy that context, make their own.
os.register_at_fork(after_in_child=lambda: _current.set(None))
# Carries a message for another node's pid: set once by nova_cli.pubsub, which
# hands it to the current app's backend (the process model knows no backends).
remote_send: Callable[[Pid, Any], None] | None = None


def self() -> Pid:
    """The pid of the calling process.

    Inside a WebSocket callback: that connection.  Elsewhere (a controller, a
    background task) a pid is made for the calling context; it can send and
    broadcast, but nothing reads its mailbox.
    """
    pid = _current.get()
    if pid is None:
        pid = new_pid()
        _current.set(pid)
    return pid


def send(pid: Pid, message: Any) -> None:
    """Deliver `message` to `pid`'s `websocket_info`.  Like Erlang's `!`,
    sending to a process that is gone does nothing.

    `message` must be able to cross between nodes (`nova_cli.terms`), even
    to a local pid: a `TypeError` here, not on another worker later.
    """
    if not isinstance(pid, Pid):
        raise TypeError(f"send() needs a Pid, got {pid!r}")
    if type(message) not in terms.SCALARS:  # a str message skips the call
        terms.check(message, "process.send message")
    process = _processes.get(pid)
    if process is not None:
        process.deliver(message)
    elif not pid.is_local and remote_send is not None:
        remote_send(pid, message)


# The live local process for a pid, if any: the registry's own `get`, with no
# Python call around it, since it runs for every member of every broadcast.
lookup: Callable[[Pid], Process | None] = _processes.get


def is_alive(pid: Pid) -> bool:
    """True while the local process `pid` runs (remote pids: unknown, False)."""
    return pid in _processes


def set_current(pid: Pid | None) -> Any:
    """Make `pid` what `self()` returns in this context; returns a reset token."""
    return _current.set(pid)
