"""Group security: every result, sync and async, auth_data, a raising callable."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.runtime.conftest import Apps

GUARDED_APP = {
    "router.py": """
        from guarded import guards

        def me(req):
            return ("json", {"auth_data": req.auth_data})

        def routes(environment):
            return [
                {"prefix": "/sync", "security": guards.sync_guard, "routes": [("/me", me)]},
                {"prefix": "/async", "security": guards.async_guard, "routes": [("/me", me)]},
                {"prefix": "/open", "security": False, "routes": [("/me", me)]},
                {"prefix": "/static", "security": guards.sync_guard,
                 "routes": [("/[...]", "static")]},
                {"prefix": "/cors", "security": guards.sync_guard,
                 "plugins": [("pre_request", "cors", {"allow_origins": "*"}),
                             ("pre_request", "guarded.guards", {}),
                             ("post_request", "guarded.guards", {})],
                 "routes": [("/me", me)]},
            ]
    """,
    "guards.py": """
        RESULTS = {
            "true": True,
            "auth": (True, {"user": "alice", "roles": ["admin"]}),
            "false": False,
            "false_headers": (False, {"WWW-Authenticate": "Bearer"}),
            "false_status": (False, 403, {"x-reason": "forbidden"}),
            "false_body_str": (False, 403, {}, "go away"),
            "false_body_bytes": (False, 429, [("retry-after", "5")], b"slow down"),
            "false_body_json": (False, 402, {}, {"error": "pay"}),
            "redirect": ("redirect", "/login?next=/me"),
            "none": None,
            "string": "yes",
            "tuple1": (True,),
            "truthy": 1,
        }

        def sync_guard(req):
            key = req.headers.get("x-result", "false")
            if key == "raise":
                raise PermissionError("guard exploded")
            return RESULTS[key]

        async def async_guard(req):
            return sync_guard(req)

        def pre_request(req, options):
            req.state["order"] = ["pre"]

        def post_request(req, response, options):
            response.headers["x-order"] = ",".join(req.state["order"] + ["post"])
    """,
    "static/secret.txt": "top secret",
}


@pytest.fixture
def client(apps: Apps) -> TestClient:
    return apps.client(apps.write(GUARDED_APP, package="guarded"))


@pytest.fixture(params=["sync", "async"])
def prefix(request: pytest.FixtureRequest) -> str:
    return f"/{request.param}"


def get(client: TestClient, prefix: str, result: str) -> Any:
    return client.get(f"{prefix}/me", headers={"x-result": result})


def test_true_lets_the_request_through(client: TestClient, prefix: str) -> None:
    r = get(client, prefix, "true")
    assert (r.status_code, r.json()) == (200, {"auth_data": None})


def test_true_with_auth_data_sets_req_auth_data(client: TestClient, prefix: str) -> None:
    r = get(client, prefix, "auth")
    assert r.json() == {"auth_data": {"user": "alice", "roles": ["admin"]}}


def test_false_is_401_with_an_empty_body(client: TestClient, prefix: str) -> None:
    r = get(client, prefix, "false")
    assert (r.status_code, r.content) == (401, b"")


def test_false_with_headers(client: TestClient, prefix: str) -> None:
    r = get(client, prefix, "false_headers")
    assert (r.status_code, r.headers["www-authenticate"], r.content) == (401, "Bearer", b"")


def test_false_with_status_and_headers(client: TestClient, prefix: str) -> None:
    r = get(client, prefix, "false_status")
    assert (r.status_code, r.headers["x-reason"], r.content) == (403, "forbidden", b"")


@pytest.mark.parametrize(
    ("result", "status", "body", "content_type"),
    [
        ("false_body_str", 403, b"go away", None),
        ("false_body_bytes", 429, b"slow down", None),
        ("false_body_json", 402, b'{"error":"pay"}', "application/json"),
    ],
)
def test_false_with_status_headers_and_body(
    client: TestClient,
    prefix: str,
    result: str,
    status: int,
    body: bytes,
    content_type: str | None,
) -> None:
    r = get(client, prefix, result)
    assert (r.status_code, r.content) == (status, body)
    assert r.headers.get("content-type") == content_type
    if result == "false_body_bytes":
        assert r.headers["retry-after"] == "5"


def test_redirect_is_302(client: TestClient, prefix: str) -> None:
    r = get(client, prefix, "redirect")
    assert (r.status_code, r.headers["location"]) == (302, "/login?next=/me")


@pytest.mark.parametrize("result", ["none", "string", "tuple1", "truthy"])
def test_an_unknown_result_is_401_with_a_warning(
    client: TestClient, prefix: str, result: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="nova_cli.security"):
        r = get(client, prefix, result)
    assert r.status_code == 401
    assert "guarded.guards." in caplog.text and "refusing with 401" in caplog.text


def test_a_raising_security_callable_is_500_never_200(
    client: TestClient, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="nova_cli"):
        r = get(client, prefix, "raise")
    assert r.status_code == 500
    assert "auth_data" not in r.text
    assert "PermissionError: guard exploded" in caplog.text
    assert get(client, prefix, "auth").status_code == 200  # and the server goes on


def test_a_raising_security_callable_in_prod_says_nothing(apps: Apps) -> None:
    c = apps.client(apps.write(GUARDED_APP, package="guarded"), environment="prod")
    r = c.get("/sync/me", headers={"x-result": "raise", "accept": "text/html"})
    assert r.status_code == 500
    assert "guard exploded" not in r.text and "Traceback" not in r.text


def test_a_group_without_security_is_open(client: TestClient) -> None:
    assert client.get("/open/me").status_code == 200


def test_security_guards_static_routes_too(client: TestClient) -> None:
    assert client.get("/static/secret.txt").status_code == 401
    r = client.get("/static/secret.txt", headers={"x-result": "true"})
    assert (r.status_code, r.text) == (200, "top secret")


def test_security_runs_after_pre_plugins_and_refusals_get_post_plugins_and_headers(
    client: TestClient,
) -> None:
    r = client.get("/cors/me", headers={"x-result": "false_status"})
    assert r.status_code == 403
    assert r.headers["access-control-allow-origin"] == "*"  # a browser can read the refusal
    assert r.headers["x-order"] == "pre,post"
    r = client.get("/cors/me", headers={"x-result": "auth"})
    assert (r.status_code, r.headers["x-order"]) == (200, "pre,post")


def test_security_sees_what_pre_plugins_did(apps: Apps) -> None:
    root = apps.write(
        {
            "router.py": """
                def guard(req):
                    return (True, req.correlation_id) if req.correlation_id else False

                def routes(environment):
                    return [{"security": guard,
                             "plugins": [("pre_request", "correlation", {})],
                             "routes": [("/", lambda req: ("json", {"auth": req.auth_data}))]}]
            """
        },
        package="ordered",
    )
    r = apps.client(root).get("/")
    assert r.json() == {"auth": r.headers["x-correlation-id"]}


def test_the_demo_admin_group(demo: Any) -> None:
    c = demo()
    assert c.get("/admin").status_code == 401
    assert c.get("/admin", headers={"authorization": "Bearer good"}).json() == {
        "user": {"name": "alice"}
    }
    assert c.get("/admin", headers={"authorization": "Bearer raise"}).status_code == 500
    r = c.get("/admin", headers={"authorization": "Bearer redirect"})
    assert (r.status_code, r.headers["location"]) == (302, "/login")
    r = c.get("/admin", headers={"authorization": "Bearer teapot"})
    assert (r.status_code, r.headers["x-why"], r.json()) == (418, "teapot", {"error": "teapot"})
