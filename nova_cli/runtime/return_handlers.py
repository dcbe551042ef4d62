"""The handler registry and the one normaliser every return value goes through.

Nova's `nova_handlers` maps the first element of a controller's return tuple
(`json`, `ok`, `status`, ...) to a handler.  Built-in handlers get the whole
context (the request, the controller, the views); custom handlers registered
with `register_handler` get Nova's three arguments
`(status_code, extra_headers, payload)` and return a Starlette `Response`.
"""

from __future__ import annotations

import inspect
import json
import json.encoder
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response, StreamingResponse

from nova_cli.runtime.request import Request
from nova_cli.runtime.responses import JSONBytes
from nova_cli.runtime.route_compiler import describe
from nova_cli.runtime.views import Views

RETURN_SHAPES = (
    '("json", data)',
    '("json", status, headers, data)',
    '("ok", vars[, opts])',
    '("view", vars[, opts])',
    '("status", code[, headers[, body]])',
    '("redirect", url)',
    '("sendfile", status, headers, (offset, length, path), mime)',
    "a starlette Response",
    "a tuple whose first element names a handler registered with register_handler",
)


@dataclass(slots=True)
class ReturnContext:
    """What a built-in handler may need besides the returned value."""

    req: Request
    controller: Any
    views: Views | None
    default_status: int = 200  # a status-code route (404, 500, ...) renders with its code


class UnsupportedReturn(Exception):
    """A value no handler recognises; a fallback controller may still resolve it."""

    def __init__(self, value: Any, reason: str = "") -> None:
        self.value = value
        self.reason = reason
        super().__init__(describe_unsupported(value, reason))


def describe_unsupported(value: Any, reason: str = "") -> str:
    text = repr(value)
    if len(text) > 200:
        text = text[:197] + "..."
    why = f" ({reason})" if reason else ""
    return f"controller returned {text}{why}; expected one of: " + "; ".join(RETURN_SHAPES)


# The request a custom handler is answering, for the built-ins it calls.
current: ContextVar[ReturnContext | None] = ContextVar("nova_return_context", default=None)

BuiltinHandler = Callable[[tuple[Any, ...], ReturnContext], Response | Awaitable[Response]]
CustomHandler = Callable[[int, dict[str, str], Any], Any]

_builtins: dict[str, BuiltinHandler] = {}
_custom: dict[str, CustomHandler] = {}


