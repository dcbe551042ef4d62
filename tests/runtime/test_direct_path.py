"""The direct HTTP path: NovaApp hands requests straight to the router, which
answers every error itself; `req.raw` is built when asked for."""

from __future__ import annotations

import pytest
from starlette.requests import Request as StarletteRequest
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.runtime.conftest import Apps

APP = {
    "router.py": """
        from starlette.responses import FileResponse, StreamingResponse

        def gone(req):
            # A file that disappears between the controller and the response.
            return FileResponse("/nonexistent/nova-test-file")

        def half(req):
            def chunks():
                yield b"first part "
                raise RuntimeError("second part failed")
            return StreamingResponse(chunks())

        async def raw(req):
            return ("json", {"same": req.raw is req.raw,
                             "kind": type(req.raw).__name__,
                             "body": (await req.raw.body()).decode(),
                             "url": str(req.url), "app": req.app is not None,
                             "path": req.scope["path"]})

        def not_found(req):
            return ("json", 404, {}, {"kind": type(req.raw).__name__, "path": req.path})

        def routes(environment):
            return [
                {"routes": [("/gone", gone), ("/half", half),
                            ("/raw", raw, {"methods": ["get", "post"]}),
                            ("/hello", lambda req: ("json", {"hello": "world"}))]},
                {"routes": [(404, not_found)]},
            ]
    """
}


@pytest.fixture
def client(apps: Apps) -> TestClient:
    return apps.client(apps.write(APP, package="direct"), environment="prod")


@pytest.mark.parametrize(
    ("accept", "kind"), [("*/*", "application/json"), ("text/html", "text/html")]
)
def test_a_response_failing_before_its_first_byte_is_the_negotiated_500(
    client: TestClient, accept: str, kind: str
) -> None:
    r = client.get("/gone", headers={"accept": accept})
    assert r.status_code == 500
    assert r.headers["content-type"].startswith(kind)
    assert "nonexistent" not in r.text  # prod: nothing about the code
    if kind == "application/json":
        assert r.json()["error"] == "internal_server_error"
    assert client.get("/hello").json() == {"hello": "world"}


def test_a_response_failing_after_its_first_byte_is_the_servers_to_close(
    client: TestClient,
) -> None:
    # Nothing can be answered any more: the exception goes on to the server.
    with pytest.raises(RuntimeError, match="second part failed"):
        client.get("/half")


def test_no_starlette_middleware_stack_is_built_without_user_middleware(
    client: TestClient,
) -> None:
    assert client.get("/hello").json() == {"hello": "world"}
    assert client.app.middleware_stack is None  # type: ignore[attr-defined]


def test_middleware_added_by_the_user_still_runs(apps: Apps) -> None:
    app = apps.app(apps.write(APP, package="direct"), environment="prod")
    seen: list[str] = []

    class Tag:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await self.app(scope, receive, send)
                return
            seen.append(scope["path"])

            async def tagged(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message["headers"], (b"x-tag", b"1")]
                await send(message)

            await self.app(scope, receive, tagged)

    app.add_middleware(Tag)
    client = TestClient(app)
    for path, status in (("/hello", 200), ("/nowhere", 404), ("/gone", 500)):
        r = client.get(path)
        assert (r.status_code, r.headers["x-tag"]) == (status, "1"), path
    assert seen == ["/hello", "/nowhere", "/gone"]
    assert app.middleware_stack is not None  # Starlette's usual path


def test_req_raw_is_the_starlette_request_built_once(client: TestClient) -> None:
    r = client.post("/raw?x=1", content=b"payload")
    assert r.json() == {
        "same": True,
        "kind": StarletteRequest.__name__,
        "body": "payload",
        "url": "http://testserver/raw?x=1",
        "app": True,
        "path": "/raw",
    }
    # A status route's req (no route matched) has it too.
    assert client.get("/nowhere").json() == {"kind": StarletteRequest.__name__, "path": "/nowhere"}


def test_head_on_a_json_route(client: TestClient) -> None:
    get, head = client.get("/hello"), client.head("/hello")
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.content))
    assert head.headers["content-type"] == "application/json"
