"""Which browser origins may open a WebSocket (cross-site WebSocket hijacking).

A browser sends its page's `Origin` with every WebSocket upgrade, and sends
the user's cookies along whatever the origin, so a page on another site
could otherwise open an authenticated socket in the user's name.  As with
Phoenix's `check_origin`, an upgrade whose origin is not the request's own
host is refused, unless `ws_allowed_origins` lists it.  In `dev`, pages
served from localhost on any port are allowed too.  Clients that send no
`Origin` (not browsers) are not concerned.

Entries of `ws_allowed_origins` are origins, `scheme://host[:port]`, where
the host may start with `*.` for any subdomain, or `"*"` for any origin
(which turns the check off).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from nova_cli.core.config import check_origin

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
LOCALHOST = ("localhost", "127.0.0.1", "::1")


class OriginPolicy:
    """Decides, per upgrade request, whether its `Origin` may open a socket."""

    def __init__(self, allowed: Iterable[str] = (), *, dev: bool = False) -> None:
        entries = [check_origin(e) for e in allowed]
        self.any = "*" in entries
        self.exact = {_origin_key(e) for e in entries if e != "*" and "://*." not in e}
        # "https://*.example.com" -> ("https", ".example.com", port)
        self.wildcards = [_wildcard(e) for e in entries if "://*." in e]
        self.dev = dev

    def allows(self, headers: Mapping[str, str]) -> bool:
        origin = headers.get("origin")
        if origin is None or self.any:
            return True
        key = _origin_key(origin)
        if key is None:
            return False  # "null" (sandboxed frames, file://) or garbage
        scheme, host, port = key
        if key in self.exact:
            return True
        if _host_key(headers.get("host", ""), scheme) == (host, port):
            return True
        if self.dev and host in LOCALHOST:
            return True
        return any(
            scheme == w_scheme and host.endswith(suffix) and port == w_port
            for w_scheme, suffix, w_port in self.wildcards
        )


def _origin_key(origin: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(origin.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme]


def _host_key(host: str, scheme: str) -> tuple[str, int] | None:
    """The Host header as (hostname, port), its port defaulting to the origin's scheme."""
    key = _origin_key(f"{scheme}://{host}") if host else None
    return (key[1], key[2]) if key else None


def _wildcard(entry: str) -> tuple[str, str, int]:
    scheme, _, rest = entry.partition("://*.")
    key = _origin_key(f"{scheme}://{rest}")
    assert key is not None  # check_origin matched it
    return scheme, "." + key[1], key[2]
