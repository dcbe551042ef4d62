"""`JSONBytes`: an encoded JSON body whose response headers are written out ahead.

Starlette's `Response` works its headers out on every response: it encodes
each given header, lists their names, then appends `content-length` and
`content-type`.  The common JSON reply (a status, no headers of its own) always
ends up with the same two, so they are prepared once here.  The result is the
same response, byte for byte, and still a Starlette `Response` (post-request
plugins may read and change its headers).
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

_JSON_TYPE = (b"content-type", b"application/json")


class JSONBytes(Response):
    """`application/json` with `body` already encoded; headers prepared when none are given."""

    media_type = "application/json"

    def __init__(
        self, body: bytes, status_code: int = 200, headers: Mapping[str, str] | None = None
    ) -> None:
        # Starlette leaves content-length out of informational, 204 and 304 replies.
        if headers or status_code < 200 or status_code in (204, 304):
            super().__init__(body, status_code, headers)
            return
        self.status_code = status_code
        self.background = None
        self.body = body
        self.raw_headers = [(b"content-length", b"%d" % len(body)), _JSON_TYPE]
