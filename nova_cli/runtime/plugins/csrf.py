"""The CSRF plugin (Nova's `nova_csrf_plugin`): a synchronizer token kept in the session.

Safe methods (GET, HEAD, OPTIONS) and excluded paths make sure the session
holds a token (32 random bytes, URL-safe base64) and put it in
`req.csrf_token`, which every view gets as `csrf_token`.  Any other method
must bring the same token, in the `header_name` header or else in the form
field `field_name` of `req.params` (the request plugin's
`read_urlencoded_body`, earlier in the list), compared in constant time;
otherwise the answer is 403, `Forbidden - CSRF token invalid`.

Options: `field_name` ("_csrf_token"), `header_name` ("x-csrf-token"),
`session_key` ("_csrf_token"), `excluded_paths` (path prefixes, e.g. a
webhook that other servers post to).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from typing import Any

from nova_cli import __version__, session
from nova_cli.runtime.request import Request

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
DEFAULTS = {
    "field_name": "_csrf_token",
    "header_name": "x-csrf-token",
    "session_key": "_csrf_token",
}
REFUSAL = (
    "status",
    403,
    {"content-type": "text/plain; charset=utf-8"},
    "Forbidden - CSRF token invalid",
)


def plugin_info() -> dict[str, Any]:
    """What `nova middleware` shows for this plugin (Nova's `plugin_info/0`)."""
    return {
        "title": "nova CSRF plugin",
        "version": __version__,
        "description": "a synchronizer token in the session for unsafe methods",
    }


def validate_options(options: Mapping[str, Any]) -> None:
    allowed = (*DEFAULTS, "excluded_paths")
    unknown = set(options) - set(allowed)
    if unknown:
        raise ValueError(f"csrf plugin: unknown options {sorted(unknown)} (allowed: {allowed})")
    for key in DEFAULTS:
        if key in options and not (isinstance(options[key], str) and options[key]):
            raise ValueError(f"csrf plugin: {key} must be a non-empty string")
    excluded = options.get("excluded_paths", [])
    if not isinstance(excluded, list | tuple) or not all(
        isinstance(p, str) and p.startswith("/") for p in excluded
    ):
        raise ValueError("csrf plugin: excluded_paths must be a list of path prefixes ('/hooks')")


def pre_request(req: Request, options: Mapping[str, Any]) -> Any:
    key = options.get("session_key", DEFAULTS["session_key"])
    token = session.get(req, key)
    if req.method in SAFE_METHODS or _excluded(req.path, options):
        if not isinstance(token, str):
            token = secrets.token_urlsafe(32)
            session.set(req, key, token)
        req.csrf_token = token
        return None
    given = req.headers.get(options.get("header_name", DEFAULTS["header_name"]))
    if given is None:
        given = req.params.get(options.get("field_name", DEFAULTS["field_name"]))
    if not (isinstance(token, str) and isinstance(given, str) and _same(token, given)):
        return ("stop", REFUSAL)
    req.csrf_token = token
    return None


def _excluded(path: str, options: Mapping[str, Any]) -> bool:
    return any(path.startswith(prefix) for prefix in options.get("excluded_paths", ()))


def _same(token: str, given: str) -> bool:
    # Bytes: compare_digest refuses str with non-ASCII characters, which a client may send.
    return hmac.compare_digest(token.encode(), given.encode("utf-8", "surrogateescape"))
