"""The error page while a reload has failed, and the app that never loaded."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from nova_cli.devserver.overlay import ErrorOverlay
from nova_cli.devserver.problems import Problem

HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
PROBLEM = Problem(
    kind="SyntaxError",
    message="'(' was never closed",
    file="myapp/controllers/main_controller.py",
    line=3,
    traceback='  File "main_controller.py", line 3\nSyntaxError: <oops>',
    source=[(2, ""), (3, "def index(req:"), (4, "    return 1")],
)


def good_app() -> Starlette:
    async def index(request: Request) -> Response:
        return JSONResponse({"last": "good"})

    return Starlette(routes=[Route("/", index, methods=["GET", "POST"])])


def test_without_a_problem_everything_passes() -> None:
    with TestClient(ErrorOverlay(good_app(), lambda: None)) as client:
        assert client.get("/", headers=HTML).json() == {"last": "good"}


def test_browsers_get_the_error_page_others_the_last_good_code() -> None:
    with TestClient(ErrorOverlay(good_app(), lambda: PROBLEM)) as client:
        page = client.get("/", headers=HTML)
        assert page.status_code == 500 and page.headers["cache-control"] == "no-store"
        text = page.text
        assert "<title>Reload failed: SyntaxError</title>" in text
        assert "myapp/controllers/main_controller.py:3" in text
        assert "&#x27;(&#x27; was never closed" in text
        assert '<tr class="hit"><td>3</td><td>def index(req:</td></tr>' in text
        assert "&lt;oops&gt;" in text  # escaped
        assert client.get("/").json() == {"last": "good"}  # no accept: an API client
        assert client.get("/", headers={"accept": "application/json"}).json() == {"last": "good"}
        assert client.post("/", headers=HTML).json() == {"last": "good"}


def test_an_app_that_never_loaded_answers_with_the_problem() -> None:
    with TestClient(ErrorOverlay(None, lambda: PROBLEM)) as client:  # lifespan runs
        assert "Reload failed: SyntaxError" in client.get("/x", headers=HTML).text
        r = client.get("/x")
        assert r.status_code == 500
        assert r.json()["message"] == (
            "the app did not load: myapp/controllers/main_controller.py:3: "
            "SyntaxError: '(' was never closed"
        )
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws"):
            pass
        assert refused.value.code == 1011
