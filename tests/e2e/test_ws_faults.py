"""Every way a WebSocket connection ends runs one exit path, once: raw sockets, real uvicorn."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from tests.support import rawws
from tests.support.servers import ASSETS, Server, nova, ws_server
from tests.support.waiting import wait_for

HOSTILE = ASSETS / "hostile"


@pytest.fixture
def hostile(ws_path: str, tmp_path: Path) -> Iterator[Server]:
    log = tmp_path / "terminated.log"
    with ws_server(ws_path, HOSTILE, env={"HOSTILE_TERMINATE_LOG": str(log)}) as server:
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


def test_listed_origins_are_accepted(ws_path: str) -> None:
    env = {"NOVA_WS_ALLOWED_ORIGINS": "https://app.example"}
    with ws_server(ws_path, HOSTILE, env=env) as server:
        assert _head(server, "/room/x", "https://app.example").startswith(b"HTTP/1.1 101")
        assert _head(server, "/room/x", "https://other.example").startswith(b"HTTP/1.1 403")


# -- clients that do not read --------------------------------------------------


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_pings_from_a_client_that_never_reads_are_bounded(tmp_path: Path) -> None:
    """Every ping makes a pong; a client that reads none must not grow the server."""
    with nova("run", HOSTILE, env={"HOSTILE_TERMINATE_LOG": str(tmp_path / "t.log")}) as server:
        sock = rawws.open_ws(server.port, "/room/pings")
        before = rss_mb(server.process.pid)
        burst = rawws.frame(9, b"p" * 125) * 1000  # pongs are as big as the pings
        sent = 0
        with contextlib.suppress(OSError):  # the server stops reading, then aborts
            while sent < 1_000_000:
                sock.sendall(burst)
                sent += 1000
        assert sent < 1_000_000, "the server read a million pings it could not answer"
        assert rss_mb(server.process.pid) - before < 20
        assert "has not read for" in server.output()
        wait_for(lambda: members(server, "pings") == 0)
        assert stats(server)["terminated"] == 1
        sock.close()


def test_non_readers_get_1013_and_the_others_go_on(tmp_path: Path) -> None:
    with nova("run", HOSTILE, env={"HOSTILE_TERMINATE_LOG": str(tmp_path / "t.log")}) as server:
        stalled = [rawws.open_ws(server.port, "/room/r") for _ in range(3)]
        with connect(server.ws_url + "/room/r", open_timeout=10) as reader:
            wait_for(lambda: members(server, "r") == 4)
            payload = "x" * 1024
            started = time.monotonic()
            while members(server, "r") > 1:
                assert time.monotonic() - started < 20, "non-readers were never closed"
                for _ in range(20):
                    reader.send(payload)
                    assert reader.recv(timeout=10) == payload
            reader.send("still served")
            assert reader.recv(timeout=10) == "still served"
        assert server.output().count("closing it with 1013") == 3
        with open(tmp_path / "t.log") as f:
            assert f.read().count("'overflow'") == 3  # terminate knows why
        for sock in stalled:
            sock.close()


def test_shutdown_does_not_wait_for_clients_that_do_not_read() -> None:
    env = {"NOVA_WS_SEND_TIMEOUT": "60", "NOVA_SHUTDOWN_TIMEOUT": "10"}
    with nova("run", HOSTILE, env=env) as server:
        stalled = [rawws.open_ws(server.port, "/room/s", rcvbuf=4096) for _ in range(5)]
        with connect(server.ws_url + "/room/s", open_timeout=10) as reader:
            for _ in range(100):  # 6.4 MB: more than the kernel takes for a client
                reader.send("y" * 65536)
                reader.recv(timeout=10)
        started = time.monotonic()
        server.process.terminate()
        server.process.wait(30)
        took = time.monotonic() - started
        # Their close frames cannot be written: aborted after a short grace, not
        # waited for until the 10 s budget is spent.
        assert took < 4, f"shutdown took {took:.1f} s"
        for sock in stalled:
            sock.close()


def test_invalid_utf8_is_1007_without_a_traceback() -> None:
    with nova("run", HOSTILE) as server:
        sock = rawws.open_ws(server.port, "/room/u")
        sock.sendall(rawws.frame(1, b"\xff\xfe not utf-8"))
        data = sock.recv(1024)
        assert data[0] == 0x88 and int.from_bytes(data[2:4], "big") == 1007
        sock.close()
        wait_for(lambda: "invalid UTF-8" in server.output())
        assert "Traceback" not in server.output()


def test_the_apps_send_timeout_reaches_the_server_protocol() -> None:
    # A mailbox too big to overflow first: only the send timeout can close the client.
    env = {"NOVA_WS_SEND_TIMEOUT": "0.5", "NOVA_WS_QUEUE_BYTES": str(1 << 30)}
    with nova("run", HOSTILE, env=env) as server:
        sock = rawws.open_ws(server.port, "/room/t", rcvbuf=4096)
        with connect(server.ws_url + "/room/t", open_timeout=10) as reader:
            wait_for(lambda: members(server, "t") == 2)
            while members(server, "t") == 2:
                for _ in range(10):
                    reader.send("w" * 65536)
                    reader.recv(timeout=10)
        assert "has not read for 0.5 s" in server.output()
        sock.close()


def test_shutdown_is_one_budget_and_terminate_fits_in_it(tmp_path: Path) -> None:
    """Busy callbacks and slow terminates on two workers: all terminated, within the budget."""
    log = tmp_path / "t.log"
    env = {
        "NOVA_SHUTDOWN_TIMEOUT": "2",
        "HOSTILE_TERMINATE_SECONDS": "0.5",
        "HOSTILE_TERMINATE_LOG": str(log),
    }
    args = ("--workers", "2", "--pubsub-per-worker")  # rooms are not shared: none is used
    with nova("run", HOSTILE, *args, env=env) as server, contextlib.ExitStack() as stack:
        for _ in range(6):  # spread over both workers
            conn = stack.enter_context(connect(server.ws_url + "/slow", open_timeout=10))
            conn.send("hang")
        time.sleep(0.5)
        started = time.monotonic()
        server.process.terminate()
        server.process.wait(30)
        took = time.monotonic() - started
    lines = log.read_text().splitlines()
    assert len(lines) == 6 and all("'shutdown'" in line for line in lines), lines
    assert took < 2 + 1.5, f"shutdown took {took:.1f} s with a 2 s budget"


def test_upgraded_connections_leave_no_protocol_objects_behind() -> None:
    """After a burst of upgrades and closes, nothing of those connections stays alive."""
    with nova("run", HOSTILE) as server:
        for _ in range(200):
            sock = rawws.open_ws(server.port, "/room/burst")
            sock.close()
        wait_for(lambda: members(server, "burst") == 0)
        seen = httpx.get(server.url + "/stats?protocols", timeout=10).json()
        # The one serving this request, and none of the 200 WebSockets.
        assert seen["http_protocols"] <= 1 and seen["ws_protocols"] == 0, seen
