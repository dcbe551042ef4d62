"""docs/websockets.md, docs/pubsub.md and docs/presence.md: their examples, served and exercised."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
from websockets.sync.client import connect

from tests.docs.conftest import DOCS, app_from_docs
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


def test_sessions_page_login_notes_logout(tmp_path: Path) -> None:
    root = app_from_docs("sessions-and-auth.md", tmp_path)
    page = (DOCS / "sessions-and-auth.md").read_text()
    view = re.search(r"```html\n<!-- notes_app/views/login.html -->\n(.*?)```", page, re.S)
    assert view
    (root / "notes_app" / "views").mkdir()
    (root / "notes_app" / "views" / "login.html").write_text(view.group(1))
    # dev: the cookies are not Secure, so the client sends them over http
    with (
        uvicorn_app(root, env={"NOVA_ENVIRONMENT": "dev"}) as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        _drive_the_notes_app(client)


def _drive_the_notes_app(client: httpx.Client) -> None:
    assert client.get("/notes").json() == {
        "status": 401,
        "error": "unauthorized",
        "message": "log in first",
    }
    form = client.get("/login")
    found = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
    assert found
    token, before = found.group(1), client.cookies["session_id"]
    login = {"name": "alice", "password": "wonderland"}
    refused = client.post("/login", data=login)
    assert (refused.status_code, refused.text) == (403, "Forbidden - CSRF token invalid")
    wrong = client.post("/login", data={**login, "password": "x", "_csrf_token": token})
    assert wrong.status_code == 401 and "wrong name or password" in wrong.text
    ok = client.post("/login", data={**login, "_csrf_token": token})
    assert (ok.status_code, ok.headers["location"]) == (302, "/notes")
    assert client.cookies["session_id"] != before  # rotated on login
    assert client.get("/notes").json() == {"user": "alice", "visits": 1}
    assert client.get("/notes").json() == {"user": "alice", "visits": 2}
    theme = client.get("/theme/dark")
    assert theme.headers["set-cookie"].startswith("theme=dark; Max-Age=31536000; Path=/")
    assert "HttpOnly" not in theme.headers["set-cookie"]
    out = client.post("/logout", headers={"x-csrf-token": token})
    assert out.status_code == 302 and "Max-Age=0" in out.headers["set-cookie"]
    assert client.get("/notes").status_code == 401


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
