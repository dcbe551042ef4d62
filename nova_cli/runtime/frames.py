"""What crosses a WebSocket: close codes, a handler's frames as ASGI messages, refusals.

A handler returns Nova's frames (`("text", str)`, `("binary", bytes)`,
`("close", code, reason)`, `("ping", bytes)`); `to_message` turns each into
the ASGI message the server sends.  A refused upgrade is an HTTP response,
sent with the ASGI WebSocket denial extension when the server has it.

A server may also take a text frame already framed (`PREPARED_SEND`, which
Nova's own WebSocket protocol offers): the frame of a broadcast is then built
once for all its members, where each ASGI `send` would frame it again.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Callable
from typing import Any

from starlette.responses import Response
from starlette.types import Scope, Send

from nova_cli.core.closecodes import (  # noqa: F401 - the runtime's names for them
    GOING_AWAY,
    INTERNAL,
    INVALID_DATA,
    NORMAL,
    POLICY,
    SERVICE_RESTART,
    TOO_BIG,
    TRY_AGAIN,
)

SLOW_CONSUMER = "slow consumer"  # the reason sent with 1013 to a client that does not read

# The ASGI scope extension of a server that writes prepared frames: {"send": the
# server's own ASGI send, "write": a callable(frame bytes) -> False when it did not}.
PREPARED_SEND = "nova.prepared_send"

RETURNS = '("ok", state), ("reply", frame | [frames], state), ("stop", state)'


class BadReturn(TypeError):
    """A callback returned something that is not a nova_websocket result."""


def to_message(frame: Any) -> dict[str, Any] | None:
    """The ASGI message for an outgoing frame; None for ping and pong.

    A close frame becomes a `websocket.close` message: the caller ends the
    connection with it.
    """
    if type(frame) is tuple and frame:
        tag = frame[0]
        if tag == "text" and len(frame) == 2 and type(frame[1]) is str:
            return text_messages.get(frame[1])
        if tag == "binary" and len(frame) == 2 and isinstance(frame[1], bytes | bytearray):
            return {"type": "websocket.send", "bytes": bytes(frame[1])}
        if tag == "close" and len(frame) <= 3:
            code = int(frame[1]) if len(frame) > 1 else NORMAL
            reason = str(frame[2]) if len(frame) > 2 else ""
            return {"type": "websocket.close", "code": code, "reason": reason}
        if tag in ("ping", "pong") and len(frame) <= 2:
            return None  # ASGI has no control frames; the server pings and answers pings itself
    elif frame in ("ping", "pong"):
        return None
    elif frame == "close":
        return {"type": "websocket.close", "code": NORMAL, "reason": ""}
    raise BadReturn(
        f'unknown frame {frame!r:.80}; expected ("text", str), '
        '("binary", bytes), ("ping", bytes) or ("close", code, reason)'
    )


class TextMessages:
    """The ASGI message, and the frame, for the text of a broadcast, built once for every member.

    Members of a channel reply with the very same str object, so the last
    message is reused when the text is identical (by identity: cheap, and
    never wrong, since ASGI servers do not mutate the message).  Each cache
    is one `(text, value)` tuple, replaced whole, so that two event loops in
    two threads never pair one text with the other's message.
    """

    __slots__ = ("_message", "_frame")

    def __init__(self) -> None:
        self._message: tuple[str | None, dict[str, Any]] = (None, {})
        self._frame: tuple[str | None, bytes] = (None, b"")

    def get(self, text: str) -> dict[str, Any]:
        """The `websocket.send` message for `text`."""
        last = self._message
        if last[0] is not text:
            last = self._message = (text, {"type": "websocket.send", "text": text})
        return last[1]

    def frame(self, text: str) -> bytes:
        """The complete server frame (unmasked, no extension) for `text`."""
        last = self._frame
        if last[0] is not text:
            last = self._frame = (text, text_frame(text.encode()))
        return last[1]


def text_frame(payload: bytes) -> bytes:
    """A final text frame as a server sends it: FIN and opcode 1, the length, the payload."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


def prepared_writer(scope: Scope, send: Send) -> Callable[[bytes], bool] | None:
    """The server's writer of prepared frames, if it offers one for this very `send`.

    A middleware that wraps `send` must see every message, so the writer is
    used only when the app holds the server's own send.
    """
    offer = scope.get("extensions", {}).get(PREPARED_SEND)
    if offer is None or offer.get("send") != send:
        return None
    write: Callable[[bytes], bool] = offer["write"]
    return write


text_messages = TextMessages()


async def deny(scope: Scope, send: Send, response: Response) -> None:
    """Refuse an upgrade with an HTTP response when the server can send one.

    A client that already left cannot be told: that is not an error.
    """
    with contextlib.suppress(OSError):
        if "websocket.http.response" in scope.get("extensions", {}):
            headers = [
                (k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()
            ]
            start = {"type": "websocket.http.response.start", "status": response.status_code}
            await send({**start, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": response.body})
        else:
            await send({"type": "websocket.close", "code": POLICY})
