"""docs/websockets.md, docs/pubsub.md and docs/presence.md: their examples, served and exercised."""

from __future__ import annotations

import json
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


def test_presence_page_lobby(tmp_path: Path) -> None:
    root = app_from_docs("presence.md", tmp_path)
    with uvicorn_app(root) as server, connect(server.ws_url + "/lobby?name=alice") as alice:
        assert json.loads(alice.recv(timeout=10)) == {
            "state": {"alice": [{"status": "here", "nova_ref": ANY_REF}]}
        }
        with connect(server.ws_url + "/lobby?name=bob") as bob:
            assert sorted(json.loads(bob.recv(timeout=10))["state"]) == ["alice", "bob"]
            bob.send("away")
            seen: dict[str, list[str]] = {}
            while seen.get("bob") != ["away"]:  # alice's own join, bob's, his update
                diff = json.loads(alice.recv(timeout=10))["diff"]
                for name in diff["leaves"]:
                    seen.pop(name, None)
                for name, metas in diff["joins"].items():
                    seen[name] = [m["status"] for m in metas]
        while "bob" in seen:
            diff = json.loads(alice.recv(timeout=10))["diff"]
            assert "bob" in diff["leaves"] and not diff["joins"]
            seen.pop("bob")


class _AnyRef(str):
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and "/" in other

    __hash__ = str.__hash__


ANY_REF = _AnyRef()
