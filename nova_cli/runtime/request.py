"""The `req` a controller receives: Nova's request map as a Python object.

Nova hands controllers the Cowboy request map plus the keys its router and
plugins add (`bindings`, `json`, `params`, `auth_data`, ...).  Here the same
keys are attributes.  The Starlette request stays reachable as `req.raw` for
everything Nova has no key for; an HTTP request builds it only when something
asks for it (most JSON endpoints never do).
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import Headers, QueryParams
from starlette.requests import HTTPConnection
from starlette.requests import Request as StarletteRequest
from starlette.types import Receive, Scope

from nova_cli.runtime import cookies
from nova_cli.session import Session


class Request:
    """What a controller, security callable or plugin receives as `req`."""

    __slots__ = (
        "_raw",
        "_scope",
        "_receive",
        "method",
        "path",
        "bindings",
        "pathinfo",
        "body",
        "json",
        "params",
        "parsed_qs",
        "auth_data",
        "extra_state",
        "environment",
        "correlation_id",
        "crash_info",
        "status_code",
        "controller",
        "state",
        "csrf_token",
        "sessions",
        "_session",
        "_cookies",
    )

    def __init__(
        self,
        raw: HTTPConnection,
        *,
        method: str,
        bindings: dict[str, str] | None = None,
        pathinfo: list[str] | None = None,
        environment: str = "dev",
        extra_state: Any = None,
        body: bytes = b"",
    ) -> None:
        self._raw: HTTPConnection | None = raw
        self._scope: Scope = raw.scope
        self._receive: Receive | None = None
        self._fill(method, bindings, pathinfo, environment, extra_state, body)

    @classmethod
    def of_scope(
        cls,
        scope: Scope,
        receive: Receive,
        *,
        method: str,
        environment: str,
        extra_state: Any = None,
        body: bytes = b"",
    ) -> Request:
        """The request of an HTTP `scope`; its Starlette `raw` is built on first use."""
        req = cls.__new__(cls)
        req._raw = None
        req._scope = scope
        req._receive = receive
        req._fill(method, None, None, environment, extra_state, body)
        return req

    def _fill(
        self,
        method: str,
        bindings: dict[str, str] | None,
        pathinfo: list[str] | None,
        environment: str,
        extra_state: Any,
        body: bytes,
    ) -> None:
        self.method = method
        self.path: str = self._scope["path"]
        self.bindings = bindings if bindings is not None else {}
        self.pathinfo = pathinfo
        self.body = body
        self.json: Any = None
        self.params: dict[str, str] = {}
        self.parsed_qs: Any = None
        self.auth_data: Any = None
        self.extra_state = extra_state
        self.environment = environment
        self.correlation_id: str | None = None
        self.crash_info: dict[str, Any] | None = None
        self.status_code: int | None = None
        self.controller: Any = None
        # Per-request scratch space for plugins (Nova keeps such data in Req).
        self.state: dict[str, Any] = {}
        self.csrf_token: str | None = None  # set by the CSRF plugin; views get it
        # The app's session store, and the session once loaded or asked for
        # (nova_cli.session.store fills both).
        self.sessions: Any = None
        self._session: Session | None = None
        self._cookies: list[str] | None = None  # set-cookie headers for the response

    @property
    def session(self) -> Session:
        """The session, a dict-like object (see `nova_cli.session`); empty when there is none."""
        if self._session is None:
            self._session = Session()
        return self._session

    def set_cookie(
        self,
        name: str,
        value: str,
        *,
        max_age: int | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool | None = None,
        httponly: bool = True,
        samesite: str | None = "lax",
    ) -> None:
        """Set a cookie on the response, whatever the controller returns.

        `secure=None` follows the `session_secure` setting (Secure unless the
        environment is dev).  A bad name or option raises ValueError here.
        """
        if secure is None:
            secure = cookies.default_secure(self.sessions, self.environment)
        header = cookies.cookie_header(
            name,
            value,
            max_age=max_age,
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
        )
        if self._cookies is None:
            self._cookies = []
        self._cookies.append(header)

    def delete_cookie(self, name: str, path: str | None = "/", domain: str | None = None) -> None:
        """Tell the client to drop a cookie (Max-Age=0); path and domain must be the cookie's."""
        self.set_cookie(name, "", max_age=0, path=path, domain=domain)

    @property
    def raw(self) -> HTTPConnection:
        """The Starlette request (a `WebSocket` for a WebSocket's `req`)."""
        raw = self._raw
        if raw is None:
            raw = self._raw = StarletteRequest(self._scope, self._receive)  # type: ignore[arg-type]
        return raw

    @property
    def headers(self) -> Headers:
        """Request headers; case-insensitive, like Cowboy's lower-cased map."""
        return self.raw.headers

    @property
    def query(self) -> QueryParams:
        """The decoded query string (a multi-dict; `req.query["k"]` is the last value)."""
        return self.raw.query_params

    @property
    def cookies(self) -> dict[str, str]:
        return self.raw.cookies

    @property
    def scope(self) -> Any:
        return self._scope

    @property
    def client(self) -> Any:
        return self.raw.client

    @property
    def url(self) -> Any:
        return self.raw.url

    @property
    def app(self) -> Any:
        return self._scope.get("app")

    def __repr__(self) -> str:
        return f"<nova Request {self.method} {self.path} bindings={self.bindings!r}>"
