"""Run a coroutine right now, up to its first real wait; hand the rest to a task.

A broadcast delivers to idle connections inside the broadcaster's call: the
receiver's sync callback runs, and its reply is written, without a task
switch per member.  Writing a reply is a coroutine (the ASGI `send`) that
nearly always finishes without waiting; when it must wait (a socket that is
not writable), what is left is awaited by the receiver's own task.
"""

from __future__ import annotations

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
