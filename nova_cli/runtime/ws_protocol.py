"""uvicorn's WebSocket protocol, bounded toward a client that does not read.

A WebSocket server writes more than the app sends: it answers every ping
with a pong.  uvicorn keeps reading from a client whose socket is not
writable, so a client that sends pings and never reads makes the server
buffer pongs without bound; and a connection closed while its buffer is
full waits for a flush that never comes, holding the socket and stretching
shutdown.  `NovaWebSocketProtocol` adds flow control the other way:

- the kernel send buffer of each WebSocket is fixed (`ws_send_buffer`), so
  a stalled client is noticed after a little data, not after megabytes;
- while the socket is not writable (uvicorn's buffer over its high-water
  mark), the server stops reading from the client too: no more frames,
  pings or pongs come in from a client that does not take what it is sent;
- a client that stays unwritable for `ws_send_timeout` seconds is a slow
  consumer: it is sent 1013 and the socket is aborted, and the app sees a
  disconnect with code 1013 and reason "slow consumer";
- a close frame, from the app or from a shutdown, that cannot be written
  does not wait: the socket is aborted after a short grace.

It also writes frames prepared by the app (`frames.PREPARED_SEND` in the
scope): the text of a broadcast is framed once for all its members, where
uvicorn's `send` frames it again for each (two thirds of a saturated
server's time).  Such a frame is exactly the bytes `send` would write for a
final, unfragmented text frame without extensions, for which the websockets
library changes no state; it is taken only while the socket is writable,
the connection open, no fragmented message in progress and no extension
(permessage-deflate) in use.  Otherwise the app falls back to `send`, whose
wait for a writable socket, slow-consumer timer and close handling apply as
to any message.  Prepared frames are written at the end of the event loop's
turn, those of several broadcasts in one system call (`corked.py`).

It also answers invalid UTF-8 with 1007 and one log line, where uvicorn
logs a traceback for what is the client's error; and an upgrade the app
refuses with an HTTP response (404 for a path with no WebSocket route, 403)
is uvicorn's one INFO line, where uvicorn adds the `websockets` library's
own line and an ERROR saying the handshake was never completed.  `nova run` and
`nova serve` use it; under plain uvicorn pass
`--ws nova_cli.runtime.ws_protocol:NovaWebSocketProtocol`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import State

from nova_cli.core.config import from_lifespan_state
from nova_cli.runtime.corked import CorkedTransport, turn_end
from nova_cli.runtime.frames import INVALID_DATA, PREPARED_SEND, SLOW_CONSUMER, TRY_AGAIN

log = logging.getLogger("nova_cli.websocket")
OPEN = State.OPEN
_library_log = logging.getLogger("websockets.server")


class NovaWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol with flow control toward the client.

    Its limits come from the app's settings, through the lifespan state that
    uvicorn gives every protocol (so the class itself can be named on the
    command line and pickled to worker processes); without them, the defaults.
    """

    close_grace = 1.0  # seconds a close frame gets to drain before the socket is aborted

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # uvicorn hands its own logger to the websockets library, whose INFO
        # lines ("connection open", "connection rejected (404 Not Found)")
        # repeat uvicorn's; the library's own logger keeps only its warnings.
        self.conn.logger = _library_log
        self.conn.debug = _library_log.isEnabledFor(logging.DEBUG)
        config = from_lifespan_state(self.app_state)
        self.send_timeout = config.ws_send_timeout
        self.send_buffer = config.ws_send_buffer
        self.max_buffered = config.ws_queue_bytes  # bytes this side may hold for the client
        self._write_paused = False
        self._stall_timer: asyncio.TimerHandle | None = None
        self._abort_timer: asyncio.TimerHandle | None = None

    # -- the transport --------------------------------------------------
    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.corked = CorkedTransport(transport, turn_end(self.loop))
        self.transport = self.corked  # type: ignore[assignment]  # a transport, and more
        sock = transport.get_extra_info("socket")
        if self.send_buffer > 0 and sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.send_buffer)
            except OSError:
                pass  # not a TCP socket (a test transport): nothing to bound

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        super().pause_writing()
        self._write_paused = True
        self.transport.pause_reading()  # nothing more from a client that does not read
        if self._stall_timer is None and self.send_timeout > 0:
            self._stall_timer = self.loop.call_later(self.send_timeout, self._stalled)

    def resume_writing(self) -> None:
        super().resume_writing()
        self._write_paused = False
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None
        if not self.read_paused and not self.transport.is_closing():
            self.transport.resume_reading()

    async def receive(self) -> Any:
        # uvicorn's own, except that reading stays paused while writing is.
        message = await self.queue.get()
        if self.read_paused and self.queue.empty():
            self.read_paused = False
            if not self._write_paused:
                self.transport.resume_reading()
        return message

    # -- the upgrade and prepared frames -------------------------------
    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        # Offered once upgraded, and never with an extension (deflate) or the
        # library's debug log of each frame: neither changes afterwards.
        if not self.close_sent and not self.conn.extensions and not self.conn.debug:
            self.scope["extensions"][PREPARED_SEND] = {
                "send": self.send,
                "write": self.write_prepared,
            }

    def write_prepared(self, frame: bytes) -> bool:
        """Take a complete text frame built by the app; False when `send` must take it.

        The checks are `send`'s and the library's own (`send_text`): a frame
        is taken only where `send` would write the same bytes at once.  The
        library holds no output of its own here: uvicorn writes it out as
        soon as it is made, and no app code runs in between.
        """
        conn = self.conn
        if (
            self._write_paused
            or self.close_sent
            or self.disconnected
            or conn.state is not OPEN  # also: the handshake is complete
            or conn.expect_continuation_frame
        ):
            return False
        self.corked.hold(frame)
        return True

    # -- what the client sends ------------------------------------------
    def handle_ping(self) -> None:
        super().handle_ping()
        if self.transport.get_write_buffer_size() > self.max_buffered:
            self._stalled()  # pongs it does not read: the same as any frame it does not read

    def send_receive_event_to_app(self) -> None:
        if self.curr_msg_data_type == "bytes":
            super().send_receive_event_to_app()
            return
        # uvicorn's text branch, with invalid UTF-8 answered in one log line.
        data = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
        self.frames = []
        if self.close_sent:
            return
        try:
            text = data.decode()
        except UnicodeDecodeError:
            log.warning("%s sent invalid UTF-8; closing it with %d", self._peer(), INVALID_DATA)
            self.conn.send_close(INVALID_DATA, "invalid UTF-8")
            self.handle_parser_exception()
            return
        self.queue.put_nowait({"type": "websocket.receive", "text": text})
        if not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()

    # -- closing --------------------------------------------------------
    async def send(self, message: Any) -> None:
        if (
            message["type"] == "websocket.close"
            and self._write_paused
            and self.handshake_complete
            and not self.close_sent
            and not self.disconnected
        ):
            # uvicorn would wait for the socket to drain first, which it may never do.
            code, reason = message.get("code", 1000), message.get("reason") or ""
            self._close_now(code, reason)
            return
        await super().send(message)
        if message["type"] == "websocket.http.response.body" and self.close_sent:
            # The upgrade was refused with an HTTP response: the handshake is over,
            # as uvicorn counts its own 403. Else it logs an ERROR once the app returns.
            self.handshake_complete = True
        if message["type"] == "websocket.close" and self.close_timer is not None:
            # uvicorn's timer would close(), which waits for a flush: abort instead.
            self.close_timer.cancel()
            self.close_timer = self.loop.call_later(self.close_timeout, self._abort)

    def shutdown(self) -> None:
        super().shutdown()
        self._abort_later()

    def _stalled(self) -> None:
        """The client has not read for too long: 1013, then the socket goes."""
        self._stall_timer = None
        if self.close_sent or self.disconnected:
            self._abort_later()
            return
        log.warning(
            "%s has not read for %.1f s (%d bytes waiting); closing it with %d",
            self._peer(),
            self.send_timeout,
            self.transport.get_write_buffer_size(),
            TRY_AGAIN,
        )
        self._close_now(TRY_AGAIN, SLOW_CONSUMER)

    def _close_now(self, code: int, reason: str) -> None:
        """Queue the close frame behind what is buffered, tell the app, abort soon."""
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        try:
            self.conn.send_close(code, reason)
            self.transport.write(b"".join(self.conn.data_to_send()))
        except Exception:  # the protocol already closing: nothing more to say
            pass
        self.close_sent = True
        self.stop_keepalive()
        self._abort_later()

    def _abort_later(self) -> None:
        if self._abort_timer is None and not self.disconnected:
            self._abort_timer = self.loop.call_later(self.close_grace, self._abort)

    def _abort(self) -> None:
        self._abort_timer = None
        if not self.disconnected and self.transport.get_write_buffer_size() > 0:
            self.transport.abort()  # close() would wait for a flush that is not coming
        elif not self.disconnected:
            self.transport.close()

    def _cancel_timers(self) -> None:
        for timer in (self._stall_timer, self._abort_timer):
            if timer is not None:
                timer.cancel()
        self._stall_timer = self._abort_timer = None

    def _peer(self) -> str:
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        path = getattr(self, "scope", {}).get("path", "")
        return f"{client} (WebSocket {path})" if path else client
