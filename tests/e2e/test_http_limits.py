"""Request-head limits on a real `nova run`: header count and size, slow and silent
clients, and running out of file descriptors.

Everything is sent over raw sockets: an HTTP client would refuse to send 101
headers one byte at a time.  The server runs with `header_timeout = 1` so that
the slow cases take seconds, not the default's tens of seconds.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import ASSETS, Server, free_port, nova, spawn

TIMEOUT = 1.0  # header_timeout of the server under test, seconds


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with nova("run", ASSETS / "demo", env={"NOVA_HEADER_TIMEOUT": str(TIMEOUT)}) as server:
        yield server


def connect(port: int, timeout: float = 10.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def read_response(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (a reset ends it too)."""
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response else 0


def get(port: int, path: str, headers: list[str] | None = None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "host: 127.0.0.1", *(headers or []), "connection: close"]
    with connect(port) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return read_response(sock)


def heartbeat_seconds(port: int) -> float:
    start = time.monotonic()
    assert status_of(get(port, "/heartbeat")) == 200
    return time.monotonic() - start


# -- header count ------------------------------------------------------------


def test_100_headers_pass_and_101_are_431(server: Server) -> None:
    # host and connection count too: 98 more make 100.
    assert status_of(get(server.port, "/heartbeat", [f"x-h{i}: v" for i in range(98)])) == 200
    response = get(server.port, "/heartbeat", [f"x-h{i}: v" for i in range(99)])
    assert status_of(response) == 431
    assert response.endswith(b"over 100 headers")
    assert b"connection: close" in response


def test_200_000_headers_are_refused_at_the_101st(server: Server) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"GET /heartbeat HTTP/1.1\r\nhost: 127.0.0.1\r\n")
        with contextlib.suppress(OSError):
            for _ in range(20):
                sock.sendall(b"x-h: v\r\n" * 10_000)
        assert status_of(read_response(sock)) == 431


# -- head size ---------------------------------------------------------------


def test_a_head_is_refused_as_soon_as_it_passes_64_kib(server: Server) -> None:
    with connect(server.port) as sock:
        # 80 KiB of a header line that never ends: no parser could finish it,
        # so a 431 now proves the bytes were counted as they came.
        sock.sendall(b"GET /heartbeat HTTP/1.1\r\nhost: 127.0.0.1\r\nx-big: " + b"a" * 80 * 1024)
        response = read_response(sock)
    assert status_of(response) == 431
    assert response.endswith(b"request head over 65536 bytes")


def test_a_head_just_under_64_kib_is_served(server: Server) -> None:
    line = "x-big: " + "a" * (60 * 1024)
    assert status_of(get(server.port, "/heartbeat", [line])) == 200


def test_a_1_mib_header_line_is_431_and_other_clients_are_served_meanwhile(
    server: Server,
) -> None:
    waits: list[float] = []
    done = threading.Event()

    def other_client() -> None:
        while not done.is_set():
            waits.append(heartbeat_seconds(server.port))

    thread = threading.Thread(target=other_client)
    thread.start()
    try:
        start = time.monotonic()
        with connect(server.port) as sock:
            with contextlib.suppress(OSError):
                sock.sendall(b"GET / HTTP/1.1\r\nhost: 127.0.0.1\r\nx-big: " + b"a" * 1024 * 1024)
                sock.sendall(b"\r\n\r\n")
            response = read_response(sock)
        took = time.monotonic() - start
    finally:
        done.set()
        thread.join(30)
    assert status_of(response) == 431
    assert took < 5.0
    assert waits and max(waits) < 2.0


# -- slow and silent clients -------------------------------------------------


def held_open(sock: socket.socket, trickle: bytes | None, limit: float) -> tuple[float, bytes]:
    """Trickle a byte every 0.2 s (or send nothing) until the server closes; (seconds, reply)."""
    start = time.monotonic()
    sock.settimeout(0.2)
    data = b""
    while time.monotonic() - start < limit:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            if trickle is not None:
                sock.sendall(trickle)
            continue
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return time.monotonic() - start, data


