"""One JSON error shape, whoever answers the error.

`{"status": 404, "error": "not_found", "message": "no route for /nope"}`:
the router's own pages (404, 405, 413, 500), the request plugin's 400s (a
body json_body refuses, a form that is not UTF-8), request validation's
400s (which add `errors`), the generated resource's
400 and 404, and the dev server's answer while the app does not load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from nova_cli.devserver.overlay import ErrorOverlay
from nova_cli.devserver.problems import Problem
from nova_cli.scaffold import Project, apply, plan_app, plan_generator
from tests.runtime.conftest import Apps

JSON = {"content-type": "application/json"}


def assert_shape(response: Any, status: int, code: str, message: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert {k: v for k, v in body.items() if k not in ("traceback", "errors")} == {
        "status": status,
        "error": code,
        "message": body["message"],
    }, body
    assert body["message"].startswith(message), body


@pytest.fixture
def shop(tmp_path: Path, apps: Apps) -> Path:
    """A new app with a books resource and a route that raises."""
    root = tmp_path / "shop"
    apply(plan_app("shop", root))
    apply(plan_generator("resource", "books", Project(root, "shop")))
    router = root / "shop" / "router.py"
    boom = '("/boom", lambda req: 1 / 0, {"methods": ["get"]}),\n                ("/heartbeat",'
    router.write_text(router.read_text().replace('("/heartbeat",', boom))
    apps.packages.add("shop")
    return root


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_the_routers_pages(shop: Path, apps: Apps, environment: str) -> None:
    client = apps.client(shop, environment=environment, max_body_size=100)
    assert_shape(client.get("/nope"), 404, "not_found", "no route for /nope")
    assert_shape(client.patch("/books"), 405, "method_not_allowed", "PATCH is not allowed here")
    big = client.post("/books", content=b"x" * 200, headers=JSON)
    assert_shape(big, 413, "content_too_large", "request body over 100 bytes")
    message = "ZeroDivisionError" if environment == "dev" else "The server could not"
    assert_shape(client.get("/boom"), 500, "internal_server_error", message)


def test_the_request_plugins_400s(shop: Path, apps: Apps) -> None:
    client = apps.client(shop)
    malformed = client.post("/books", content=b"{not json", headers=JSON)
    assert_shape(malformed, 400, "bad_request", "malformed JSON body")
    nan = client.post("/books", content=b'{"title": NaN}', headers=JSON)
    assert_shape(nan, 400, "bad_request", "JSON body cannot be accepted: NaN")
    form = {"content-type": "application/x-www-form-urlencoded"}
    not_utf8 = client.post("/books", content=b"title=\xff", headers=form)
    assert_shape(not_utf8, 400, "bad_request", "form body is not UTF-8")


def test_the_generated_resources_errors(shop: Path, apps: Apps) -> None:
    client = apps.client(shop)
    # schemas/book.json says "object": the router refuses the list before the controller.
    not_an_object = client.post("/books", json=[1])
    assert_shape(not_an_object, 400, "bad_request", "body does not match book.json")
    assert not_an_object.json()["errors"] == [
        {"path": "", "message": "data must be object", "rule": "type"}
    ]
    assert_shape(client.get("/books/41"), 404, "not_found", "no books item with id 41")
    assert_shape(client.delete("/books/41"), 404, "not_found", "no books item with id 41")


def test_the_dev_servers_answer_while_the_app_does_not_load() -> None:
    with TestClient(ErrorOverlay(None, lambda: Problem("SyntaxError", "bad"))) as client:
        assert_shape(client.get("/"), 500, "internal_server_error", "the app did not load")


def test_html_clients_still_get_a_page(shop: Path, apps: Apps) -> None:
    page = apps.client(shop).get("/nope", headers={"accept": "text/html"})
    assert page.status_code == 404 and "<h1>404 Not Found</h1>" in page.text
