"""`nova routes` and `nova routes --json`: the compiled table, as a subprocess sees it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.runtime.conftest import write_files
from tests.support.cli import run_nova as nova
from tests.support.servers import ASSETS

ROUTER = """
from shop import guards
from shop.controllers import chat_ws_handler, items_controller


def routes(environment):
    groups = [
        {
            "prefix": "",
            "routes": [
                ("/", items_controller.index, {"methods": ["get"]}),
                ("/items/:id", items_controller.show, {"methods": ["get", "delete", "put"]}),
                ("/items/new", items_controller.new, {"methods": ["get", "head"]}),
                ("/any", items_controller.index),
                ("/ws", chat_ws_handler, {"protocol": "ws"}),
                ("/assets/[...]", "static"),
                (404, items_controller.index, {}),
            ],
        },
        {
            "prefix": "/admin",
            "security": guards.admin,
            "routes": [("/stats", items_controller.index, {"methods": ["post"]})],
        },
    ]
    if environment == "dev":
        groups.append({"routes": [("/debug", items_controller.index, {"methods": ["get"]})]})
    return groups
"""

FILES = {
    "pyproject.toml": '[project]\nname = "shop"\n\n[tool.nova]\napp = "shop"\n',
    "shop/__init__.py": "",
    "shop/router.py": ROUTER,
    "shop/guards.py": "def admin(req):\n    return False\n",
    "shop/controllers/__init__.py": "",
    "shop/controllers/items_controller.py": (
        "def index(req):\n    return ('json', {})\n\n"
        "def show(req):\n    return ('json', {})\n\n"
        "def new(req):\n    return ('json', {})\n"
    ),
    "shop/controllers/chat_ws_handler.py": (
        "def init(state):\n    return ('ok', state)\n\n"
        "def websocket_handle(frame, state):\n    return ('ok', state)\n"
    ),
    "shop/static/app.css": "",
}


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return write_files(tmp_path / "shop_project", FILES)


def test_routes_json(shop: Path) -> None:
    result = nova("routes", "--json", cwd=shop)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {
            "methods": ["GET"],
            "path": "/",
            "target": "shop.controllers.items_controller.index",
            "protocol": "http",
            "security": False,
        },
        {
            "methods": ["DELETE", "GET", "PUT"],
            "path": "/items/:id",
            "target": "shop.controllers.items_controller.show",
            "protocol": "http",
            "security": False,
        },
        {
            "methods": ["GET"],
            "path": "/items/new",
            "target": "shop.controllers.items_controller.new",
            "protocol": "http",
            "security": False,
        },
        {
            "methods": [],
            "path": "/any",
            "target": "shop.controllers.items_controller.index",
            "protocol": "http",
            "security": False,
        },
        {
            "methods": [],
            "path": "/ws",
            "target": "shop.controllers.chat_ws_handler",
            "protocol": "ws",
            "security": False,
        },
        {
            "methods": [],
            "path": "/assets/[...]",
            "target": "static",
            "protocol": "static",
            "security": False,
        },
        {
            "methods": ["POST"],
            "path": "/admin/stats",
            "target": "shop.controllers.items_controller.index",
            "protocol": "http",
            "security": True,
        },
        {
            "methods": ["GET"],
            "path": "/debug",
            "target": "shop.controllers.items_controller.index",
            "protocol": "http",
            "security": False,
        },
    ]


def test_routes_table(shop: Path) -> None:
    result = nova("routes", cwd=shop)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["METHOD", "PATH", "TARGET", "PROTOCOL", "SECURITY"]
    rows = [line.split() for line in lines[1:]]
    assert ["GET", "/", "shop.controllers.items_controller.index", "http", "-"] in rows
    assert [
        "DELETE,GET,PUT",
        "/items/:id",
        "shop.controllers.items_controller.show",
        "http",
        "-",
    ] in rows
    assert ["*", "/ws", "shop.controllers.chat_ws_handler", "ws", "-"] in rows
    assert ["*", "/assets/[...]", "static", "static", "-"] in rows
    assert [
        "POST",
        "/admin/stats",
        "shop.controllers.items_controller.index",
        "http",
        "yes",
    ] in rows
    assert lines[-1] == "status 404: shop.controllers.items_controller.index"
    # Columns line up: every PATH starts at the same offset.
    offset = lines[0].index("PATH")
    assert all(line[offset - 2 : offset] == "  " for line in lines[:-1])


def test_routes_from_a_subfolder_and_with_an_environment(shop: Path) -> None:
    result = nova("routes", "--json", "-e", "prod", cwd=shop / "shop" / "static")
    assert result.returncode == 0, result.stderr
    paths = [row["path"] for row in json.loads(result.stdout)]
    assert "/debug" not in paths and "/admin/stats" in paths


def test_routes_with_directory_option(shop: Path, tmp_path: Path) -> None:
    result = nova("routes", "--json", "-C", str(shop), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 8


def test_routes_of_the_demo_app() -> None:
    result = nova("routes", "--json", cwd=ASSETS / "demo")
    rows = {row["path"]: row for row in json.loads(result.stdout)}
    assert rows["/users/:id"]["methods"] == ["DELETE", "GET"]
    assert rows["/admin"]["security"] is True
    assert rows["/assets/[...]"]["protocol"] == "static"
    assert all(
        set(row) == {"methods", "path", "target", "protocol", "security"} for row in rows.values()
    )


def test_a_bad_route_table_is_one_line(shop: Path) -> None:
    router = shop / "shop" / "router.py"
    router.write_text(router.read_text().replace('"/items/new"', '"items/new"'))
    result = nova("routes", cwd=shop)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "error: group 0, route 2 ('items/new', shop.controllers.items_controller.new, "
        "{'methods': ['get', 'head']}): path 'items/new' must start with '/'\n"
    )


def test_no_project_is_one_line(tmp_path: Path) -> None:
    result = nova("routes", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: no Nova app in ")
    assert len(result.stderr.splitlines()) == 1
