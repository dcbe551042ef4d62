"""`HTTPError`: answer a request with an error status from anywhere in its code.

Nova's `throw({Status, Reason})`: a controller, security callable or plugin
raises it, and the request is answered with that status and the app's
error page for it (its status-code route if it has one, else the built-in
page, JSON or HTML as the client prefers), never with a 500.  Here, in
`core`, so that every part may raise it without importing the runtime.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class HTTPError(Exception):
    """Answer with `status` (4xx or 5xx) and the app's page for it.

    `reason` is the page's message (any value; Nova's `Reason`), and reaches
    a status-code route as `req.crash_info["reason"]`.  `headers` are added
    to the response (`www-authenticate`, `retry-after`, ...).
    """

    def __init__(
        self, status: int, reason: Any = None, headers: Mapping[str, str] | None = None
    ) -> None:
        if type(status) is not int or not 400 <= status <= 599:
            raise ValueError(f"HTTPError status must be an int from 400 to 599, got {status!r}")
        super().__init__(status, reason)
        self.status = status
        self.reason = reason
        self.headers = {str(k): str(v) for k, v in (headers or {}).items()}

    @property
    def message(self) -> str:
        """The reason as the page's one line ("" when there is none)."""
        return "" if self.reason is None else str(self.reason)

    def __str__(self) -> str:
        return f"{self.status} {self.message}".rstrip()
