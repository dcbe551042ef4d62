"""Error pages: negotiation on `accept`, dev vs prod, logging, status-code routes."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from starlette.datastructures import Headers
from starlette.testclient import TestClient

from nova_cli.runtime.errors import error_response, wants_html
from tests.runtime.conftest import Apps

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (None, False),  # curl, API clients: JSON
        ("", False),
        ("*/*", False),
        ("application/json", False),
        ("text/html", True),
        (BROWSER, True),
        ("application/xhtml+xml", True),
        ("application/json, text/html", False),  # a tie goes to JSON
        ("application/json;q=0.5, text/html", True),
        ("text/html;q=0.2, application/*", False),
        ("text/html;q=0.2, */*", False),
        ("text/html, */*", True),  # */* counts a little less than an explicit type
        ("text/html;q=0, */*", False),
        ("TEXT/HTML", True),
        ("text/html;q=abc", False),
        ("text/plain", False),
    ],
)
def test_wants_html(accept: str | None, html: bool) -> None:
    headers = Headers({"accept": accept} if accept is not None else {})
    assert wants_html(headers) is html


def boom() -> ValueError:
    try:
        raise ValueError("secret <detail>")
    except ValueError as exc:
        return exc


def test_error_response_json_in_dev_has_the_traceback() -> None:
    r = error_response(Headers({}), 500, "ValueError: secret", exc=boom(), dev=True)
    assert r.media_type == "application/json"
    body = r.body.decode()
    assert '"status":500' in body and '"error":"internal_server_error"' in body
    assert "ValueError: secret" in body and "Traceback (most recent call last)" in body


def test_error_response_html_in_dev_escapes_the_traceback() -> None:
    r = error_response(Headers({"accept": "text/html"}), 500, "x", exc=boom(), dev=True)
    body = r.body.decode()
    assert "<h1>500 Internal Server Error</h1>" in body
    assert "secret &lt;detail&gt;" in body and "secret <detail>" not in body


@pytest.mark.parametrize("accept", [None, "text/html"])
def test_error_response_in_prod_shows_no_internals(accept: str | None) -> None:
    headers = Headers({"accept": accept} if accept else {})
    r = error_response(headers, 500, "ValueError: secret", exc=boom(), dev=False)
    body = r.body.decode()
    assert "secret" not in body and "Traceback" not in body and ".py" not in body
    assert "The server could not handle this request." in body


def test_error_response_4xx_keeps_its_message_in_prod() -> None:
    r = error_response(Headers({}), 404, "no route for /x", dev=False, extra_headers={"x": "1"})
    assert r.body == b'{"status":404,"error":"not_found","message":"no route for /x"}'
    assert r.headers["x"] == "1"
    r = error_response(Headers({}), 499)
    assert r.body == b'{"status":499,"error":"error","message":"Error"}'


ERRS_APP = {
    "router.py": """
        from errs import controller as c

        def routes(environment):
            return [{"routes": [
                ("/boom", c.boom, {"methods": ["get"]}),
                ("/async_boom", c.async_boom),
                ("/none", c.none),
                ("/fine", c.fine),
            ]}]
    """,
    "controller.py": """
        def boom(req):
            raise ValueError("kaboom <script>")

        async def async_boom(req):
            raise KeyError("async kaboom")

        def none(req):
            return None

        def fine(req):
            return ("json", {"fine": True})
    """,
}


@pytest.fixture
def errs(apps: Apps) -> Any:
    root = apps.write(ERRS_APP, package="errs")

    def make(**settings: Any) -> TestClient:
        return apps.client(root, **settings)

    return make


@pytest.mark.parametrize("path", ["/boom", "/async_boom", "/none"])
def test_controller_failure_is_a_logged_500_and_the_next_request_works(
    errs: Any, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = errs()
    with caplog.at_level(logging.ERROR, logger="nova_cli"):
        r = client.get(path)
    assert r.status_code == 500
    (record,) = [rec for rec in caplog.records if rec.name == "nova_cli"]
    assert record.getMessage().startswith(f"GET {path} failed in errs.controller.")
    assert record.exc_info is not None  # logged with the traceback
    assert "Traceback (most recent call last)" in caplog.text
    assert client.get("/fine").json() == {"fine": True}


def test_dev_500_html_page_shows_the_traceback(errs: Any) -> None:
    r = errs(environment="dev").get("/boom", headers={"accept": BROWSER})
    assert r.status_code == 500
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "ValueError: kaboom &lt;script&gt;" in r.text
    assert "Traceback (most recent call last)" in r.text
    assert "controller.py&quot;, line 2, in boom" in r.text


def test_dev_500_json_has_message_and_traceback(errs: Any) -> None:
    body = errs(environment="dev").get("/async_boom").json()
    assert body["status"] == 500
    assert body["message"] == "KeyError: 'async kaboom'"
    assert "async_boom" in body["traceback"]


@pytest.mark.parametrize("accept", [BROWSER, "application/json"])
def test_prod_500_shows_no_internals(errs: Any, accept: str) -> None:
    r = errs(environment="prod").get("/boom", headers={"accept": accept})
    assert r.status_code == 500
    for leak in ("kaboom", "Traceback", "controller.py", "ValueError"):
        assert leak not in r.text
    assert "The server could not handle this request." in r.text


def test_built_in_404_and_405_pages(errs: Any) -> None:
    client = errs()
    r = client.get("/missing")
    assert r.status_code == 404
    assert r.json() == {"status": 404, "error": "not_found", "message": "no route for /missing"}
    r = client.get("/missing", headers={"accept": BROWSER})
    assert "<h1>404 Not Found</h1>" in r.text
    r = client.post("/boom")
    assert (r.status_code, r.headers["allow"]) == (405, "GET, HEAD")
    assert r.json()["message"] == "POST is not allowed here; allowed: GET, HEAD"


STATUS_APP = {
    "router.py": """
        from statusapp import controller as c

        def routes(environment):
            return [{"prefix": "/api", "routes": [
                ("/boom", c.boom),
                ("/only_get", c.fine, {"methods": ["get"]}),
                (404, c.not_found, {}),
                (500, c.server_error, {}),
                (405, c.not_allowed, {}),
                (413, c.too_large, {}),
            ]}]
    """,
    "controller.py": """
        def boom(req):
            raise ValueError("kaboom")

        def fine(req):
            return ("json", {"fine": True})

        def not_found(req):
            return ("json", {"custom": "not found", "path": req.path, "code": req.status_code})

        def server_error(req):
            info = req.crash_info
            if req.headers.get("x-fail-page"):
                raise RuntimeError("the 500 page is broken too")
            return ("ok", {"reason": info["reason"], "class": info["class"],
                           "code": info["status_code"],
                           "has_exc": isinstance(info["exception"], ValueError)})

        def not_allowed(req):
            return ("status", 405, {}, "custom 405")

        def too_large(req):
            return ("status", 413, {}, {"custom": "too large"})
    """,
    "views/controller.html": "{{ class }}: {{ reason }} ({{ code }}, {{ has_exc }})",
}


@pytest.fixture
def status_client(apps: Apps) -> TestClient:
    return apps.client(apps.write(STATUS_APP, package="statusapp"), max_body_size=10)


def test_user_404_route_wins_and_renders_with_404(status_client: TestClient) -> None:
    r = status_client.post("/elsewhere")  # json on POST would be 201; a 404 route keeps 404
    assert r.status_code == 404
    assert r.json() == {"custom": "not found", "path": "/elsewhere", "code": 404}


def test_user_500_route_gets_crash_info(
    status_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="nova_cli"):
        r = status_client.get("/api/boom")
    assert (r.status_code, r.text) == (500, "ValueError: kaboom (500, True)")
    assert "ValueError: kaboom" in caplog.text  # still logged


def test_a_failing_500_route_falls_back_to_the_built_in_page(
    status_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="nova_cli"):
        r = status_client.get("/api/boom", headers={"x-fail-page": "1"})
    assert r.status_code == 500
    assert r.json()["error"] == "internal_server_error"
    assert "status route statusapp.controller.server_error for 500 failed" in caplog.text


def test_user_405_route_keeps_the_allow_header(status_client: TestClient) -> None:
    r = status_client.delete("/api/only_get")
    assert (r.status_code, r.text, r.headers["allow"]) == (405, "custom 405", "GET, HEAD")


def test_user_413_route(status_client: TestClient) -> None:
    r = status_client.post("/api/boom", content=b"x" * 11)
    assert (r.status_code, r.json()) == (413, {"custom": "too large"})


def test_the_demo_404_page_is_a_template(demo: Any) -> None:
    r = demo().get("/no/such/page")
    assert (r.status_code, r.text) == (404, "<p>custom 404 for /no/such/page</p>")
