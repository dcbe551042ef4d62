"""nova_cli.testing: the client, its sockets, their timeouts, and the broadcast assertion."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nova_cli import pubsub
from nova_cli.core.config import LIFESPAN_KEY
from nova_cli.testing import AppClient, UpgradeRefused, app_client, assert_broadcast
from tests.runtime.conftest import purge, write_files
from tests.support.servers import ASSETS

ROUTER = """
from kitapp.controllers import (
    async_chat,
    chat,
    echo,
    late_chat,
    main_controller,
    refuser,
    rooms,
)


def routes(environment):
    return [
        {
            "prefix": "",
            "security": False,
            "routes": [
                ("/hello", main_controller.hello, {"methods": ["get"]}),
                ("/items", main_controller.create, {"methods": ["post"]}),
                ("/login", main_controller.login, {"methods": ["get"]}),
                ("/echo", echo, {"protocol": "ws"}),
                ("/chat", chat, {"protocol": "ws"}),
                ("/async-chat", async_chat, {"protocol": "ws"}),
                ("/thread-chat", chat, {"protocol": "ws", "sync_callbacks": "thread"}),
                ("/late-chat", late_chat, {"protocol": "ws"}),
                ("/rooms/:room", rooms, {"protocol": "ws"}),
                ("/refused", refuser, {"protocol": "ws"}),
            ],
        }
    ]
"""

MAIN_CONTROLLER = """
def hello(req):
    return ("json", {"name": req.query.get("name"), "agent": req.headers.get("x-agent")})


def create(req):
    return ("json", 201, {}, req.json)


def login(req):
    return ("redirect", "/hello")
"""

# Echoes text, answers "stop" by closing and "crash" by raising; records how it ended,
# taking its time.
ECHO = """
import asyncio

TERMINATED = []


def init(state):
    return ("ok", state)


def websocket_handle(frame, state):
    match frame:
        case ("text", "stop"):
            return ("stop", state)
        case ("text", "crash"):
            raise RuntimeError("crash asked for")
        case ("text", msg):
            return ("reply", ("text", "Echo: " + msg), state)
        case ("binary", data):
            return ("reply", ("binary", data[::-1]), state)
    return ("ok", state)


async def terminate(reason, req, state):
    await asyncio.sleep(0.2)
    TERMINATED.append(reason)
"""

# The seed's chat handler, as the chat asset app has it.
CHAT = (ASSETS / "chat" / "chat" / "controllers" / "chat_handler.py").read_text()

ASYNC_CHAT = """
import asyncio

from nova_cli import pubsub


async def init(state):
    pubsub.join("async-chat")
    return ("ok", state)


async def websocket_handle(frame, state):
    await asyncio.sleep(0)
    match frame:
        case ("text", msg):
            pubsub.broadcast("async-chat", "message", msg)
    return ("ok", state)


async def websocket_info(info, state):
    await asyncio.sleep(0)
    match info:
        case ("nova_pubsub", "async-chat", _sender, "message", msg):
            return ("reply", ("text", msg), state)
    return ("ok", state)
"""

# Joins after the upgrade, in websocket_init, and not at once.
LATE_CHAT = """
import asyncio

from nova_cli import pubsub


async def websocket_init(state):
    await asyncio.sleep(0.3)
    pubsub.join("late")
    return ("ok", state)


def websocket_handle(frame, state):
    match frame:
        case ("text", msg):
            pubsub.broadcast("late", "message", msg)
    return ("ok", state)


def websocket_info(info, state):
    match info:
        case ("nova_pubsub", "late", _sender, "message", msg):
            return ("reply", ("text", msg), state)
    return ("ok", state)
"""

ROOMS = """
from nova_cli import pubsub


def init(state):
    state["room"] = state["req"].bindings["room"]
    pubsub.join(state["room"])
    return ("ok", state)


def websocket_handle(frame, state):
    match frame:
        case ("text", msg):
            pubsub.broadcast(state["room"], "said", msg)
    return ("ok", state)


def websocket_info(info, state):
    match info:
        case ("nova_pubsub", _room, _sender, "said", msg):
            return ("reply", ("text", msg), state)
    return ("ok", state)
"""

REFUSER = """
def init(state):
    return ("error", "not today")


def websocket_handle(frame, state):
    return ("ok", state)
