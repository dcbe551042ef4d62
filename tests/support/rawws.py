"""Raw-socket WebSocket clients that misbehave where a client library would refuse to."""

from __future__ import annotations

import base64
import os
import socket
import struct


def upgrade_request(path: str, port: int, *, origin: str | None = None, host: str = "") -> bytes:
    """A complete, valid WebSocket upgrade request for `path`."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host or f'127.0.0.1:{port}'}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def connect(port: int, *, rcvbuf: int | None = None) -> socket.socket:
    """A TCP connection to the server; `rcvbuf` shrinks the client's receive buffer."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    return sock


def read_head(sock: socket.socket) -> bytes:
    """Read up to the end of the HTTP response head."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def open_ws(port: int, path: str, **kw: object) -> socket.socket:
    """A WebSocket that completed its handshake (101), as a raw socket."""
    sock = connect(port, **kw)  # type: ignore[arg-type]
    sock.sendall(upgrade_request(path, port))
    head = read_head(sock)
    assert head.startswith(b"HTTP/1.1 101"), head[:200]
    return sock


def frame(opcode: int, payload: bytes = b"", *, fin: bool = True) -> bytes:
    """A masked client frame (opcode 1 text, 2 binary, 8 close, 9 ping, 10 pong)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([0x80 | size])
    elif size < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack("!H", size)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", size)
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
