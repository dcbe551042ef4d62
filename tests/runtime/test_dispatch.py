"""The request pipeline (`dispatch.NovaRouter`): routing to responses, 405/HEAD, bodies, req."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from nova_cli.runtime import create_app
from tests.runtime.conftest import Apps, purge
from tests.support.servers import ASSETS

PIPE_APP = {
    "router.py": """
        from pipe import controller as c

        def routes(environment):
            return [
                {"routes": [
                    ("/env", lambda req: ("json", {"environment": environment,
                                                    "req": req.environment})),
                    ("/req/:id/[...]", c.inspect, {"extra_state": {"k": "v"}}),
                    ("/body", c.body, {"methods": ["post", "put"]}),
                    ("/raw_body", c.raw_body, {"methods": ["post"]}),
                    ("/record", c.record, {"methods": ["post"]}),
                    ("/page", c.page, {"methods": ["get"]}),
                    ("/notes/[...]", c.which("wild")),
                    ("/notes/:id", c.which("show")),
                    ("/notes/new", c.which("new")),
                    ("/a/b/c", c.which("abc")),
                    ("/a/:id/edit", c.which("edit")),
                ]},
                {"prefix": "/only" if environment == "prod" else "/dev-only",
                 "routes": [("/", lambda req: ("status", 204))]},
            ]
    """,
    "controller.py": """
        def inspect(req):
            return ("json", {
                "method": req.method, "path": req.path, "bindings": req.bindings,
                "pathinfo": req.pathinfo, "query": dict(req.query),
                "cookies": req.cookies, "agent": req.headers.get("user-agent"),
                "extra_state": req.extra_state, "controller": req.controller.__name__,
            })

        def body(req):
            return ("json", 200, {}, {"size": len(req.body), "head": req.body[:5].decode()})

        async def raw_body(req):
            # The body was read for the limit check; Starlette can still read it.
            return ("json", 200, {}, {"raw": (await req.raw.body()).decode(),
                                      "same": (await req.raw.body()) == req.body})

        def page(req):
            return ("status", 200, {"x-page": "1"}, "a page body")

        CALLS = []

        def record(req):
            CALLS.append(req.body)
            return ("status", 200)

        def which(name):
            def controller(req):
                return ("json", {"route": name, "bindings": req.bindings})
            return controller
    """,
}


@pytest.fixture
def pipe(apps: Apps) -> Any:
    root = apps.write(PIPE_APP, package="pipe")

    def make(**settings: Any) -> TestClient:
        return apps.client(root, **settings)

    return make


@pytest.mark.parametrize("environment", ["dev", "prod", "staging"])
def test_routes_receives_the_configured_environment(pipe: Any, environment: str) -> None:
    client = pipe(environment=environment)
    assert client.get("/env").json() == {"environment": environment, "req": environment}
    assert client.get("/only").status_code == (204 if environment == "prod" else 404)


def test_environment_from_nova_environment_variable(
    pipe: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOVA_ENVIRONMENT", "qa")
    assert pipe().get("/env").json()["environment"] == "qa"


def test_req_carries_what_nova_puts_in_its_request_map(pipe: Any) -> None:
    client = pipe()
    client.cookies.set("session", "s1")
    r = client.get("/req/42/x/y.txt?q=1&q=2&z=", headers={"user-agent": "ua/1"})
    assert r.json() == {
        "method": "GET",
        "path": "/req/42/x/y.txt",
        "bindings": {"id": "42"},
        "pathinfo": ["x", "y.txt"],
        "query": {"q": "2", "z": ""},
        "cookies": {"session": "s1"},
        "agent": "ua/1",
        "extra_state": {"k": "v"},
        "controller": "inspect",
    }


def test_bindings_are_url_decoded(pipe: Any) -> None:
    assert pipe().get("/req/a%20b").json()["bindings"] == {"id": "a b"}


def test_precedence_and_backtracking_through_the_app(pipe: Any) -> None:
    client = pipe()
    assert client.get("/notes/new").json()["route"] == "new"
    assert client.get("/notes/7").json() == {"route": "show", "bindings": {"id": "7"}}
    assert client.get("/notes/7/8").json()["route"] == "wild"
    assert client.get("/a/b/edit").json() == {"route": "edit", "bindings": {"id": "b"}}


def test_trailing_slash_is_tolerated(pipe: Any) -> None:
    client = pipe()
    assert client.get("/notes/new/").json()["route"] == "new"
    assert client.get("/page/").status_code == 200


def test_wrong_method_is_405_with_allow(pipe: Any) -> None:
    r = pipe().delete("/page")
    assert (r.status_code, r.headers["allow"]) == (405, "GET, HEAD")
    r = pipe().get("/body")
    assert (r.status_code, r.headers["allow"]) == (405, "POST, PUT")


def test_head_on_a_get_route_has_the_headers_and_no_body(pipe: Any) -> None:
    client = pipe()
    get, head = client.get("/page"), client.head("/page")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["x-page"] == "1"
    assert head.headers["content-length"] == get.headers["content-length"] == "11"


def test_the_body_is_read_once_and_replayed(pipe: Any) -> None:
    client = pipe()
    assert client.post("/body", content=b"hello world").json() == {"size": 11, "head": "hello"}
    assert client.post("/raw_body", content=b"abc").json() == {"raw": "abc", "same": True}


def test_a_body_over_the_default_limit_is_413(pipe: Any) -> None:
    client = pipe()
    limit = 1024 * 1024
    assert client.post("/body", content=b"x" * limit).json()["size"] == limit
    r = client.post("/body", content=b"x" * (limit + 1))
    assert r.status_code == 413
    assert r.json()["message"] == f"request body over {limit} bytes"


def test_the_limit_holds_without_content_length(pipe: Any) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(5):
            yield b"x" * 300

    client = pipe(max_body_size=1000)
    r = client.post("/body", content=chunks())  # chunked: no content-length up front
    assert r.status_code == 413
    r = client.post("/body", content=iter([b"x" * 500, b"y" * 500]))
    assert r.json()["size"] == 1000


def test_the_limit_comes_from_tool_nova_env_and_overrides(
    apps: Apps, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = apps.write(PIPE_APP, package="pipe", tool_nova="max_body_size = 100\n")
    assert apps.client(root).post("/body", content=b"x" * 101).status_code == 413
    assert apps.client(root).post("/body", content=b"x" * 100).status_code == 200
    monkeypatch.setenv("NOVA_MAX_BODY_SIZE", "200")
    assert apps.client(root).post("/body", content=b"x" * 150).status_code == 200
    assert apps.client(root).post("/body", content=b"x" * 201).status_code == 413
    client = apps.client(root, max_body_size=10)
    assert client.post("/body", content=b"x" * 11).status_code == 413


async def test_create_app_with_an_async_client(apps: Apps) -> None:
    root = apps.write(PIPE_APP, package="pipe")
    purge("pipe")
    app = create_app(root=root)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://nova") as client:
        r = await client.post("/body", content=b"async")
        assert r.json() == {"size": 5, "head": "async"}
        assert (await client.get("/notes/new")).json()["route"] == "new"


def test_the_table_is_read_per_request_and_may_be_swapped(apps: Apps) -> None:
    from nova_cli.runtime.route_table import build_table

    root = apps.write(PIPE_APP, package="pipe")
    app = apps.app(root, environment="dev")
    client = TestClient(app)
    assert client.get("/only").status_code == 404
    config = app.state.nova_config
    app.router.table = build_table(dataclasses.replace(config, environment="prod"))
    assert client.get("/only").status_code == 204


def test_the_demo_app_under_create_app(demo: Any) -> None:
    client = demo()
    assert client.get("/").text.startswith("<!doctype html><html><body><h1>Hello world!</h1>")
    assert client.get("/heartbeat").status_code == 200
    assert client.get("/users/new").json() == {"new": True}
    assert client.get("/users/5").json() == {"id": "5", "method": "GET"}
    assert client.delete("/users/5").json() == {"id": "5", "method": "DELETE"}
    assert client.get("/users/5/a/b").json() == {"bindings": {"id": "5"}, "pathinfo": ["a", "b"]}
    assert client.get("/env").json() == {"environment": "prod"}
    assert demo(environment="dev").get("/env").json() == {"environment": "dev"}
    assert ASSETS.joinpath("demo", "demo", "router.py").is_file()


def test_a_500_keeps_the_headers_plugins_set(apps: Apps) -> None:
    root = apps.write(
        {
            "router.py": """
                def boom(req):
                    raise RuntimeError("boom")

                def routes(environment):
                    return [{
                        "plugins": [("pre_request", "cors", {"allow_origins": "*"}),
                                    ("pre_request", "correlation", {})],
                        "routes": [("/boom", boom, {})],
                    }]
            """
        }
    )
    response = apps.client(root).get("/boom", headers={"x-request-id": "abc"})
    assert response.status_code == 500
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["x-correlation-id"]


async def test_a_body_cut_short_by_a_disconnect_is_not_dispatched(apps: Apps) -> None:
    app = apps.app(apps.write(PIPE_APP, package="pipe"))
    from pipe.controller import CALLS

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/record",
        "raw_path": b"/record",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"nova"), (b"content-length", b"1000")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    messages = [
        {"type": "http.request", "body": b"0123456789", "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Any] = []

    async def receive() -> Any:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert CALLS == []  # the controller never saw the 10 bytes
    assert sent == []  # and nobody is left to answer
    # The same request, whole, is dispatched.
    scope["headers"] = [(b"host", b"nova"), (b"content-length", b"10")]
    messages[:] = [{"type": "http.request", "body": b"0123456789", "more_body": False}]
    await app(scope, receive, send)
    assert CALLS == [b"0123456789"]
    assert sent[0]["status"] == 200
