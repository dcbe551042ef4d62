"""What crosses a WebSocket: close codes, a handler's frames as ASGI messages, refusals.

A handler returns Nova's frames (`("text", str)`, `("binary", bytes)`,
`("close", code, reason)`, `("ping", bytes)`); `to_message` turns each into
the ASGI message the server sends.  A refused upgrade is an HTTP response,
sent with the ASGI WebSocket denial extension when the server has it.
"""

from __future__ import annotations

import contextlib
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
    """The ASGI message for the text of a broadcast, built once for every member.

    Members of a channel reply with the very same str object, so the last
    message is reused when the text is identical (by identity: cheap, and
    never wrong, since ASGI servers do not mutate the message).
    """

    __slots__ = ("text", "message")

    def __init__(self) -> None:
        self.text: str | None = None
        self.message: dict[str, Any] = {}

    def get(self, text: str) -> dict[str, Any]:
        if text is not self.text:
            self.text = text
            self.message = {"type": "websocket.send", "text": text}
        return self.message


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
