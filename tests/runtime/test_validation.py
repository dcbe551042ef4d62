"""Request validation against a route's JSON Schema: 400 before the controller runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from nova_cli.core.errors import RouteTableError
from tests.runtime.conftest import Apps

BOOK = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "tags": {"type": "array"}},
    "required": ["title"],
}

VALIDATED_APP = {
    "schemas/book.json": json.dumps(BOOK),
    "controllers/__init__.py": "",
    "controllers/books_controller.py": """
        CALLS = []

        def create(req):
            CALLS.append(req.json)
            return ("json", {"got": req.json})

        def any_method(req):
            CALLS.append(req.method)
            return ("json", {"method": req.method})
    """,
    "auth.py": """
        ORDER = []

        def check(req):
            ORDER.append("security")
            return req.headers.get("x-key") == "yes"

        def pre_request(req, options):
            ORDER.append("plugin")
            return None
    """,
    "router.py": """
        from tinyapp import auth
        from tinyapp.controllers import books_controller as books

        def routes(environment):
            return [
                {"routes": [
                    ("/books", books.create,
                     {"methods": ["post", "put"], "json_schema": "schemas/book.json"}),
                    ("/nova", books.create,
                     {"methods": ["post"], "extra_state": {"json_schema": "schemas/book.json"}}),
                    ("/any", books.any_method, {"json_schema": "schemas/book.json"}),
                ]},
                {"prefix": "/locked", "security": auth.check,
                 "plugins": [("pre_request", auth, {})],
                 "routes": [("/books", books.create,
                             {"methods": ["post"], "json_schema": "schemas/book.json"})]},
            ]
    """,
}


@pytest.fixture
def client(apps: Apps) -> TestClient:
    return apps.client(apps.write(VALIDATED_APP))


def calls() -> list[object]:
    from tinyapp.controllers import books_controller

    return books_controller.CALLS


def test_a_body_that_meets_the_schema_reaches_the_controller_decoded(client: TestClient) -> None:
    response = client.post("/books", json={"title": "Dune"})
    assert response.status_code == 201
    assert response.json() == {"got": {"title": "Dune"}}


def test_a_body_that_does_not_match_is_400_with_the_validators_finding(
    client: TestClient,
) -> None:
    response = client.put("/books", json={"title": 42})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "status": 400,
        "error": "bad_request",
        "message": "body does not match book.json: data.title must be string",
        "errors": [{"path": "/title", "message": "data.title must be string", "rule": "type"}],
    }
    assert calls() == []


def test_a_missing_property_is_named(client: TestClient) -> None:
    response = client.post("/books", json={"tags": []})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"path": "", "message": "data must contain ['title'] properties", "rule": "required"}
    ]


def test_novas_extra_state_form_validates_too(client: TestClient) -> None:
    assert client.post("/nova", json=["a list"]).status_code == 400
    assert client.post("/nova", json={"title": "ok"}).status_code == 201


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{oops", "malformed JSON body: Expecting property name enclosed in double quotes"),
        (b"plain text", "malformed JSON body: Expecting value"),
        (b"", "empty JSON body"),
        (b'{"title": NaN}', "JSON body cannot be accepted: NaN is not a JSON number"),
    ],
)
def test_a_body_that_is_not_json_is_400(client: TestClient, body: bytes, message: str) -> None:
    response = client.post("/books", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["message"].startswith(message)
    assert "errors" not in response.json()
    assert calls() == []


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE"])
def test_get_head_and_delete_without_a_body_are_not_validated(
    client: TestClient, method: str
) -> None:
    assert client.request(method, "/any").status_code == 200
    assert calls() == [method]


def test_a_delete_with_a_body_is_validated(client: TestClient) -> None:
    response = client.request("DELETE", "/any", content=b'{"title": 1}')
    assert response.status_code == 400
    assert calls() == []


def test_validation_runs_after_plugins_and_security(client: TestClient) -> None:
    from tinyapp import auth

    # A refused request is refused by security, whatever its body.
    assert client.post("/locked/books", json={"title": 1}).status_code == 401
    assert auth.ORDER == ["plugin", "security"]
    auth.ORDER.clear()
    response = client.post("/locked/books", json={"title": 1}, headers={"x-key": "yes"})
    assert response.status_code == 400
    assert auth.ORDER == ["plugin", "security"]
    assert calls() == []


def test_a_body_the_request_plugin_decoded_is_validated(apps: Apps) -> None:
    root = apps.write(
        VALIDATED_APP,
        tool_nova='plugins = [["pre_request", "request", {decode_json_body = true}]]\n',
    )
    client = apps.client(root)
    assert client.post("/books", json={"title": 3}).status_code == 400
    assert client.post("/books", json={"title": "x"}).json() == {"got": {"title": "x"}}


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        ('{"type": "nope"}', "not a valid JSON Schema: Unknown type"),
        ('{"type": ', "not JSON: Expecting value"),
        ('{"pattern": "("}', "cannot be compiled: error: missing ), unterminated subpattern"),
    ],
)
def test_a_schema_that_does_not_compile_is_a_one_line_start_up_error(
    apps: Apps, schema: str, reason: str
) -> None:
    root = apps.write({**VALIDATED_APP, "schemas/book.json": schema})
    with pytest.raises(RouteTableError) as caught:
        apps.app(root)
    message = str(caught.value)
    path = Path(root / "tinyapp" / "schemas" / "book.json").resolve()
    assert message.startswith(f"json_schema {path}: {reason}")
    assert "\n" not in message
