"""WebSocket handlers and pub/sub against a real uvicorn server and a real client."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import struct
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.support.servers import ASSETS, WS_PATHS, Server, nova, ws_server
from tests.support.waiting import wait_for

CHAT = ASSETS / "chat"


@pytest.fixture(scope="module", params=WS_PATHS)
def chat_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("ws") / "terminate.log"
    env = {"CHAT_TERMINATE_LOG": str(log), "NOVA_WS_MAX_MESSAGE_SIZE": "65536"}
    with ws_server(request.param, CHAT, env=env) as server:
        server.terminate_log = log  # type: ignore[attr-defined]
        yield server


def ws(server: Server, path: str) -> ClientConnection:
    return connect(server.ws_url + path, open_timeout=10)


def members(server: Server) -> list[str]:
    return httpx.get(server.url + "/members", timeout=10).json()["members"]


def closed_code(conn: ClientConnection, timeout: float = 10.0) -> int | None:
    """Read until the server closes; return the close code it sent."""
    with contextlib.suppress(ConnectionClosed):
        while True:
            conn.recv(timeout=timeout)
    return conn.close_code


def test_echo_handler_from_the_chapter(chat_server: Server) -> None:
    with ws(chat_server, "/ws") as conn:
        conn.send("Hello Nova!")
        assert conn.recv(timeout=10) == "Echo: Hello Nova!"
        conn.send(b"\x00\x01")  # a binary frame: the echo handler answers nothing
        conn.send("again")
        assert conn.recv(timeout=10) == "Echo: again"


def test_chat_three_clients_get_every_message_in_order(chat_server: Server) -> None:
    with (
        ws(chat_server, "/chat") as a,
        ws(chat_server, "/chat") as b,
        ws(chat_server, "/chat") as c,
    ):
        wait_for(lambda: len(members(chat_server)) == 3)
        clients = {"a": a, "b": b, "c": c}
        for i in range(20):
            for name, conn in clients.items():
                conn.send(f"{name}{i}")
        for conn in clients.values():
            got = [conn.recv(timeout=10) for _ in range(60)]
            assert sorted(got) == sorted(f"{n}{i}" for n in clients for i in range(20))
            for name in clients:  # order is kept per sender
                assert [m for m in got if m[0] == name] == [f"{name}{i}" for i in range(20)]
    wait_for(lambda: members(chat_server) == [])


def test_controllers_broadcast_to_the_chat(chat_server: Server) -> None:
    with ws(chat_server, "/chat") as a, ws(chat_server, "/chat") as b:
        wait_for(lambda: len(members(chat_server)) == 2)
        assert httpx.post(chat_server.url + "/announce", content=b"sync says").status_code == 204
        r = httpx.post(chat_server.url + "/announce_async", content=b"async says")
        assert r.status_code == 204
        for conn in (a, b):
            assert [conn.recv(timeout=10), conn.recv(timeout=10)] == ["sync says", "async says"]


def test_background_tasks_and_threads_broadcast_too(chat_server: Server) -> None:
    with ws(chat_server, "/chat") as a:
        wait_for(lambda: len(members(chat_server)) == 1)
        r = httpx.post(chat_server.url + "/announce_later", content=b"later")
        assert r.status_code == 202
        assert a.recv(timeout=10) == "later"
        r = httpx.post(chat_server.url + "/announce_thread", content=b"threaded")
        assert r.status_code == 202
        assert a.recv(timeout=10) == "threaded"


def test_a_class_handler_gets_an_instance_per_connection(chat_server: Server) -> None:
    with ws(chat_server, "/klass") as one, ws(chat_server, "/klass") as two:
        one.send("a")
        one.send("b")
        assert [one.recv(timeout=10), one.recv(timeout=10)] == ["1/1", "2/2"]
        two.send("c")
        assert two.recv(timeout=10) == "1/1"


def test_malformed_frames_close_only_that_socket(chat_server: Server) -> None:
    with ws(chat_server, "/ws") as good:
        bad = raw_upgrade(chat_server.port, "/ws")
        with bad:
            bad.sendall(b"\x81\x05hello")  # a client frame without the mandatory mask
            assert raw_close_code(bad) == 1002
        bad = raw_upgrade(chat_server.port, "/ws")
        with bad:
            mask = b"\x00\x00\x00\x00"
            bad.sendall(b"\x81\x82" + mask + b"\xff\xfe")  # a text frame that is not UTF-8
            assert raw_close_code(bad) == 1007
        good.send("still fine")
        assert good.recv(timeout=10) == "Echo: still fine"


def test_disconnect_and_leave_remove_members(chat_server: Server) -> None:
    with ws(chat_server, "/chat") as a, ws(chat_server, "/chat") as b:
        wait_for(lambda: len(members(chat_server)) == 2)
        a.close()
        wait_for(lambda: len(members(chat_server)) == 1)
        b.send("still here")
        assert b.recv(timeout=10) == "still here"
    wait_for(lambda: members(chat_server) == [])
    with ws(chat_server, "/state/room1") as s, ws(chat_server, "/state/room1") as t:
        s.recv(timeout=10), t.recv(timeout=10)  # the websocket_init greetings
        s.send("leave")
        assert s.recv(timeout=10) == "left"
        t.send("say:after leave")
        assert t.recv(timeout=10) == "said:after leave"
        s.send("count")  # s left room1: the next thing it gets is its own count
        assert s.recv(timeout=10) == "2"


def test_callbacks_and_return_shapes(chat_server: Server) -> None:
    with ws(chat_server, "/state/shapes") as conn:
        hello = json.loads(conn.recv(timeout=10))
        assert hello["hello"].startswith("<") and hello["auth"] is None
        conn.send("count")
        conn.send("count")
        assert [conn.recv(timeout=10), conn.recv(timeout=10)] == ["1", "2"]
        conn.send("many")
        assert [conn.recv(timeout=10) for _ in range(3)] == ["one", "two", b"three"]
        conn.send(b"abc")
        assert conn.recv(timeout=10) == b"cba"
        conn.send("self")  # process.send(process.self(), ...) reaches websocket_info
        assert conn.recv(timeout=10) == "got note"
        conn.send("ping")  # a ping reply is accepted (ASGI has no control frames)
        conn.send("count")
        assert conn.recv(timeout=10) == "7"
        conn.send("close")
        assert conn.recv(timeout=10) == "bye"
        assert closed_code(conn) == 4000
        assert conn.close_reason == "custom"


def test_frames_are_handled_one_at_a_time_in_order(chat_server: Server) -> None:
    with ws(chat_server, "/state/order") as conn:
        conn.recv(timeout=10)
        conn.send("slow")  # an async callback that sleeps: later frames wait their turn
        conn.send("count")
        assert conn.recv(timeout=10) == "slow done"
        assert conn.recv(timeout=10) == "2"


def test_stop_and_raising_callbacks_close_only_their_socket(chat_server: Server) -> None:
    with ws(chat_server, "/state/crash") as bad, ws(chat_server, "/ws") as good:
        bad.recv(timeout=10)
        bad.send("crash")
        assert closed_code(bad) == 1011
        good.send("after crash")
        assert good.recv(timeout=10) == "Echo: after crash"
    with ws(chat_server, "/state/bad") as bad:
        bad.recv(timeout=10)
        bad.send("bad")  # an unknown return shape is a crash too
        assert closed_code(bad) == 1011
    with ws(chat_server, "/state/stop") as conn:
        conn.recv(timeout=10)
        conn.send("stop")
        assert closed_code(conn) == 1000
    log = chat_server.terminate_log  # type: ignore[attr-defined]
    wait_for(lambda: "stop 'stop'" in log.read_text())
    text = log.read_text()
    assert "crash ('crash', RuntimeError('handler crashed on purpose'))" in text
    assert "bad ('crash', BadReturn(" in text


def test_oversized_message_closes_with_1009(chat_server: Server) -> None:
    with ws(chat_server, "/state/big") as conn, ws(chat_server, "/ws") as other:
        conn.recv(timeout=10)
        conn.send("x" * 70_000)  # NOVA_WS_MAX_MESSAGE_SIZE is 65536 for this server
        assert closed_code(conn) == 1009
        other.send("fine")
        assert other.recv(timeout=10) == "Echo: fine"


def test_security_runs_before_the_upgrade(chat_server: Server) -> None:
    with pytest.raises(InvalidStatus) as refused:
        ws(chat_server, "/secure/ws")
    assert refused.value.response.status_code == 401
    with ws(chat_server, "/secure/ws?token=good") as conn:
        assert json.loads(conn.recv(timeout=10))["auth"] == {"user": "alice"}


def test_init_refusal_and_unknown_path_are_http_errors(chat_server: Server) -> None:
    with pytest.raises(InvalidStatus) as refused:
        ws(chat_server, "/state/refuse")
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus) as missing:
        ws(chat_server, "/nowhere")
    assert missing.value.response.status_code == 404


def raw_upgrade(port: int, path: str) -> socket.socket:
    """A WebSocket client that completes the handshake, then reads nothing."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101")
    return sock


