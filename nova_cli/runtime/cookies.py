"""Cookies from controllers: `req.set_cookie` / `req.delete_cookie`, on whatever is returned.

Nova carries cookies in the `Req` a controller returns
(`cowboy_req:set_resp_cookie`).  Here the request collects them, and the
dispatcher adds them to the response the return value became (json, a
view, a status, a redirect, a file, a custom handler's, a fallback's, a
plugin's or security's reply, an `HTTPError` page), so that no controller
has to build a raw Response to set one.  A request that fails with a 500
sets none.
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from typing import Any

from starlette.responses import Response

SAMESITE = ("lax", "strict", "none")
_EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"


def cookie_header(
    name: str,
    value: str,
    *,
    max_age: int | None,
    path: str | None,
    domain: str | None,
    secure: bool,
    httponly: bool,
    samesite: str | None,
) -> str:
    """The value of a `set-cookie` header; a bad name or option is a ValueError naming it."""
    if samesite is not None and samesite.lower() not in SAMESITE:
        raise ValueError(f"samesite must be one of {', '.join(SAMESITE)} or None, got {samesite!r}")
    if samesite is not None and samesite.lower() == "none" and not secure:
        raise ValueError(f"cookie {name!r}: samesite='none' needs secure=True (browsers drop it)")
    if not isinstance(value, str):
        raise TypeError(f"cookie {name!r}: the value must be a str, got {type(value).__name__}")
    jar: SimpleCookie = SimpleCookie()
    try:
        jar[name] = value
    except CookieError:
        raise ValueError(f"{name!r} is not a valid cookie name") from None
    morsel = jar[name]
    if max_age is not None:
        morsel["max-age"] = str(int(max_age))
        if max_age <= 0:
            morsel["expires"] = _EPOCH  # for the clients that ignore Max-Age
    if path:
        morsel["path"] = path
    if domain:
        morsel["domain"] = domain
    if secure:
        morsel["secure"] = True
    if httponly:
        morsel["httponly"] = True
    if samesite is not None:
        morsel["samesite"] = samesite.capitalize()
    return morsel.OutputString()


def attach(headers: list[str] | None, response: Response) -> Response:
    """`response` with the request's cookies added (the controller's own headers kept)."""
    if headers:
        for header in headers:
            response.raw_headers.append((b"set-cookie", header.encode("latin-1")))
    return response


def default_secure(sessions: Any, environment: str) -> bool:
    """`secure=None`: as the session cookie (`session_secure`), else Secure unless in dev."""
    return bool(sessions.secure) if sessions is not None else environment != "dev"
