"""The WebSocket plugin phases: pre_ws_request, post_ws_request, post_ws_connection."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.runtime.conftest import Apps
from tests.support.servers import uvicorn_app
from tests.support.waiting import wait_for

WATCH = """
EVENTS = []


def init():
    return {"connections": 0}


def pre_ws_request(state, options, plugin_state):
    plugin_state["connections"] += 1
    EVENTS.append(("pre", sorted(state)))
    do = state["req"].query.get("pre", "ok")
    if do == "ok":
        return ("ok", {**state, "seen_by": options["name"], "n": plugin_state["connections"]})
    if do == "none":
        return None
    if do == "break":
        return ("break", {**state, "seen_by": "break"})
    if do == "stop":
        return ("stop", state)
    if do == "error":
        return ("error", "no entry")
    if do == "raise":
        raise RuntimeError("plugin bug")
    return "garbage"


class Second:
    # a second plugin, an object in this module

    @staticmethod
    def pre_ws_request(state, options):
        EVENTS.append("second_pre")
        return ("ok", {**state, "second": True})


def post_ws_request(state, options):
    EVENTS.append(("post", state["count"]))
    if state["count"] == 3:
        return ("stop", state)
    if state["count"] == 4:
        return ("error", "too many")
    return ("ok", {**state, "posted": state["count"]})


async def post_ws_connection(state, options):
    EVENTS.append(("gone", state.get("count")))
    return ("ok", state)
"""

HANDLER = """
import json

from tinyapp import watch


def init(state):
    watch.EVENTS.append(("init", state.get("seen_by"), state.get("second")))
    return ("ok", {**state, "count": 0})


def websocket_handle(frame, state):
    count = state["count"] + 1
    if frame[1] == "4":
        count = 4
    shown = {k: state.get(k) for k in ("seen_by", "n", "posted")}
    return ("reply", ("text", json.dumps({**shown, "count": count})), {**state, "count": count})


def websocket_info(message, state):
    return ("ok", state)


def terminate(reason, req, state):
    watch.EVENTS.append(("terminate",))
"""

WS_APP = {
    "watch.py": WATCH,
    "controllers/__init__.py": "",
    "controllers/room_ws_handler.py": HANDLER,
    "router.py": """
        from tinyapp import watch
        from tinyapp.controllers import room_ws_handler

        def routes(environment):
            return [
                {"plugins": [
                    ("pre_ws_request", watch, {"name": "w1"}),
                    ("pre_ws_request", "tinyapp.watch:Second", {}),
                    ("post_ws_request", watch, {}),
                    ("post_ws_connection", watch, {}),
                ], "routes": [("/room", room_ws_handler, {"protocol": "ws"})]},
                {"prefix": "/plain", "routes": [("/room", room_ws_handler, {"protocol": "ws"})]},
            ]
    """,
}


def events() -> list[Any]:
    from tinyapp import watch

    return watch.EVENTS


@pytest.fixture
def client(apps: Apps) -> TestClient:
    return apps.client(apps.write(WS_APP))


def test_pre_ws_request_runs_before_init_and_may_change_its_state(client: TestClient) -> None:
    with client, client.websocket_connect("/room") as ws:
        ws.send_text("hi")
        assert ws.receive_json() == {"seen_by": "w1", "n": 1, "posted": None, "count": 1}
        ws.send_text("again")
        assert ws.receive_json() == {"seen_by": "w1", "n": 1, "posted": 1, "count": 2}
    assert events()[:3] == [("pre", ["req", "session"]), "second_pre", ("init", "w1", True)]


def test_the_plugin_state_is_the_apps_across_connections(client: TestClient) -> None:
    with client:
        for n in (1, 2):
            with client.websocket_connect("/room") as ws:
                ws.send_text("hi")
                assert ws.receive_json()["n"] == n


def test_none_goes_on_and_break_skips_the_remaining_pre_plugins(client: TestClient) -> None:
    with client.websocket_connect("/room?pre=none") as ws:
        ws.send_text("hi")
        assert ws.receive_json()["seen_by"] is None
    assert ("init", None, True) in events()
    events().clear()
    with client.websocket_connect("/room?pre=break") as ws:
        ws.send_text("hi")
        assert ws.receive_json()["seen_by"] == "break"
    assert "second_pre" not in events()
    assert ("init", "break", None) in events()


def test_stop_in_pre_ws_request_refuses_the_upgrade_with_403(client: TestClient) -> None:
    with pytest.raises(WebSocketDenialResponse) as denied:
        client.websocket_connect("/room?pre=stop").__enter__()
    assert denied.value.status_code == 403
    assert not any(e[0] == "init" for e in events() if isinstance(e, tuple))


@pytest.mark.parametrize(
    ("do", "logged"),
    [
        ("error", "plugin tinyapp.watch pre_ws_request failed: 'no entry'"),
        ("raise", "pre_ws_request crashed"),
        ("garbage", "plugin tinyapp.watch pre_ws_request returned 'garbage'; expected None,"),
    ],
)
def test_an_error_in_pre_ws_request_refuses_the_upgrade_with_500(
    client: TestClient, caplog: pytest.LogCaptureFixture, do: str, logged: str
) -> None:
    caplog.set_level(logging.INFO, "nova_cli.websocket")
    with pytest.raises(WebSocketDenialResponse) as denied:
        client.websocket_connect(f"/room?pre={do}").__enter__()
    assert denied.value.status_code == 500
    assert logged in caplog.text


def test_post_ws_request_runs_after_each_websocket_handle(client: TestClient) -> None:
    with client.websocket_connect("/room") as ws:
        ws.send_text("one")
        ws.receive_json()
        ws.send_text("two")
        assert ws.receive_json()["posted"] == 1
    assert [e for e in events() if e[0] == "post"] == [("post", 1), ("post", 2)]


def test_stop_in_post_ws_request_closes_with_1000(client: TestClient) -> None:
    with client.websocket_connect("/room") as ws:
        for _ in range(3):
            ws.send_text("x")
            ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1000


def test_error_in_post_ws_request_closes_with_1011(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with client.websocket_connect("/room") as ws:
        ws.send_text("4")
        ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1011
    assert "plugin tinyapp.watch post_ws_request failed: 'too many'" in caplog.text


def test_post_ws_connection_runs_once_after_terminate(client: TestClient) -> None:
    with client.websocket_connect("/room") as ws:
        ws.send_text("x")
        ws.receive_json()
    wait_for(lambda: ("gone", 1) in events())
    assert events()[-2:] == [("terminate",), ("gone", 1)]


def test_a_group_without_ws_plugins_runs_none(client: TestClient) -> None:
    with client.websocket_connect("/plain/room") as ws:
        ws.send_text("x")
        assert ws.receive_json()["seen_by"] is None
    assert events() == [("init", None, None), ("terminate",)]


def test_the_phases_run_under_a_real_uvicorn(apps: Apps) -> None:
    root = apps.write(WS_APP)
    with uvicorn_app(root) as server:
        with pytest.raises(InvalidStatus) as refused:
            connect(server.ws_url + "/room?pre=stop", open_timeout=10)
        assert refused.value.response.status_code == 403
        with connect(server.ws_url + "/room", open_timeout=10) as ws:
            for expected in (1, 2, 3):
                ws.send("x")
                assert f'"count": {expected}' in str(ws.recv(timeout=10))
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
