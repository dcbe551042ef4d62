"""A WebSocket's `init` gets the session of its upgrade request, as a read-only copy."""

from __future__ import annotations

import json

from starlette.testclient import TestClient

from tests.runtime.conftest import Apps
from tests.session.conftest import CONTROLLERS

HANDLER = """
import json


def init(state):
    state["user"] = state["session"].get("user")
    try:
        state["session"]["user"] = "mallory"
        state["writable"] = True
    except TypeError:
        state["writable"] = False
    return ("ok", state)


def websocket_init(state):
    return ("reply", ("text", json.dumps([state["user"], state["writable"]])), state)


def websocket_handle(frame, state):
    return ("ok", state)
"""

ROUTER = """
from tinyapp.controllers import sess, who_ws


def routes(environment):
    return [
        {
            "routes": [
                ("/put", sess.put, {"methods": ["get"]}),
                ("/show", sess.show, {"methods": ["get"]}),
                ("/who", who_ws, {"protocol": "ws"}),
            ]
        }
    ]
"""


def test_init_reads_the_upgrade_requests_session_and_cannot_write_it(apps: Apps) -> None:
    root = apps.write(
        {
            "controllers/__init__.py": "",
            "controllers/sess.py": CONTROLLERS,
            "controllers/who_ws.py": HANDLER,
            "router.py": ROUTER,
        }
    )
    with TestClient(apps.app(root, environment="dev")) as client:
        sid = client.get("/put?user=alice").cookies["session_id"]
        client.cookies.clear()
        with client.websocket_connect("/who", headers={"cookie": f"session_id={sid}"}) as ws:
            assert json.loads(ws.receive_text()) == ["alice", False]
        with client.websocket_connect("/who") as ws:
            assert json.loads(ws.receive_text()) == [None, False]
        assert client.get("/show", headers={"cookie": f"session_id={sid}"}).json() == {
            "user": "alice"
        }
