"""Calling user code that may be written `def` or `async def`.

HTTP-side user code (controllers, security callables, plugins, fallbacks)
follows Starlette: an `async def` is awaited on the event loop, a plain
`def` runs in the thread pool so that blocking work never stalls the server.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool


def is_async(fn: Any) -> bool:
    """True for coroutine functions, partials of them and objects with an async __call__."""
    try:
        return _is_async_cached(fn)
    except TypeError:  # an unhashable callable object
        return _is_async(fn)


def _is_async(fn: Any) -> bool:
    while isinstance(fn, functools.partial):
        fn = fn.func
    if inspect.iscoroutinefunction(fn):
        return True
    # A callable object: look at its __call__ method.
    return not inspect.isroutine(fn) and inspect.iscoroutinefunction(type(fn).__call__)


# Asked on every request for the same few controllers: answer from a cache.
# (A reloaded module's functions are new objects, so they get new entries.)
_is_async_cached = functools.lru_cache(maxsize=4096)(_is_async)


async def call(
    fn: Callable[..., Any], *args: Any, finish: Callable[[Any], Any] | None = None
) -> Any:
    """Await `fn(*args)`: inline if async, in the thread pool if sync.

    `finish`, when given, is applied to a sync `fn`'s result in the same worker
    thread, so blocking work that follows the call (rendering the view it
    returned) stays off the event loop without a second trip to the pool.
    An async `fn`'s result is returned as it is.
    """
    if is_async(fn):
        return await fn(*args)
    if finish is None:
        result = await run_in_threadpool(fn, *args)
    else:
        result = await run_in_threadpool(_then, fn, args, finish)
    if inspect.isawaitable(result):  # a sync wrapper that returned a coroutine
        result = await result
    return result


def _then(fn: Callable[..., Any], args: tuple[Any, ...], finish: Callable[[Any], Any]) -> Any:
    return finish(fn(*args))