def test_a_slowloris_head_gets_408_and_is_closed_at_the_timeout(server: Server) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"GET /heartbeat HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ")
        seconds, reply = held_open(sock, b"a", limit=10 * TIMEOUT)
    assert status_of(reply) == 408
    assert 0.8 * TIMEOUT <= seconds < 5 * TIMEOUT


def test_the_next_head_on_a_keep_alive_connection_has_its_own_timeout(server: Server) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"GET /heartbeat HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        first = b""
        while b"\r\n\r\n" not in first:
            first += sock.recv(65536)
        assert status_of(first) == 200
        sock.sendall(b"GET /heartbeat HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ")
        seconds, reply = held_open(sock, b"a", limit=10 * TIMEOUT)
    assert status_of(reply) == 408
    assert seconds < 5 * TIMEOUT


def test_a_silent_connection_is_closed_at_the_timeout(server: Server) -> None:
    with connect(server.port) as sock:
        seconds, reply = held_open(sock, None, limit=10 * TIMEOUT)
    assert reply == b""  # nothing was asked: nothing is answered
    assert 0.8 * TIMEOUT <= seconds < 5 * TIMEOUT


def test_a_slow_body_is_not_a_slow_head(server: Server) -> None:
    # The head is complete in time; the body may take longer than header_timeout.
    with connect(server.port) as sock:
        sock.sendall(
            b"POST /echo HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: text/plain\r\n"
            b"content-length: 2\r\nconnection: close\r\n\r\nh"
        )
        time.sleep(2 * TIMEOUT)  # the wait under test, not a synchronisation
        sock.sendall(b"i")
        response = read_response(sock)
    assert status_of(response) == 201 and response.endswith(b'"body":"hi"}')


# -- plain uvicorn with --http -----------------------------------------------


def test_plain_uvicorn_with_the_nova_protocol_reads_the_apps_settings() -> None:
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", "--factory", "nova_cli.runtime.app:from_environment"]
    args += ["--http", "nova_cli.runtime.http_protocol:NovaHttpProtocol", "--port", str(port)]
    env = {"NOVA_ROOT": str(ASSETS / "demo"), "NOVA_MAX_HEADER_COUNT": "5"}
    with spawn(args, port=port, env=env):
        assert status_of(get(port, "/heartbeat", ["a: 1", "b: 2"])) == 200
        assert status_of(get(port, "/heartbeat", ["a: 1", "b: 2", "c: 3", "d: 4"])) == 431


# -- file descriptors --------------------------------------------------------

LOW_FD_LIMIT = """
import resource
import runpy
import sys

limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
sys.argv = [sys.argv[2], *sys.argv[3:]]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""


def test_running_out_of_file_descriptors_is_logged_and_the_server_recovers(
    tmp_path: Path,
) -> None:
    wrapper = tmp_path / "low_fd_limit.py"
    wrapper.write_text(textwrap.dedent(LOW_FD_LIMIT))
    port = free_port()
    args = [sys.executable, str(wrapper), "64", "nova_cli.cli.main", "run", "--port", str(port)]
    with spawn(args, port=port, cwd=ASSETS / "demo") as server:
        held: list[socket.socket] = []
        try:
            deadline = time.monotonic() + 30
            while "Out of file descriptors" not in server.output():
                assert time.monotonic() < deadline, server.output()
                with contextlib.suppress(OSError):
                    held.append(connect(port, timeout=2))
                if len(held) > 200:
                    break
            assert "Out of file descriptors (limit 64)" in server.output()
            # The connections over the limit are dropped, not queued.
            with connect(port) as sock:
                sock.sendall(b"GET /heartbeat HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
                assert status_of(read_response(sock)) == 0
        finally:
            for sock in held:
                sock.close()
        # Once connections close, new ones are served again.
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError):
                if status_of(get(port, "/heartbeat")) == 200:
                    break
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.1)
