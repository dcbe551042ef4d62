"""The built-in handlers in the registered handlers' form, for `get_handler`.

Nova's `nova_handlers:get_handler(json)` returns the built-in's callback as
readily as a registered one's, so that a handler of your own can finish with
a built-in.  Here a registered handler is `handle(status_code,
extra_headers, payload) -> Response`; `get_handler` returns the built-ins
with that same signature, as `async` functions:

- `json`: the payload is the data to encode;
- `status`: the body, a dict or list (JSON), str, bytes, or None (empty);
- `redirect`: the URL, sent as `location` with the given status;
- `sendfile`: `(offset, length, path)`, the content type from
  `extra_headers` (default application/octet-stream);
- `ok`, `view`: the view's variables (a dict or a list of pairs), rendered
  with the view of the controller being answered.

`ok` and `view` need that controller: they work inside a handler that is
answering a request, and raise RuntimeError anywhere else.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any

from starlette.responses import Response

from nova_cli.runtime import return_handlers

Handler = Callable[[int, dict[str, str], Any], Coroutine[Any, Any, Response]]


@functools.cache
def as_handler(name: str) -> Handler:
    """The built-in `name` as `async handle(status_code, extra_headers, payload)`."""

    async def handle(status_code: int, extra_headers: dict[str, str], payload: Any) -> Response:
        ctx = return_handlers.current.get()
        value = _as_return_value(name, status_code, dict(extra_headers), payload)
        if ctx is None:
            if name in ("ok", "view"):
                raise RuntimeError(
                    f"the {name!r} handler renders the view of a controller: "
                    "call it from a handler that is answering a request"
                )
            ctx = return_handlers.ReturnContext(None, None, None)  # type: ignore[arg-type]
        return await return_handlers.to_response(value, ctx)

    handle.__name__ = handle.__qualname__ = f"{name}_handler"
    return handle


def _as_return_value(
    name: str, status: int, headers: dict[str, str], payload: Any
) -> tuple[Any, ...]:
    """The controller return value that asks the built-in `name` for this reply."""
    if name == "json":
        return ("json", status, headers, payload)
    if name == "status":
        return ("status", status, headers, b"" if payload is None else payload)
    if name == "redirect":
        if not isinstance(payload, str):
            raise TypeError(f"the redirect handler's payload is the URL, got {payload!r:.60}")
        return ("status", status, {**headers, "location": payload})
    if name == "sendfile":
        mime = headers.pop("content-type", "application/octet-stream")
        return ("sendfile", status, headers, payload, mime)
    return (name, payload, {"status_code": status, "headers": headers})
