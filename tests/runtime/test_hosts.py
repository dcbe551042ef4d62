"""Routing by host: a group's `host` key, its fallback to any-host routes, `nova routes`."""

from __future__ import annotations

import json

import httpx
import pytest
from starlette.testclient import TestClient

from nova_cli.core.errors import RouteTableError
from tests.runtime.conftest import Apps
from tests.support import rawws
from tests.support.cli import run_nova
from tests.support.servers import uvicorn_app

APP = {
    "controllers/__init__.py": "",
    "controllers/echo_ws_handler.py": """
        def init(state):
            return ("ok", state)

        def websocket_handle(frame, state):
            return ("reply", ("text", "api:" + frame[1]), state)
    """,
    "router.py": """
        from tinyapp.controllers import echo_ws_handler

        def named(name):
            def answer(req):
                return ("json", {"by": name})
            answer.__qualname__ = name
            return answer

        def routes(environment):
            return [
                {"host": "api.example.com", "prefix": "/v1", "routes": [
                    ("/users", named("api_users"), {"methods": ["get"]}),
                    ("/ws", echo_ws_handler, {"protocol": "ws"}),
                ]},
                {"host": "API.Example.com", "routes": [
                    ("/", named("api_home"), {"methods": ["get"]}),
                    ("/health", named("api_health"), {"methods": ["post"]}),
                ]},
                {"host": "_", "routes": [("/anyhost", named("underscore"))]},
                {"routes": [
                    ("/", named("www_home"), {"methods": ["get"]}),
                    ("/health", named("health"), {"methods": ["get"]}),
                ]},
            ]
    """,
}


@pytest.fixture
def client(apps: Apps) -> TestClient:
    return apps.client(apps.write(APP))


@pytest.mark.parametrize(
    ("host", "path", "by"),
    [
        ("api.example.com", "/v1/users", "api_users"),
        ("API.example.COM:8443", "/v1/users", "api_users"),  # case and port do not count
        ("api.example.com", "/", "api_home"),  # the host's own route shadows the any-host one
        ("www.example.com", "/", "www_home"),
        ("api.example.com", "/health", "health"),  # GET falls back to the any-host route
        ("api.example.com", "/anyhost", "underscore"),  # "_" is any host, as in Nova
    ],
)
def test_a_request_is_routed_by_its_host(client: TestClient, host: str, path: str, by: str) -> None:
    assert client.get(path, headers={"host": host}).json() == {"by": by}


def test_a_host_route_answers_no_other_host(client: TestClient) -> None:
    response = client.get("/v1/users", headers={"host": "www.example.com"})
    assert response.status_code == 404


def test_405_lists_the_methods_of_both_the_host_and_the_any_host_routes(
    client: TestClient,
) -> None:
    response = client.put("/health", headers={"host": "api.example.com"})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"


def test_websocket_routes_go_by_host_too(client: TestClient) -> None:
    with client.websocket_connect("/v1/ws", headers={"host": "api.example.com"}) as ws:
        ws.send_text("hi")
        assert ws.receive_text() == "api:hi"


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("https://api.example.com", "group 0: host must be a host name such as"),
        ("api.example.com/v1", "group 0: host must be a host name such as"),
        (42, "group 0: host must be a host name such as 'api.example.com' (or '_'), got 42"),
    ],
)
def test_a_bad_host_is_one_line_at_start_up(apps: Apps, host: object, message: str) -> None:
    router = f"def routes(environment):\n    return [{{'host': {host!r}, 'routes': []}}]\n"
    with pytest.raises(RouteTableError) as caught:
        apps.app(apps.write({"router.py": router}))
    assert str(caught.value).startswith(message)


def test_the_same_route_on_one_host_twice_is_a_duplicate(apps: Apps) -> None:
    router = """
        def f(req):
            return ("status", 204)

        def routes(environment):
            return [
                {"host": "a.example", "routes": [("/x", f)]},
                {"host": "b.example", "routes": [("/x", f)]},
                {"routes": [("/x", f)]},
                {"host": "a.example", "routes": [("/x", f)]},
            ]
    """
    with pytest.raises(RouteTableError, match=r"group 3, route .*duplicate route .*in group 0"):
        apps.app(apps.write({"router.py": router}))


def test_nova_routes_shows_the_host(apps: Apps) -> None:
    root = apps.write(APP)
    result = run_nova("routes", "--json", cwd=root)
    assert result.returncode == 0, result.stderr
    rows = {(row.get("host"), row["path"]): row for row in json.loads(result.stdout)}
    assert ("api.example.com", "/v1/users") in rows
    assert (None, "/health") in rows and "host" not in rows[(None, "/health")]
    text = run_nova("routes", cwd=root).stdout.splitlines()
    assert text[0].split() == ["METHOD", "HOST", "PATH", "TARGET", "PROTOCOL", "SECURITY"]
    assert text[1].split()[:3] == ["GET", "api.example.com", "/v1/users"]
    assert text[-1].split()[:3] == ["GET", "*", "/health"]


def test_hosts_under_a_real_uvicorn(apps: Apps) -> None:
    with uvicorn_app(apps.write(APP)) as server:
        api = httpx.get(server.url + "/", headers={"host": "api.example.com"}, timeout=10)
        www = httpx.get(server.url + "/", timeout=10)
        assert (api.json(), www.json()) == ({"by": "api_home"}, {"by": "www_home"})
        # A raw socket: a client library sends the URL's host, not the one asked for.
        with rawws.connect(server.port) as sock:
            sock.sendall(rawws.upgrade_request("/v1/ws", server.port, host="api.example.com"))
            assert rawws.read_head(sock).startswith(b"HTTP/1.1 101")
            sock.sendall(rawws.frame(1, b"x"))
            assert sock.recv(64) == b"\x81\x05api:x"
