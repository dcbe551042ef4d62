"""Built-in error pages (404, 405, 413, 500, ...), negotiated on `accept`, and
the one JSON error shape every part of nova answers with (`error_body`).

Nova's `nova_error_controller` answers JSON or HTML depending on `accept`
but compares the header's parts without trimming them, so browsers mostly
get an empty 500.  Here the media ranges are parsed with their q-values: a
client that prefers `text/html` gets a page, everyone else JSON.  In the dev
environment the page carries the traceback; in any other it says nothing
about the code.
"""

from __future__ import annotations

import html
import traceback
from http import HTTPStatus

from starlette.datastructures import Headers
from starlette.responses import HTMLResponse, Response

from nova_cli.runtime.responses import JSONBytes
from nova_cli.runtime.return_handlers import encode_json


def wants_html(headers: Headers) -> bool:
    """True when the client ranks text/html above application/json."""
    accept = headers.get("accept")
    if not accept:
        return False  # API clients and curl: JSON, as Nova does without Accept
    best_html = best_json = 0.0
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, val = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(val)
                except ValueError:
                    q = 0.0
        media = media.strip().lower()
        if media in ("text/html", "application/xhtml+xml"):
            best_html = max(best_html, q)
        elif media in ("application/json", "application/*"):
            best_json = max(best_json, q)
        elif media == "*/*":
            best_json = max(best_json, q * 0.99)  # */* alone means "anything": JSON
    return best_html > best_json


# RFC 9110's names where Python 3.11's HTTPStatus phrases are the older ones:
# the code must not change with the Python version.
_CODES = {
    413: "content_too_large",
    414: "uri_too_long",
    416: "range_not_satisfiable",
    422: "unprocessable_content",
}


def error_code(status: int) -> str:
    """The machine-readable name of `status`: 404 → `not_found`, 500 → `internal_server_error`."""
    if status in _CODES:
        return _CODES[status]
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return "error"
    return "".join(c if c.isalnum() else "_" for c in phrase.lower().replace("'", ""))


def error_body(status: int, message: str) -> dict[str, object]:
    """Every JSON error: `{"status": 404, "error": "not_found", "message": "no route for /x"}`."""
    return {"status": status, "error": error_code(status), "message": message}


def error_response(
    headers: Headers,
    status: int,
    message: str = "",
    *,
    exc: BaseException | None = None,
    dev: bool = False,
    extra_headers: dict[str, str] | None = None,
) -> Response:
    """A negotiated error page; `exc` shows as a traceback only when `dev`."""
    title = _title(status)
    trace = "".join(traceback.format_exception(exc)) if (exc is not None and dev) else None
    if not dev and status >= 500:
        message = "The server could not handle this request."
    if wants_html(headers):
        body = _html_page(status, title, message, trace)
        return HTMLResponse(body, status, extra_headers)
    payload = error_body(status, message or title)
    if trace is not None:
        payload["traceback"] = trace
    return JSONBytes(encode_json(payload), status, extra_headers)


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _html_page(status: int, title: str, message: str, trace: str | None) -> str:
    esc = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{status} {esc(title)}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:3rem;color:#222}"
        "pre{background:#f6f6f6;padding:1rem;overflow:auto}</style></head>",
        # Marks the page for `nova serve`'s live reload, which never draws over it.
        f"<body data-nova-error='{status}'>",
        f"<h1>{status} {esc(title)}</h1>",
    ]
    if message:
        parts.append(f"<p>{esc(message)}</p>")
    if trace:
        parts.append(f"<pre>{esc(trace)}</pre>")
    parts.append("</body></html>")
    return "".join(parts)