"""

TOOL_NOVA = (
    '[tool.nova]\napp = "kitapp"\n'
    'plugins = [["pre_request", "request", { decode_json_body = true }]]\n'
)


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A project with one controller and the WebSocket handlers above."""
    for name in list(os.environ):
        if name.startswith("NOVA_"):
            monkeypatch.delenv(name)
    saved_path = list(sys.path)
    sources = {
        "router.py": ROUTER,
        "controllers/main_controller.py": MAIN_CONTROLLER,
        "controllers/echo.py": ECHO,
        "controllers/chat.py": CHAT,
        "controllers/async_chat.py": ASYNC_CHAT,
        "controllers/late_chat.py": LATE_CHAT,
        "controllers/rooms.py": ROOMS,
        "controllers/refuser.py": REFUSER,
    }
    write_files(tmp_path, {"pyproject.toml": TOOL_NOVA, "kitapp/__init__.py": ""})
    write_files(tmp_path, {"kitapp/controllers/__init__.py": ""})
    write_files(tmp_path / "kitapp", sources)
    purge("kitapp")
    yield tmp_path
    purge("kitapp")
    sys.path[:] = saved_path


@pytest.fixture
def client(root: Path) -> Iterator[AppClient]:
    with app_client(root=root) as client:
        yield client


def terminated() -> list[Any]:
    """What the echo handler's terminate was called with, in order."""
    return sys.modules["kitapp.controllers.echo"].TERMINATED  # type: ignore[no-any-return]


def elapsed_while(call: Any) -> tuple[float, str]:
    """Seconds that `call()` took to fail with an AssertionError, and its message."""
    start = time.monotonic()
    with pytest.raises(AssertionError) as failure:
        call()
    return time.monotonic() - start, str(failure.value)


# -- HTTP -------------------------------------------------------------------------------


def test_http_requests_carry_query_headers_and_json(client: AppClient) -> None:
    response = client.get("/hello", params={"name": "Ada"}, headers={"x-agent": "kit"})
    assert response.json() == {"name": "Ada", "agent": "kit"}
    created = client.post("/items", json={"title": "Dune"})
    assert (created.status_code, created.json()) == (201, {"title": "Dune"})


def test_redirects_are_not_followed(client: AppClient) -> None:
    response = client.get("/login")
    assert (response.status_code, response.headers["location"]) == (302, "/hello")


# -- one socket -----------------------------------------------------------------------------


def test_a_socket_sends_and_receives_text_binary_and_json(client: AppClient) -> None:
    with client.ws("/echo") as ws:
        ws.send_text("Hello Nova!")
        assert ws.receive_text() == "Echo: Hello Nova!"
        ws.send_bytes(b"abc")
        assert ws.receive_bytes() == b"cba"
        ws.send_json({"n": 1})
        assert ws.receive_text() == 'Echo: {"n": 1}'


def test_a_receive_that_gets_nothing_fails_fast_naming_the_socket(client: AppClient) -> None:
    with client.ws("/echo"), client.ws("/echo") as second:
        second.send_bytes(b"")  # answered with a binary frame, then nothing more
        assert second.receive_bytes() == b""
        took, message = elapsed_while(lambda: second.receive_text(timeout=0.2))
    assert 0.2 <= took < 1.5
    assert message == "no message on /echo #2 within 0.2 s (expected a text message)"


def test_the_clients_receive_timeout_is_the_default(root: Path) -> None:
    with app_client(root=root, receive_timeout=0.3) as client, client.ws("/echo") as ws:
        took, message = elapsed_while(ws.receive_text)
    assert 0.3 <= took < 1.5
    assert "within 0.3 s" in message


def test_a_message_of_the_wrong_kind_fails(client: AppClient) -> None:
    with client.ws("/echo") as ws:
        ws.send_bytes(b"xy")
        _, message = elapsed_while(ws.receive_text)
        assert message == "/echo #1 got binary b'yx', not a text message"
        ws.send_text("not json")
        _, message = elapsed_while(ws.receive_json)
        assert message == "/echo #1 got text 'Echo: not json', which is not JSON"


def test_closing_waits_for_terminate(client: AppClient) -> None:
    with client.ws("/echo") as ws:
        ws.send_text("hi")
        assert ws.receive_text() == "Echo: hi"
    # the client's close reached the handler, which ended before the block did
    assert terminated() == [("remote", 1000, "")]


def test_a_socket_the_handler_closed_says_so(client: AppClient) -> None:
    with client.ws("/echo") as ws:
        ws.send_text("stop")
        assert ws.receive_close() == (1000, "")
        _, message = elapsed_while(ws.receive_text)
        assert message == "/echo #1 is closed (1000); expected a text message"
        _, message = elapsed_while(lambda: ws.send_text("anyone?"))
        assert message == "/echo #1 is closed (1000): cannot send to it"
    assert terminated() == ["stop"]


def test_a_crashing_handler_closes_its_socket_with_1011(client: AppClient) -> None:
    with client.ws("/echo") as ws:
        ws.send_text("crash")
        assert ws.receive_close() == (1011, "internal error")
    (reason,) = terminated()
    assert reason[0] == "crash"


def test_assert_no_message(client: AppClient) -> None:
    with client.ws("/echo") as ws:
        ws.assert_no_message(timeout=0.05)
        ws.send_text("hi")
        _, message = elapsed_while(ws.assert_no_message)
    assert message == "/echo #1 got text 'Echo: hi', expected nothing"


