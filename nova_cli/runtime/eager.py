"""Driving coroutines by hand: eagerly, and in a context of one's choosing.

A broadcast delivers to idle connections inside the broadcaster's call: the
receiver's sync callback runs, and its reply is written, without a task
switch per member.  Writing a reply is a coroutine (the ASGI `send`) that
nearly always finishes without waiting; when it must wait (a socket that is
not writable), what is left is awaited by the receiver's own task
(`run_eagerly`).

A connection's callbacks all run in the connection's own `contextvars`
context, whichever task or call runs them.  A sync callback is called with
`Context.run`; an async one is awaited through `InContext`, which runs each
of its steps in that context, inside the task that awaits it (so that
`asyncio.current_task()`, timeouts and cancel scopes are that task's).
"""

from __future__ import annotations

import contextvars
from collections.abc import Coroutine, Generator
from typing import Any


def run_eagerly(coro: Coroutine[Any, Any, Any]) -> tuple[bool, Any]:
    """Run `coro` until it finishes or first waits.

    Returns `(True, result)`, or `(False, rest)` where `rest` is an awaitable
    that carries on from where `coro` stopped, for a task to await.
    """
    try:
        waiting_on = coro.send(None)
    except StopIteration as done:
        return True, done.value
    return False, Rest(coro, waiting_on)


class Rest:
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

    def close(self) -> None:
        """Abandon the remainder (its connection ended before it ran)."""
        self.coro.close()


class InContext:
    """Await `coro` with every step of it run in `context`."""

    __slots__ = ("coro", "context")

    def __init__(self, coro: Coroutine[Any, Any, Any], context: contextvars.Context) -> None:
        self.coro = coro
        self.context = context

    def __await__(self) -> Generator[Any, Any, Any]:
        run, send, throw = self.context.run, self.coro.send, self.coro.throw
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                waiting_on = run(send, value) if error is None else run(throw, error)
            except StopIteration as done:
                return done.value
            try:
                value, error = (yield waiting_on), None
            except BaseException as exc:  # a cancellation, thrown in by the task
                value, error = None, exc
