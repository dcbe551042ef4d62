"""`nova audit`, `nova middleware` and `nova config`, run as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import nova_cli
from tests.runtime.conftest import write_files
from tests.support.cli import run_nova as nova

ROUTER = """
from shop import guards
from shop.controllers import items, chat_ws_handler


def routes(environment):
    return [
        {
            "prefix": "",
            "routes": [
                ("/", items.index, {"methods": ["get"]}),
                ("/items", items.create, {"methods": ["post", "get"]}),
                ("/any", items.index),
                ("/ws", chat_ws_handler, {"protocol": "ws"}),
                ("/assets/[...]", "static"),
                (404, items.index, {}),
            ],
        },
        {
            "prefix": "/admin",
            "security": guards.admin,
            "plugins": [("pre_request", "correlation", {})],
            "routes": [
                ("/stats", items.create, {"methods": ["delete"]}),
                ("/live", chat_ws_handler, {"protocol": "ws"}),
            ],
        },
    ]
"""

FILES = {
    "pyproject.toml": """
        [project]
        name = "shop"

        [tool.nova]
        app = "shop"
        port = 9001
        plugins = [["pre_request", "request", {decode_json_body = true}]]
    """,
    "shop/__init__.py": "",
    "shop/router.py": ROUTER,
    "shop/guards.py": "def admin(req):\n    return False\n",
    "shop/controllers/__init__.py": "",
    "shop/controllers/items.py": (
        "def index(req):\n    return ('json', {})\n\ndef create(req):\n    return ('json', {})\n"
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


def test_audit_warns_on_unsafe_and_any_method_routes_without_security(shop: Path) -> None:
    result = nova("audit", "--json", cwd=shop)
    assert result.returncode == 0, result.stderr
    found = {(f["level"], ",".join(f["methods"]), f["path"]) for f in json.loads(result.stdout)}
    assert found == {
        ("info", "GET", "/"),
        ("warn", "POST", "/items"),
        ("info", "GET", "/items"),
        ("warn", "*", "/any"),
        ("info", "GET", "/ws"),
        # /admin routes have security: nothing to say; static and status routes are skipped.
    }


def test_audit_text_counts_and_strict_exit_status(shop: Path) -> None:
    result = nova("audit", cwd=shop)
    assert result.returncode == 0
    assert "WARN  POST /items (shop.controllers.items.create): changes data" in result.stdout
    assert result.stdout.strip().endswith("2 warnings, 3 notes")
    assert nova("audit", "--strict", cwd=shop).returncode == 1


def test_audit_strict_passes_when_everything_is_secured(shop: Path) -> None:
    router = shop / "shop" / "router.py"
    text = router.read_text().replace('"prefix": "",', '"prefix": "", "security": guards.admin,')
    # A route open to any method is worth a warning even behind security (rebar3_nova's rule).
    text = text.replace('("/any", items.index)', '("/any", items.index, {"methods": ["get"]})')
    router.write_text(text)
    result = nova("audit", "--strict", cwd=shop)
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip() == "0 warnings, 0 notes"


def test_audit_reports_a_broken_router_in_one_line(shop: Path) -> None:
    (shop / "shop" / "router.py").write_text("def routes(environment):\n    return {}\n")
    result = nova("audit", cwd=shop)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "must return a list of groups" in result.stderr


def test_middleware_shows_global_and_group_chains(shop: Path) -> None:
    result = nova("middleware", "--json", cwd=shop)
    assert result.returncode == 0, result.stderr
    chain = json.loads(result.stdout)
    assert chain["global"] == [
        {
            "phase": "pre_request",
            "plugin": "nova_cli.runtime.plugins.request",
            "options": {"decode_json_body": True},
            "title": "nova request plugin",
            "version": nova_cli.__version__,
        }
    ]
    first, admin = chain["groups"]
    assert (first["prefix"], first["security"], first["plugins"]) == ("/", None, None)
    assert first["routes"] == [
        "GET / (http)",
        "GET,POST /items (http)",
        "* /any (http)",
        "* /ws (ws)",
        "* /assets/[...] (static)",
        "status 404",
    ]
    assert admin["security"] == "shop.guards.admin"
    assert [p["plugin"] for p in admin["plugins"]] == ["nova_cli.runtime.plugins.correlation"]


def test_middleware_text_says_which_groups_inherit(shop: Path) -> None:
    result = nova("middleware", cwd=shop)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == [
        "global plugins:",
        "  pre_request nova_cli.runtime.plugins.request "
        f'(nova request plugin {nova_cli.__version__}) {{"decode_json_body": true}}',
    ]
    assert "  plugins: inherits global" in lines
    assert "  security: shop.guards.admin" in lines


def test_config_says_where_each_setting_comes_from(shop: Path) -> None:
    result = nova("config", "--json", cwd=shop, NOVA_LOG_LEVEL="debug")
    assert result.returncode == 0, result.stderr
    settings = json.loads(result.stdout)["settings"]
    assert settings["port"] == {"value": 9001, "source": "pyproject.toml"}
    assert settings["log_level"] == {"value": "debug", "source": "NOVA_LOG_LEVEL"}
    assert settings["max_body_size"] == {"value": 1048576, "source": "default"}
    assert settings["environment"] == {"value": "prod", "source": "default"}
    assert settings["plugins"]["value"] == [["pre_request", "request", {"decode_json_body": True}]]


def test_config_serve_shows_the_dev_server_defaults(shop: Path) -> None:
    result = nova("config", "--serve", "--json", cwd=shop)
    settings = json.loads(result.stdout)["settings"]
    assert settings["environment"]["value"] == "dev"
    assert settings["access_log"]["value"] is True


def test_config_warns_when_no_app_is_found(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "empty"\n\n[tool.nova]\n')
    result = nova("config", cwd=tmp_path)
    assert result.returncode == 0
    assert "warning: no app found" in result.stderr
    assert "port" in result.stdout


def test_config_refuses_a_bad_setting_in_one_line(shop: Path) -> None:
    result = nova("config", cwd=shop, NOVA_PORT="eighty")
    assert result.returncode == 1
    assert "NOVA_PORT" in result.stderr and result.stderr.count("\n") == 1