def test_a_refused_upgrade_raises_with_its_status(client: AppClient) -> None:
    with pytest.raises(UpgradeRefused) as refused:
        client.ws("/refused")
    assert refused.value.status == 403
    assert str(refused.value) == "the WebSocket upgrade of /refused was refused with 403"
    with pytest.raises(UpgradeRefused) as missing:
        client.ws("/nowhere")
    assert missing.value.status == 404
    assert "no ws route" in str(missing.value)


# -- the client's lifespan --------------------------------------------------------------------


def test_the_lifespan_runs_and_its_shutdown_closes_the_sockets_left_open(root: Path) -> None:
    client = app_client(root=root)
    assert LIFESPAN_KEY not in client.app_state
    with client:
        assert LIFESPAN_KEY in client.app_state  # the app's startup ran
        left_open = client.ws("/echo")
    assert left_open.receive_close() == (1001, "server shutdown")
    assert terminated() == ["shutdown"]
    left_open.close()  # nothing left to wait for


def test_sockets_need_the_client_open(root: Path) -> None:
    client = app_client(root=root)
    with pytest.raises(RuntimeError, match=r"open the client first, `with app_client\(\)"):
        client.ws("/echo")


# -- several sockets and broadcasts -------------------------------------------------------


@pytest.mark.parametrize("path", ["/chat", "/async-chat", "/thread-chat"])
def test_a_broadcast_reaches_every_socket(client: AppClient, path: str) -> None:
    with client.sockets(path, n=3) as (alice, bob, carol):
        assert [s.name for s in (alice, bob, carol)] == [f"{path} #1", f"{path} #2", f"{path} #3"]
        bob.send_text("hi all")
        assert_broadcast([alice, bob, carol], "hi all")


def test_a_broadcast_from_the_test_reaches_the_sockets(client: AppClient) -> None:
    with client.sockets("/chat", n=2) as (alice, bob):
        pubsub.broadcast("chat", "message", "from the test")
        assert_broadcast([alice, bob], "from the test")


def test_assert_broadcast_names_the_socket_that_missed_it(client: AppClient) -> None:
    with client.ws("/rooms/red") as red, client.ws("/rooms/blue") as blue:
        red.send_text("red only")
        took, message = elapsed_while(lambda: assert_broadcast([red, blue], "red only", 0.3))
    assert 0.3 <= took < 1.5
    assert message == (
        "broadcast 'red only' reached 1 of 2 sockets within 0.3 s: /rooms/blue #1 got nothing"
    )


def test_assert_broadcast_names_what_a_socket_got_instead(client: AppClient) -> None:
    with client.sockets("/chat", n=2) as (alice, bob):
        alice.send_text("first")
        _, message = elapsed_while(lambda: assert_broadcast([alice, bob], "second"))
    assert message == (
        "broadcast 'second' reached 0 of 2 sockets within 2 s: "
        "/chat #1 got text 'first'; /chat #2 got text 'first'"
    )


def test_assert_broadcast_matches_json_values_and_bytes(client: AppClient) -> None:
    with client.sockets("/chat", n=2) as (alice, bob):
        alice.send_text('{"from": "alice", "n": 1}')
        assert_broadcast([alice, bob], {"n": 1, "from": "alice"})
        alice.send_text("[1, 2]")
        with pytest.raises(AssertionError, match=r"reached 0 of 2 sockets"):
            assert_broadcast([alice, bob], b"[1, 2]")  # a binary frame was expected


def test_wait_for_members_waits_for_joins_after_the_upgrade(client: AppClient) -> None:
    with client.sockets("/late-chat", n=2) as (alice, bob):
        client.wait_for_members("late", 2)
        alice.send_text("now everyone hears it")
        assert_broadcast([alice, bob], "now everyone hears it")
        took, message = elapsed_while(lambda: client.wait_for_members("late", 3, timeout=0.2))
    assert 0.2 <= took < 1.5
    assert message == "channel 'late' has 2 members, not 3, after 0.2 s"


def test_pubsub_calls_of_the_test_go_to_the_app_of_the_open_client(root: Path) -> None:
    with app_client(root=root) as outer, outer.sockets("/chat", n=2) as (alice, bob):
        with app_client(root=root) as inner, inner.ws("/chat") as carol:
            outer.wait_for_members("chat", 2)  # each app has its own channels
            inner.wait_for_members("chat", 1)
            pubsub.broadcast("chat", "message", "to the inner app")
            assert carol.receive_text() == "to the inner app"
            alice.assert_no_message()
        # the inner app has shut down: the outer one is the test's again
        pubsub.broadcast("chat", "message", "to the outer app")
        assert_broadcast([alice, bob], "to the outer app")
