"""Sessions, Nova's `nova_session`: data kept between a client's requests, by cookie.

    from nova_cli import session

    session.get(req, "user_id")          # None (or a default) when not set
    session.set(req, "user_id", 42)      # saved after the controller returns
    session.delete(req, "user_id")       # one key
    session.delete(req)                  # the whole session, and the cookie
    session.rotate(req)                  # a new id for the same data: on login

`req.session` is the same data as a dict-like object (`req.session["cart"]`).
Values are those `nova_cli.terms` allows (what can cross between workers),
with every backend.  See docs/sessions-and-auth.md.
"""

from __future__ import annotations

from typing import Any

from nova_cli.session._session import Session
from nova_cli.session.backends.base import SessionUnavailable
from nova_cli.session.store import SessionStore

__all__ = ["get", "set", "delete", "rotate", "Session", "SessionStore", "SessionUnavailable"]

_WHOLE = object()  # delete(req) without a key


def get(req: Any, key: Any, default: Any = None) -> Any:
    """The value of `key` in the request's session, or `default`."""
    return req.session.get(key, default)


def set(req: Any, key: Any, value: Any) -> None:
    """Set `key`; a later `get` in the same request reads it, the next requests too."""
    req.session[key] = value


def delete(req: Any, key: Any = _WHOLE) -> None:
    """Forget `key` (nothing happens if it is not set), or without a key the whole session:
    its data, its id in the backend, and the client's cookie (reset with Max-Age=0)."""
    if key is _WHOLE:
        req.session.destroy()
    else:
        req.session.pop(key, None)


def rotate(req: Any) -> None:
    """Give the session a new id, keeping its data; the old id stops working with this request.

    Call it when the user's privileges change (login, logout of an admin mode):
    an id someone else planted or saw before is worth nothing after.
    """
    req.session.rotate()
