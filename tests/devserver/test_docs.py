"""nova's docs under `nova serve`, at /__nova/docs/."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.responses import PlainTextResponse
from starlette.testclient import TestClient

from nova_cli.devserver.docs import Docs, slug

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture
def client() -> TestClient:
    return TestClient(Docs(PlainTextResponse("the app")))


def test_every_page_is_listed_and_rendered(client: TestClient) -> None:
    index = client.get("/__nova/docs/")
    assert index.status_code == 200
    for page in DOCS.glob("*.md"):
        assert f"href='{page.name}'" in index.text
    page = client.get("/__nova/docs/getting-started.md")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<h2 id="a-first-controller">A first controller</h2>' in page.text
    assert '<a href="routing.md">Routing</a>' in page.text  # links between pages work
    assert client.get("/__nova/docs", follow_redirects=False).headers["location"] == (
        "/__nova/docs/"
    )


@pytest.mark.parametrize("name", ["nope.md", "..%2Fpyproject.toml", "README.md", "cli"])
def test_anything_else_below_the_prefix_is_404(client: TestClient, name: str) -> None:
    assert client.get(f"/__nova/docs/{name}").status_code == 404


def test_other_paths_go_to_the_app(client: TestClient) -> None:
    assert client.get("/__nova/docsx").text == "the app"
    assert client.get("/").text == "the app"


def test_slugs_are_githubs() -> None:
    assert slug("A first controller") == "a-first-controller"
    assert slug("Deployment files: --docker, --redis, --ci") == (
        "deployment-files---docker---redis---ci"
    )
    assert slug("`nova serve`") == "nova-serve"
