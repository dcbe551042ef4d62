"""Every way a WebSocket connection ends runs one exit path, once: raw sockets, real uvicorn."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import rawws
from tests.support.servers import ASSETS, Server, uvicorn_app

HOSTILE = ASSETS / "hostile"


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[Server]:
    log = tmp_path / "terminated.log"
    with uvicorn_app(HOSTILE, env={"HOSTILE_TERMINATE_LOG": str(log)}) as server:
        yield server


def stats(server: Server) -> dict[str, int]:
    return httpx.get(server.url + "/stats", timeout=10).json()


def members(server: Server, room: str) -> int:
    return int(httpx.get(f"{server.url}/members/{room}", timeout=10).json()["members"])


def settle(server: Server, expect: dict[str, int], timeout: float = 10.0) -> dict[str, int]:
    """Poll /stats until it shows `expect` (or the deadline passes); return the last reading."""
    deadline = time.monotonic() + timeout
    while True:
        seen = stats(server)
        if all(seen[k] == v for k, v in expect.items()) or time.monotonic() > deadline:
            return seen
        time.sleep(0.05)


def test_client_gone_before_the_101_leaves_nothing_behind(hostile: Server) -> None:
    """The upgrade is sent in full, then the socket closes while sync security runs."""
    cycles = 20
    for _ in range(cycles):
        sock = rawws.connect(hostile.port)
        path = "/guarded/lobby?guard_delay=0.05"
        sock.sendall(rawws.upgrade_request(path, hostile.port))
        sock.close()
    seen = settle(hostile, {"processes": 0, "terminated": cycles})
    assert seen == {"processes": 0, "terminated": cycles}
    assert members(hostile, "lobby") == 0


def test_client_reset_before_the_101_leaves_nothing_behind(hostile: Server) -> None:
    cycles = 20
    for _ in range(cycles):
        sock = rawws.connect(hostile.port)
        sock.sendall(rawws.upgrade_request("/guarded/lobby?guard_delay=0.05", hostile.port))
        # SO_LINGER 0: close sends RST instead of FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
    seen = settle(hostile, {"processes": 0, "terminated": cycles})
    assert seen == {"processes": 0, "terminated": cycles}
    assert members(hostile, "lobby") == 0


def _head(server: Server, path: str, origin: str | None) -> bytes:
    sock = rawws.connect(server.port)
    with sock:
        sock.sendall(rawws.upgrade_request(path, server.port, origin=origin))
        return rawws.read_head(sock)


def test_a_cross_site_upgrade_is_refused_before_anything_runs(hostile: Server) -> None:
    head = _head(hostile, "/room/lobby", "http://evil.example")
    assert head.startswith(b"HTTP/1.1 403"), head[:100]
    assert stats(hostile)["processes"] == 0  # init never ran: nothing joined
    assert "origin 'http://evil.example'" in hostile.output()


def test_same_origin_and_origin_less_upgrades_are_accepted(hostile: Server) -> None:
    own = f"http://127.0.0.1:{hostile.port}"
    assert _head(hostile, "/room/lobby", own).startswith(b"HTTP/1.1 101")
    assert _head(hostile, "/room/lobby", None).startswith(b"HTTP/1.1 101")


def test_listed_origins_are_accepted(tmp_path: Path) -> None:
    env = {"NOVA_WS_ALLOWED_ORIGINS": "https://app.example"}
    with uvicorn_app(HOSTILE, env=env) as server:
        assert _head(server, "/room/x", "https://app.example").startswith(b"HTTP/1.1 101")
        assert _head(server, "/room/x", "https://other.example").startswith(b"HTTP/1.1 403")
