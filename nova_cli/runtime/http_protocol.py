"""uvicorn's httptools protocol with the request-head limits a production server needs.

uvicorn (httptools) puts no bound on a request head: a million headers are
all kept, a 64 MB header line is accumulated and parsed (blocking the event
loop for seconds), and a connection that sends its head one byte at a time,
or nothing at all, is held for ever.  `NovaHttpProtocol` bounds all three,
as Cowboy does for Nova:

- more than `max_header_count` headers: 431;
- a head (request line and headers) over `max_header_bytes`: 431.  The
  bytes are counted as they arrive, before the parser sees them, so a huge
  line is refused after `max_header_bytes`, not after being parsed;
- a head not complete `header_timeout` seconds after the connection opened
  (for the first request) or after its first byte (for the next ones on a
  keep-alive connection): 408, or a plain close when nothing was sent.

After a refusal the response is sent, the connection is half-closed and what
the client still sends is read and dropped for a moment before closing, so
the client can read the status instead of getting a reset.  Each accepted
connection also checks that a file descriptor is left for the next one
(see `descriptors`).

`nova serve` and `nova run` use it.  Under plain uvicorn, pass
`--http nova_cli.runtime.http_protocol:NovaHttpProtocol`.  Either way the
limits are the app's settings, which its lifespan hands to the server.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from nova_cli.core.config import from_lifespan_state
from nova_cli.runtime.descriptors import warn_if_exhausted
from nova_cli.runtime.logthrottle import ThrottledLog

# How long a refused client may go on sending before the connection closes.
LINGER_SECONDS = 1.0

_refusals = ThrottledLog(logging.getLogger("uvicorn.error"))


@dataclass(frozen=True)
class HeadLimits:
    """The bounds on one request head (the `[tool.nova]` settings of the same names)."""

    max_header_count: int
    max_header_bytes: int
    header_timeout: float

    @classmethod
    def of(cls, config: Any) -> HeadLimits:
        """The limits of a `NovaConfig`."""
        return cls(config.max_header_count, config.max_header_bytes, config.header_timeout)


class TooManyHeaders(Exception):
    """Raised from the parser callback to stop parsing a head with too many headers."""


class NovaHttpProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that refuses oversized and slow request heads."""

    def __init__(self, *args: Any, limits: HeadLimits | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits or HeadLimits.of(from_lifespan_state(self.app_state))
        self._in_head = True  # the next bytes belong to a request head
        self._head_bytes = 0
        self._heads_done = 0
        # When the current head's clock started (loop time); None outside a head.
        self._head_started: float | None = None
        self._head_timer: asyncio.TimerHandle | None = None
        self._linger_timer: asyncio.TimerHandle | None = None
        self._too_many_headers = False
        self._refused = False

    # -- the connection -------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # The first head's clock starts now: a client that connects and stays
        # silent is closed like one that sends its head too slowly.
        self._start_head_clock()
        sock = transport.get_extra_info("socket")
        if sock is not None:
            warn_if_exhausted(sock.fileno())

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        # The WebSocket protocol takes the connection over; a timer left here
        # would keep this protocol, and what it holds, alive until it rings.
        self._cancel_timers()
        super().handle_websocket_upgrade()

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._linger_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._linger_timer = None

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # lingering after a refusal: drop what the client still sends
        self._unset_keepalive_if_required()
        if self._in_head:
            if len(data) > self.limits.max_header_bytes - self._head_bytes:
                self._feed_over_limit(data)
                return
            self._head_bytes += len(data)
        # _feed written out: this runs for every request.
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._parse_failed()
        except httptools.HttpParserUpgrade:
            self._upgrade()

    def _feed_over_limit(self, data: bytes) -> None:
        """Feed a head only what fits in its limit, refusing it with 431 if it goes on."""
        while data:
            if not self._in_head:
                self._feed(data)
                return
            room = self.limits.max_header_bytes - self._head_bytes
            if len(data) <= room:
                self._head_bytes += len(data)
                self._feed(data)
                return
            # More bytes than the head may still take: feed only what fits. If the
            # head ends within it, the rest is its body or the next request.
            heads_done = self._heads_done
            self._head_bytes += room
            self._feed(data[:room])
            data = data[room:]
            if self.transport.is_closing() or self._refused:
                return
            if self._heads_done == heads_done:
                limit = self.limits.max_header_bytes
                self._refuse(431, f"request head over {limit} bytes")
                return

    def _feed(self, data: bytes) -> None:
        """Parse `data` as uvicorn does, answering 431 for too many headers."""
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._parse_failed()
        except httptools.HttpParserUpgrade:
            self._upgrade()

    def _parse_failed(self) -> None:
        if self._too_many_headers:
            self._refuse(431, f"over {self.limits.max_header_count} headers")
            return
        message = "Invalid HTTP request received."
        self.logger.warning(message)
        self.send_400_response(message)

    def _upgrade(self) -> None:
        if self._should_upgrade():
            self.handle_websocket_upgrade()
        else:
            self._unsupported_upgrade_warning()

    # -- parser callbacks -----------------------------------------------
    # The callbacks run for every request: they call uvicorn's by name rather
    # than through super(), which builds a proxy object on each call.
    def on_message_begin(self) -> None:
        HttpToolsProtocol.on_message_begin(self)
        if self._head_started is None:
            self._start_head_clock()  # a next request: its clock starts at its first byte

    def on_header(self, name: bytes, value: bytes) -> None:
        # uvicorn's on_header, with the count check: called for every header of
        # every request, so it is written out rather than calling super().
        if len(self.headers) >= self.limits.max_header_count:
            self._too_many_headers = True
            raise TooManyHeaders
        name = name.lower()
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._heads_done += 1
        self._head_started = None
        HttpToolsProtocol.on_headers_complete(self)

    def on_message_complete(self) -> None:
        HttpToolsProtocol.on_message_complete(self)
        # What comes next is the next request's head. Until its first byte,
        # uvicorn's keep-alive timeout applies.
        self._in_head = True
        self._head_bytes = 0

    # -- the head timeout -----------------------------------------------
    def _start_head_clock(self) -> None:
        self._head_started = self.loop.time()
        # One timer per connection at most, not one per request: a timer that
        # rings early finds a newer head and waits for that head's deadline.
        if self._head_timer is None:
            self._check_head_clock()

    def _check_head_clock(self) -> None:
        self._head_timer = None
        if self._head_started is None or self.transport.is_closing():
            return
        deadline = self._head_started + self.limits.header_timeout
        if self.loop.time() < deadline:
            self._head_timer = self.loop.call_at(deadline, self._check_head_clock)
            return
        self._head_started = None
        if self.cycle is not None and not self.cycle.response_complete:
            # A response is still being written: finish it, then close instead
            # of waiting for the rest of the next (pipelined) head.
            self.cycle.keep_alive = False
        elif self._heads_done == 0 and self._head_bytes == 0:
            self.transport.close()  # a connection that never sent a byte: nobody to answer
        else:
            timeout = self.limits.header_timeout
            self._refuse(408, f"request head not complete after {timeout:g} s")

    # -- refusing -------------------------------------------------------
    def _refuse(self, status: int, reason: str) -> None:
        """Answer `status` with `reason`, then close without resetting the client."""
        self._refused = True
        self._head_started = None
        client = f"{self.client[0]}:{self.client[1]} - " if self.client else ""
        level = logging.INFO if status == 408 else logging.WARNING
        _refusals.log(level, "%s%d %s: %s", client, status, HTTPStatus(status).phrase, reason)
        if self.cycle is not None and not self.cycle.response_complete:
            # The head of a pipelined request: writing now would cut into the
            # response in flight. Let that one finish, then close.
            self.cycle.keep_alive = False
            return
        body = reason.encode()
        head = [
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n".encode(),
            *(name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers),
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        # Closing with unread bytes would send a reset, and the client could lose
        # the response. Send a FIN instead, read and drop for a moment, then close.
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.flow.resume_reading()
            self._linger_timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()