def raw_close_code(sock: socket.socket) -> int | None:
    """Read server frames until a close frame; return its code (None if none came)."""
    buf = b""

    def need(n: int) -> bytes:
        nonlocal buf
        while len(buf) < n:
            chunk = sock.recv(1 << 20)
            if not chunk:
                raise EOFError
            buf += chunk
        out, buf = buf[:n], buf[n:]
        return out

    try:
        while True:
            b0, b1 = need(2)
            length = b1 & 0x7F
            if length == 126:
                length = struct.unpack("!H", need(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", need(8))[0]
            payload = need(length)
            if b0 & 0x0F == 0x8:
                return int(struct.unpack("!H", payload[:2])[0])
    except EOFError:
        return None


def test_slow_consumer_is_closed_and_others_are_unaffected(ws_path: str) -> None:
    with ws_server(ws_path, CHAT, env={"NOVA_WS_QUEUE_MESSAGES": "50"}) as server:
        slow = raw_upgrade(server.port, "/chat")
        with slow, ws(server, "/chat") as fast:
            wait_for(lambda: len(members(server)) == 2)
            payload = "y" * 65_536
            for i in range(400):  # ~26 MB: far more than the socket buffers hold
                fast.send(f"{i}:{payload}")
                assert fast.recv(timeout=10) == f"{i}:{payload}"
                if len(members(server)) == 1:
                    break
            # The server dropped the slow client from the channel, not the fast one.
            assert len(members(server)) == 1
            assert raw_close_code(slow) == 1013
            fast.send("still served")
            assert fast.recv(timeout=10) == "still served"
        assert "is too slow to read" in server.output()


def test_shutdown_closes_with_1001_and_calls_terminate(tmp_path: Path) -> None:
    log = tmp_path / "terminate.log"
    with (
        nova("run", CHAT, env={"CHAT_TERMINATE_LOG": str(log)}) as server,
        ws(server, "/state/bye") as conn,
    ):
        conn.recv(timeout=10)
        server.process.terminate()  # SIGTERM to `nova run`
        assert closed_code(conn) == 1001
        server.process.wait(20)
    assert "bye 'shutdown'" in log.read_text()


def test_idle_timeout_closes_a_silent_client(ws_path: str) -> None:
    with (
        ws_server(ws_path, CHAT, env={"NOVA_WS_IDLE_TIMEOUT": "0.5"}) as server,
        ws(server, "/state/idle") as conn,
    ):
        conn.recv(timeout=10)
        assert closed_code(conn) == 1000
        assert conn.close_reason == "idle timeout"