def register_handler(name: str, handler: CustomHandler) -> None:
    """Register `handler(status_code, extra_headers, payload) -> Response` for `name`.

    `("name", payload)` then calls `handler(200, {}, payload)` and
    `("name", status, headers, payload)` calls `handler(status, headers, payload)`.
    Registering the same function again (a module re-imported by the dev
    server) replaces it; another function under a taken name is an error,
    as in Nova, where the first registration wins.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"handler name must be a non-empty string, got {name!r}")
    if not callable(handler):
        raise TypeError(f"handler for {name!r} must be callable, got {handler!r}")
    if name in _builtins:
        raise ValueError(f"{name!r} is a built-in handler and cannot be replaced")
    current = _custom.get(name)
    if current is not None and describe(current) != describe(handler):
        raise ValueError(
            f"handler {name!r} is already registered by {describe(current)}; "
            "call unregister_handler first"
        )
    _custom[name] = handler


def unregister_handler(name: str) -> None:
    """Remove a custom handler; unknown names are ignored."""
    _custom.pop(name, None)


def get_handler(name: str) -> CustomHandler | None:
    """The handler for `name`: a registered one, a built-in, or None.

    A built-in is returned in the registered handlers' form,
    `async handle(status_code, extra_headers, payload) -> Response` (see
    `builtin_handlers.py`), so that a custom handler can hand its work on.
    """
    custom = _custom.get(name)
    if custom is not None:
        return custom
    from nova_cli.runtime.builtin_handlers import as_handler

    return as_handler(name) if name in _builtins else None


async def to_response(value: Any, ctx: ReturnContext) -> Response:
    """Turn anything a controller may return into a Response, or raise UnsupportedReturn."""
    if isinstance(value, Response):
        return value
    if not isinstance(value, tuple) or not value or not isinstance(value[0], str):
        raise UnsupportedReturn(value)
    tag = value[0]
    builtin = _builtins.get(tag)
    if builtin is not None:
        response = builtin(value, ctx)
        return response if isinstance(response, Response) else await response
    custom = _custom.get(tag)
    if custom is None:
        raise UnsupportedReturn(value, f"no handler named {tag!r}")
    if len(value) == 2:
        args: tuple[Any, ...] = (ctx.default_status, {}, value[1])
    elif len(value) == 4:
        args = (value[1], _headers(value[2], value), value[3])
    else:
        raise UnsupportedReturn(
            value, f"handler {tag!r} takes (tag, payload) or (tag, status, headers, payload)"
        )
    # A built-in the handler gets with get_handler renders for this same request.
    token = current.set(ctx)
    try:
        result = custom(*args)
        if inspect.isawaitable(result):
            result = await result
    finally:
        current.reset(token)
    if not isinstance(result, Response):
        raise TypeError(
            f"handler {tag!r} ({describe(custom)}) returned {result!r:.80}, "
            "not a starlette Response"
        )
    return result


def _builtin(name: str) -> Callable[[BuiltinHandler], BuiltinHandler]:
    def add(fn: BuiltinHandler) -> BuiltinHandler:
        _builtins[name] = fn
        return fn

    return add


def _headers(value: Any, whole: tuple[Any, ...]) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, list | tuple) and all(isinstance(p, tuple) and len(p) == 2 for p in value):
        return {str(k): str(v) for k, v in value}
    raise UnsupportedReturn(whole, "headers must be a dict")


def _status(value: Any, whole: tuple[Any, ...]) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
        return value
    raise UnsupportedReturn(whole, f"{value!r} is not an HTTP status code")


# json.dumps with non-default options builds a new encoder on every call; one
# shared encoder (it keeps no state between calls) saves ~0.8 us per response.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _compiled(encoder: json.JSONEncoder) -> Callable[[Any], str]:
    """`encoder.encode`, with the C encoder it builds on every call built once.

    `JSONEncoder.encode` makes a C encoder, and a dict to detect cycles, for
    each value: 1.4 us for a small dict where the C encoder alone takes 0.6 us.
    Without the dict, the C encoder keeps no state of its own, so threads may
    share it; a cycle then ends in a RecursionError instead of a ValueError.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # a Python without the _json accelerator
        return encoder.encode
    c_encode = make(
        None,  # no cycle detection
        encoder.default,
        json.encoder.encode_basestring,  # ensure_ascii=False
        None,  # no indent
        encoder.key_separator,
        encoder.item_separator,
        encoder.sort_keys,
        encoder.skipkeys,
        encoder.allow_nan,
    )
    return lambda data: "".join(c_encode(data, 0))


_encode = _compiled(_ENCODER)


def encode_json(data: Any) -> bytes:
    """JSON the way Starlette's JSONResponse writes it (compact, UTF-8)."""
    return _encode(data).encode()


def _json_response(status: int, headers: dict[str, str], data: Any) -> Response:
    return JSONBytes(encode_json(data), status, headers)


@_builtin("json")
def _json(value: tuple[Any, ...], ctx: ReturnContext) -> Response:
    if len(value) == 2:
        status = ctx.default_status
        if status == 200 and ctx.req.method == "POST":
            status = 201  # Nova: a JSON reply to a POST means "created"
        return _json_response(status, {}, value[1])
    if len(value) == 4:
        return _json_response(_status(value[1], value), _headers(value[2], value), value[3])
    raise UnsupportedReturn(value, "json takes (json, data) or (json, status, headers, data)")


@_builtin("ok")
@_builtin("view")
def _view(value: tuple[Any, ...], ctx: ReturnContext) -> Response:
    if len(value) not in (2, 3):
        tag = value[0]
        raise UnsupportedReturn(value, f"{tag} takes ({tag}, vars) or ({tag}, vars, opts)")
    variables = _variables(value[1], value)
    opts = value[2] if len(value) == 3 else {}
    if not isinstance(opts, Mapping):
        raise UnsupportedReturn(value, "opts must be a dict")
    unknown = set(opts) - {"view", "status_code", "headers"}
    if unknown:
        raise UnsupportedReturn(
            value, f"unknown opts {sorted(unknown)} (allowed: view, status_code, headers)"
        )
    if ctx.views is None:
        raise RuntimeError("this app has no views directory, so it cannot render templates")
    name = opts.get("view") or view_name(ctx.controller)
    status = _status(opts.get("status_code", ctx.default_status), value)
    html = ctx.views.render(name, _view_variables(variables, ctx.req))
    return HTMLResponse(html, status, _headers(opts.get("headers"), value))


