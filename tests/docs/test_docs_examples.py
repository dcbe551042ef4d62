"""docs/websockets.md and docs/pubsub.md: their examples, served and exercised."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from websockets.sync.client import connect

from tests.docs.conftest import app_from_docs
from tests.support.servers import uvicorn_app


def test_websockets_page_echo_and_chat(tmp_path: Path) -> None:
    root = app_from_docs("websockets.md", tmp_path)
    with uvicorn_app(root) as server:
        with connect(server.ws_url + "/ws") as ws:
            ws.send("Hello Nova!")
            assert ws.recv(timeout=10) == "Echo: Hello Nova!"
        with connect(server.ws_url + "/chat") as a, connect(server.ws_url + "/chat") as b:
            time.sleep(0.2)  # both joined in init, before the upgrade completed
            a.send("hi from a")
            assert a.recv(timeout=10) == "hi from a"
            assert b.recv(timeout=10) == "hi from a"
        assert httpx.get(server.url + "/heartbeat").status_code == 200
        assert httpx.get(server.url + "/login").text == "login page"


def test_pubsub_page_controller_broadcast_and_rooms(tmp_path: Path) -> None:
    root = app_from_docs("pubsub.md", tmp_path)
    with uvicorn_app(root) as server:
        with connect(server.ws_url + "/chat") as a, connect(server.ws_url + "/chat") as b:
            r = httpx.post(server.url + "/announce", content=b"from a controller")
            assert r.status_code == 204
            assert a.recv(timeout=10) == b.recv(timeout=10) == "from a controller"
        with (
            connect(server.ws_url + "/rooms/red") as red1,
            connect(server.ws_url + "/rooms/red") as red2,
            connect(server.ws_url + "/rooms/blue") as blue,
        ):
            red1.send("only red")
            assert red2.recv(timeout=10) == "only red"
            assert red1.recv(timeout=10) == "only red"
            blue.send("blue here")
            assert blue.recv(timeout=10) == "blue here"
            red1.send("red again")
            assert red2.recv(timeout=10) == "red again"
            blue.send("blue again")  # had red reached blue, it would come first
            assert blue.recv(timeout=10) == "blue again"
