"""Nova's WebSocket protocol writing prepared frames: a real uvicorn protocol on a real socket.

The protocol runs in this test's loop so that the test can see what it
offers the app and when it writes a prepared frame (`write_prepared`);
the client is a raw socket that reads exactly the bytes on the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState
from websockets.frames import Frame, Opcode

from nova_cli.runtime.frames import PREPARED_SEND, text_frame
from nova_cli.runtime.ws_protocol import NovaWebSocketProtocol
from tests.support import rawws


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65_535, 65_536, 70_000])
def test_a_prepared_frame_is_the_bytes_the_library_would_send(size: int) -> None:
    payload = ("é" * size).encode()[:size]
    library = Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
    assert text_frame(payload) == library


class Served:
    """The protocol of the one connection, the scope it gave the app, the client's socket."""

    protocol: NovaWebSocketProtocol
    scope: dict[str, Any]
    client: socket.socket
    close: asyncio.Event  # set it: the app sends its close frame


@contextlib.asynccontextmanager
async def served(*, deflate: bool, headers: str = "") -> AsyncIterator[Served]:
    loop = asyncio.get_running_loop()
    served = Served()
    served.close = asyncio.Event()
    accepted = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        served.scope = scope
        await receive()
        await send({"type": "websocket.accept"})
        accepted.set()
        await served.close.wait()
        await send({"type": "websocket.close", "code": 1000})

    config = uvicorn.Config(app, log_config=None, ws_per_message_deflate=deflate, lifespan="off")
    config.load()

    def factory() -> NovaWebSocketProtocol:
        served.protocol = NovaWebSocketProtocol(config, ServerState(), app_state={}, _loop=loop)
        return served.protocol

    server = await loop.create_server(factory, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = rawws.connect(port)
    try:
        request = rawws.upgrade_request("/t", port)  # ends with an empty line
        client.sendall(request[:-2] + headers.encode() + b"\r\n")
        head = await asyncio.to_thread(rawws.read_head, client)
        assert head.startswith(b"HTTP/1.1 101"), head
        await asyncio.wait_for(accepted.wait(), 10)
        served.client = client
        yield served
    finally:
        client.close()
        server.close()
        served.protocol.transport.abort()
        await server.wait_closed()


async def read_exactly(client: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = await asyncio.to_thread(client.recv, size - len(data))
        assert chunk, "the server closed the connection"
        data += chunk
    return data


async def test_the_protocol_offers_prepared_frames_for_its_own_send() -> None:
    async with served(deflate=False) as s:
        offer = s.scope["extensions"][PREPARED_SEND]
        assert offer["send"] == s.protocol.send and offer["write"] == s.protocol.write_prepared
        frame = text_frame(b"hello")
        assert s.protocol.write_prepared(frame) is True
        assert await read_exactly(s.client, len(frame)) == frame


async def test_prepared_frames_and_the_sends_after_them_keep_their_order() -> None:
    async with served(deflate=False) as s:
        first, second = text_frame(b"one"), text_frame(b"two")
        assert s.protocol.write_prepared(first) and s.protocol.write_prepared(second)
        await s.protocol.send({"type": "websocket.send", "text": "three"})  # the same turn
        expected = first + second + text_frame(b"three")
        assert await read_exactly(s.client, len(expected)) == expected


async def test_a_prepared_frame_waits_for_the_socket_and_the_message_in_progress() -> None:
    async with served(deflate=False) as s:
        protocol, frame = s.protocol, text_frame(b"x")
        protocol.pause_writing()  # the client does not read: send() must wait for it
        assert protocol.write_prepared(frame) is False
        protocol.resume_writing()
        assert protocol.write_prepared(frame) is True
        protocol.conn.send_text(b"first part", fin=False)  # a fragmented message begins
        protocol.transport.write(b"".join(protocol.conn.data_to_send()))
        assert protocol.write_prepared(frame) is False
        protocol.conn.send_continuation(b"", fin=True)
        protocol.transport.write(b"".join(protocol.conn.data_to_send()))
        assert protocol.write_prepared(frame) is True
        s.close.set()  # the app closes
        for _ in range(100):
            if protocol.close_sent:
                break
            await asyncio.sleep(0.01)
        assert protocol.close_sent and protocol.write_prepared(frame) is False


async def test_no_prepared_frames_with_permessage_deflate() -> None:
    offer = "Sec-WebSocket-Extensions: permessage-deflate\r\n"
    async with served(deflate=True, headers=offer) as s:
        assert s.protocol.conn.extensions  # negotiated
        assert PREPARED_SEND not in s.scope["extensions"]
