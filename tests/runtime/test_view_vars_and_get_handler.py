"""View variables in every form Nova takes, and get_handler for the built-in handlers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.responses import Response
from starlette.testclient import TestClient

from nova_cli import handlers
from tests.runtime.conftest import Apps

APP = {
    "views/pages.html": "<h1>{{ title }}</h1>{% for t in tags %}<i>{{ t }}</i>{% endfor %}",
    "files/data.txt": "0123456789",
    "controllers/__init__.py": "",
    "controllers/pages_controller.py": """
        def as_dict(req):
            return ("ok", {"title": "Dict", "tags": ["a"]})

        def as_pairs(req):
            return ("ok", [("title", "Pairs"), ("tags", ["b", "c"])])

        def as_tuple_of_pairs(req):
            return ("view", (("title", "Tuple"), ("tags", [])), {"status_code": 202})

        def as_none(req):
            return ("ok", None, {"view": "empty"})

        def wrapped(req):
            return ("wrapped", {"title": "Wrapped", "tags": ["w"]})

        def cached(req):
            return ("cached", 200, {}, {"id": 1})

        def moved(req):
            return ("moved", "/elsewhere")
    """,
    "views/empty.html": "empty",
    "router.py": """
        from tinyapp.controllers import pages_controller as pages

        def routes(environment):
            return [{"routes": [
                ("/dict", pages.as_dict),
                ("/pairs", pages.as_pairs),
                ("/tuple", pages.as_tuple_of_pairs),
                ("/none", pages.as_none),
                ("/wrapped", pages.wrapped),
                ("/cached", pages.cached),
                ("/moved", pages.moved),
            ]}]
    """,
}


async def wrapped(status: int, headers: dict[str, str], payload: object) -> Response:
    """A handler of one's own that finishes with the built-in view."""
    view = handlers.get_handler("ok")
    assert view is not None
    return await view(status, {"x-wrapped": "1", **headers}, payload)


def cached(status: int, headers: dict[str, str], payload: object) -> object:
    as_json = handlers.get_handler("json")
    assert as_json is not None
    return as_json(status, {"cache-control": "max-age=60", **headers}, payload)


async def moved(status: int, headers: dict[str, str], payload: object) -> Response:
    redirect = handlers.get_handler("redirect")
    assert redirect is not None
    return await redirect(301, headers, payload)


@pytest.fixture
def client(apps: Apps) -> Iterator[TestClient]:
    for name, fn in (("wrapped", wrapped), ("cached", cached), ("moved", moved)):
        handlers.register_handler(name, fn)
    try:
        yield apps.client(apps.write(APP))
    finally:
        for name in ("wrapped", "cached", "moved"):
            handlers.unregister_handler(name)


@pytest.mark.parametrize(
    ("path", "status", "html"),
    [
        ("/dict", 200, "<h1>Dict</h1><i>a</i>"),
        ("/pairs", 200, "<h1>Pairs</h1><i>b</i><i>c</i>"),
        ("/tuple", 202, "<h1>Tuple</h1>"),
        ("/none", 200, "empty"),
    ],
)
def test_view_variables_as_a_dict_or_a_list_of_pairs(
    client: TestClient, path: str, status: int, html: str
) -> None:
    response = client.get(path)
    assert (response.status_code, response.text) == (status, html)


@pytest.mark.parametrize("name", ["json", "ok", "view", "status", "redirect", "sendfile"])
def test_get_handler_returns_every_built_in(name: str) -> None:
    handler = handlers.get_handler(name)
    assert callable(handler)
    assert handlers.get_handler(name) is handler


def test_get_handler_of_an_unknown_name_is_none() -> None:
    assert handlers.get_handler("nope") is None


def test_a_custom_handler_can_finish_with_the_built_in_view(client: TestClient) -> None:
    response = client.get("/wrapped")
    assert response.status_code == 200
    assert response.headers["x-wrapped"] == "1"
    assert response.text == "<h1>Wrapped</h1><i>w</i>"


def test_a_custom_handler_can_finish_with_json_and_redirect(client: TestClient) -> None:
    response = client.get("/cached")
    assert (response.json(), response.headers["cache-control"]) == ({"id": 1}, "max-age=60")
    response = client.get("/moved", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (301, "/elsewhere")


async def test_the_built_ins_outside_a_request(tmp_path: Path) -> None:
    status = handlers.get_handler("status")
    assert status is not None
    response = await status(409, {}, {"error": "conflict"})
    assert (response.status_code, response.body) == (409, b'{"error":"conflict"}')
    data = tmp_path / "data.txt"
    data.write_text("0123456789")
    sendfile = handlers.get_handler("sendfile")
    assert sendfile is not None
    response = await sendfile(200, {"content-type": "text/plain"}, (2, 3, str(data)))
    assert (response.headers["content-length"], response.media_type) == ("3", "text/plain")
    view = handlers.get_handler("ok")
    assert view is not None
    with pytest.raises(RuntimeError, match="the 'ok' handler renders the view of a controller"):
        await view(200, {}, {})