def _variables(given: Any, whole: tuple[Any, ...]) -> Mapping[str, Any]:
    """A view's variables: a dict, or a list of (key, value) pairs (Nova's proplist)."""
    if given is None:
        return {}
    if isinstance(given, Mapping):
        return given
    if isinstance(given, list | tuple) and all(
        isinstance(pair, tuple | list) and len(pair) == 2 and isinstance(pair[0], str)
        for pair in given
    ):
        return dict(given)
    raise UnsupportedReturn(whole, "vars must be a dict or a list of (name, value) pairs")


def _view_variables(variables: Mapping[str, Any], req: Request) -> dict[str, Any]:
    # The CSRF plugin's token reaches every template, for its forms' hidden field.
    found = dict(variables)
    if req.csrf_token is not None:
        found.setdefault("csrf_token", req.csrf_token)
    return found


def render_view(value: Any, ctx: ReturnContext) -> Any:
    """A well-formed `("ok"|"view", ...)` tuple rendered to its response now; anything else as is.

    The dispatcher applies it to a sync controller's return value in the
    controller's worker thread, so the template renders there, off the event
    loop.  A tuple of the wrong shape is left for `to_response` to report (or
    the fallback controller to resolve).
    """
    if isinstance(value, tuple) and value and value[0] in ("ok", "view"):
        try:
            return _view(value, ctx)
        except UnsupportedReturn:
            return value
    return value


def view_name(controller: Any) -> str:
    """Nova's rule: the module `main_controller` renders `views/main.html`."""
    module = getattr(controller, "__module__", None) or "view"
    base = module.rsplit(".", 1)[-1]
    return base.removesuffix("_controller")


@_builtin("status")
def _status_reply(value: tuple[Any, ...], ctx: ReturnContext) -> Response:
    if len(value) not in (2, 3, 4):
        raise UnsupportedReturn(value, "status takes (status, code[, headers[, body]])")
    status = _status(value[1], value)
    headers = _headers(value[2], value) if len(value) > 2 else {}
    body = value[3] if len(value) == 4 else b""
    if isinstance(body, Mapping | list):
        has_type = any(k.lower() == "content-type" for k in headers)
        return Response(
            encode_json(body), status, headers, media_type=None if has_type else "application/json"
        )
    if isinstance(body, str):
        body = body.encode()
    if not isinstance(body, bytes | bytearray):
        raise UnsupportedReturn(value, "body must be a dict, list, str or bytes")
    return Response(bytes(body), status, headers)


@_builtin("redirect")
def _redirect(value: tuple[Any, ...], ctx: ReturnContext) -> Response:
    if len(value) != 2 or not isinstance(value[1], str):
        raise UnsupportedReturn(value, "redirect takes (redirect, url)")
    # 302 as in Nova (Starlette's RedirectResponse defaults to 307).
    return Response(b"", 302, {"location": value[1]})


@_builtin("sendfile")
async def _sendfile(value: tuple[Any, ...], ctx: ReturnContext) -> Response:
    if len(value) != 5 or not isinstance(value[3], tuple) or len(value[3]) != 3:
        raise UnsupportedReturn(
            value, "sendfile takes (sendfile, status, headers, (offset, length, path), mime)"
        )
    status, headers = _status(value[1], value), _headers(value[2], value)
    offset, length, path = value[3]
    if not (isinstance(offset, int) and isinstance(length, int) and offset >= 0 and length >= 0):
        raise UnsupportedReturn(value, "offset and length must be non-negative integers")
    file = Path(path)
    size = await run_in_threadpool(_file_size, file)  # a stat: off the event loop
    length = max(0, min(length, size - offset))
    headers = {"content-length": str(length), **headers}
    return StreamingResponse(_slice(file, offset, length), status, headers, media_type=value[4])


def _file_size(file: Path) -> int:
    if not file.is_file():
        raise FileNotFoundError(f"sendfile: {file} is not a file")
    return file.stat().st_size


def _slice(path: Path, offset: int, length: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
    # A sync iterator: Starlette reads it in the thread pool, off the event loop.
    with path.open("rb") as f:
        f.seek(offset)
        left = length
        while left > 0:
            data = f.read(min(chunk, left))
            if not data:
                break
            left -= len(data)
            yield data
