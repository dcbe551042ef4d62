"""Adding routes to a running app: nova_cli.router.add_routes (Nova's add_routes)."""

from __future__ import annotations

import json
import threading

import pytest
from starlette.testclient import TestClient

from nova_cli.core.errors import RouteTableError
from nova_cli.router import add_routes
from tests.runtime.conftest import Apps

APP = {
    "schemas/item.json": json.dumps({"type": "object", "required": ["name"]}),
    "counting.py": """
        INITS = []

        def init():
            INITS.append(1)
            return {"n": 0}

        def pre_request(req, options, state):
            state["n"] += 1
            req.state["n"] = state["n"]
    """,
    "router.py": """
        def home(req):
            return ("json", {"home": True})

        def routes(environment):
            return [{"routes": [("/", home, {"methods": ["get"]}), ("/taken", home)]}]
    """,
}


def added(req):  # type: ignore[no-untyped-def]
    return ("json", {"added": req.bindings, "n": req.state.get("n")})


def test_added_routes_answer_next_to_the_old_ones(apps: Apps) -> None:
    app = apps.app(apps.write(APP))
    with TestClient(app) as client:
        assert client.get("/extra/7").status_code == 404
        table = add_routes(
            app,
            [
                {
                    "prefix": "/extra",
                    "plugins": [("pre_request", "tinyapp.counting", {})],
                    "routes": [
                        ("/:id", added, {"methods": ["get"]}),
                        ("/", added, {"methods": ["post"], "json_schema": "schemas/item.json"}),
                    ],
                }
            ],
        )
        assert app.router.table is table  # type: ignore[attr-defined]
        assert client.get("/extra/7").json() == {"added": {"id": "7"}, "n": 1}
        assert client.get("/extra/8").json()["n"] == 2
        assert client.post("/extra", json={}).status_code == 400
        assert client.get("/").json() == {"home": True}
        from tinyapp import counting

        assert counting.INITS == [1]  # the new plugin was started once


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        (
            [{"routes": [("/taken", added, {"methods": ["get"]})]}],
            "group 1, route ('/taken', tests.runtime.test_add_routes.added, {'methods': ['get']}):"
            " duplicate route (every method) /taken, already defined in group 0 by "
            "('/taken', tinyapp.router.home)",
        ),
        (
            [{"routes": [("nope", added)]}],
            "group 1, route 0 ('nope', tests.runtime.test_add_routes.added): "
            "path 'nope' must start with '/'",
        ),
        ({"routes": []}, "routes() must return a list of groups (dicts), got dict"),
        (
            [{"routes": [("/s", added, {"json_schema": "schemas/missing.json"})]}],
            "group 1, route 0 ('/s', tests.runtime.test_add_routes.added, "
            "{'json_schema': 'schemas/missing.json'}): json_schema '",
        ),
    ],
)
def test_a_bad_group_is_refused_and_the_table_is_kept(
    apps: Apps, groups: object, message: str
) -> None:
    app = apps.app(apps.write(APP))
    before = app.router.table  # type: ignore[attr-defined]
    with pytest.raises(RouteTableError) as caught:
        add_routes(app, groups)
    assert str(caught.value).startswith(message)
    assert app.router.table is before  # type: ignore[attr-defined]


def test_add_routes_needs_a_nova_app() -> None:
    with pytest.raises(TypeError, match="add_routes needs an app made by create_app"):
        add_routes(object(), [])


def test_requests_during_the_swap_see_one_table_or_the_other(apps: Apps) -> None:
    app = apps.app(apps.write(APP))
    client = TestClient(app)
    statuses: set[int] = set()
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            response = client.get("/")
            statuses.add(response.status_code)

    worker = threading.Thread(target=hammer)
    worker.start()
    try:
        for n in range(20):
            add_routes(app, [{"prefix": f"/g{n}", "routes": [("/", added)]}])
    finally:
        stop.set()
        worker.join()
    assert statuses == {200}
    assert client.get("/g19").status_code == 200
