"""The CSRF plugin: a token in the session, in the views, and checked on unsafe methods."""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.testclient import TestClient

from nova_cli.core.errors import RouteTableError
from tests.runtime.conftest import Apps

ROUTER = """
def form(req):
    return ("ok", {"title": "New post"}, {"view": "form"})


def submit(req):
    return ("json", {"saved": req.params.get("title")})


def routes(environment):
    any_method = {"methods": ["get", "head", "options", "post", "put", "delete"]}
    return [
        {
            "plugins": [
                ("pre_request", "request", {"read_urlencoded_body": True}),
                ("pre_request", "nova_csrf_plugin", {"excluded_paths": ["/hooks"]}),
            ],
            "routes": [
                ("/form", form, {"methods": ["get"]}),
                ("/submit", submit, any_method),
                ("/hooks/payment", submit, {"methods": ["post"]}),
            ],
        }
    ]
"""

FORM = """<form method="post" action="/submit">
  <input type="hidden" name="_csrf_token" value="{{ csrf_token }}">
  <input name="title">
</form>"""

FORBIDDEN = "Forbidden - CSRF token invalid"


@pytest.fixture
def client(apps: Apps) -> TestClient:
    root = apps.write({"router.py": ROUTER, "views/form.html": FORM})
    return apps.client(root, environment="dev")


def token_from_form(client: TestClient) -> str:
    page = client.get("/form")
    assert page.status_code == 200
    found = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def refused(response: httpx.Response) -> bool:
    return (
        response.status_code == 403
        and response.headers["content-type"].startswith("text/plain")
        and response.text == FORBIDDEN
    )


def test_the_form_carries_the_sessions_token_and_keeps_it(client: TestClient) -> None:
    first = token_from_form(client)
    assert len(first) == 43
    assert token_from_form(client) == first  # the same session, the same token


def test_a_post_with_the_form_field_passes(client: TestClient) -> None:
    token = token_from_form(client)
    response = client.post("/submit", data={"_csrf_token": token, "title": "Hello"})
    assert response.json() == {"saved": "Hello"}


def test_a_post_with_the_header_passes(client: TestClient) -> None:
    token = token_from_form(client)
    response = client.post("/submit", headers={"x-csrf-token": token})
    assert response.status_code == 201


def test_a_post_without_a_token_is_refused(client: TestClient) -> None:
    token_from_form(client)
    assert refused(client.post("/submit", data={"title": "Hello"}))


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_a_wrong_token_is_refused(client: TestClient, method: str) -> None:
    token = token_from_form(client)
    wrong = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert refused(client.request(method, "/submit", headers={"x-csrf-token": wrong}))
    assert refused(client.request(method, "/submit", headers={"x-csrf-token": "é".encode()}))


def test_a_token_without_its_session_is_refused(client: TestClient) -> None:
    token = token_from_form(client)
    client.cookies.clear()
    assert refused(client.post("/submit", data={"_csrf_token": token}))


def test_the_header_is_read_before_the_form_field(client: TestClient) -> None:
    token = token_from_form(client)
    response = client.post("/submit", data={"_csrf_token": token}, headers={"x-csrf-token": "x"})
    assert refused(response)


@pytest.mark.parametrize("method", ["get", "head", "options"])
def test_safe_methods_pass_without_a_token(client: TestClient, method: str) -> None:
    assert client.request(method, "/submit").status_code == 200


def test_an_excluded_prefix_is_not_checked(client: TestClient) -> None:
    assert client.post("/hooks/payment", data={"title": "paid"}).json() == {"saved": "paid"}


def test_a_bad_option_fails_the_start(apps: Apps) -> None:
    root = apps.write({"router.py": ROUTER.replace('"excluded_paths"', '"exclude"')})
    with pytest.raises(RouteTableError, match=r"csrf plugin: unknown options \['exclude'\]"):
        apps.app(root)
