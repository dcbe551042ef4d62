"""`nova serve` serves the app's OpenAPI document and a Swagger UI that works offline.

The page is opened in headless Debian chromium with every request that
leaves the loopback address refused and recorded: the page must load and
run a request with none.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator
from playwright.sync_api import Browser, Route

from nova_cli.scaffold import apply, find_project, plan_app, plan_generator
from tests.e2e.test_dev_server import dev_server, edit, get, wait_until
from tests.support.servers import Server

TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    root = tmp_path_factory.mktemp("apidocs") / "myapp"
    apply(plan_app("myapp", root))
    apply(plan_generator("resource", "books", find_project(root)))
    with dev_server(root) as server:
        yield server, root


def test_the_document_is_served_and_valid(served: tuple[Server, Path]) -> None:
    server, _ = served
    response = get(server, "/__nova/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    doc = response.json()
    OpenAPIV31SpecValidator(doc).validate()
    assert "/books/{id}" in doc["paths"]


def test_the_page_and_its_assets_come_from_the_server(served: tuple[Server, Path]) -> None:
    server, _ = served
    assert get(server, "/__nova/api").status_code == 307  # to the page's folder
    page = get(server, "/__nova/api/")
    assert page.status_code == 200
    assert 'src="/__nova/api/swagger-ui-bundle.js"' in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # no CDN anywhere
    script = get(server, "/__nova/api/swagger-ui-bundle.js")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.text
    assert get(server, "/__nova/api/../../etc/passwd").status_code == 404
    assert get(server, "/__nova/api/index.html").status_code == 404  # only the page's assets


def test_the_document_follows_a_router_edit(served: tuple[Server, Path]) -> None:
    server, root = served
    edit(
        root / "myapp" / "router.py",
        '("/heartbeat",',
        '("/ping", main_controller.index, {"methods": ["get"]}),\n                ("/heartbeat",',
    )
    paths = lambda: get(server, "/__nova/openapi.json").json()["paths"]  # noqa: E731
    wait_until(lambda: "/ping" in paths(), server)


@pytest.mark.browser
def test_the_page_runs_a_request_offline(browser: Browser, served: tuple[Server, Path]) -> None:
    server, _ = served
    host = urlsplit(server.url).netloc
    outside: list[str] = []

    def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).netloc == host:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page = browser.new_page()
    page.route("**/*", only_loopback)
    page.goto(server.url + "/__nova/api/")
    post = page.locator(".opblock-post", has_text="/books").first
    post.locator(".opblock-summary").click()
    post.locator("button.try-out__btn").click()
    post.locator("textarea.body-param__text").fill(json.dumps({"title": "Dune"}))
    post.locator("button.execute").click()
    status = post.locator(".live-responses-table tr.response .response-col_status").first
    status.wait_for(timeout=TIMEOUT_MS)
    assert status.inner_text().split()[0] == "201"
    assert "Dune" in post.locator(".live-responses-table .microlight").first.inner_text()
    assert outside == []
    page.close()
