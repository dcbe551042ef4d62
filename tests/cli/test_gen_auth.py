"""`nova gen auth [--chat]`: its files, route groups, dependencies, the plan and its conflicts."""

from __future__ import annotations

import ast
import tomllib

from tests.cli.conftest import snapshot

ROUTER = "myapp/router.py"
FILES = [
    "myapp/accounts.py",
    "myapp/auth.py",
    "myapp/controllers/registration_controller.py",
    "myapp/controllers/session_controller.py",
    "myapp/controllers/user_controller.py",
    "myapp/db.py",
    "myapp/rate_limit.py",
    "myapp/views/account.html",
    "myapp/views/auth_layout.html",
    "myapp/views/login.html",
    "myapp/views/register.html",
    "tests/test_auth.py",
]
CHAT_FILES = [
    "myapp/controllers/chat_controller.py",
    "myapp/controllers/chat_ws_handler.py",
    "myapp/views/chat.html",
    "tests/test_chat_ws_handler.py",
]


def groups(root) -> list[dict[str, str]]:
    """The route groups of the app's router, each value as its source code."""
    module = ast.parse((root / ROUTER).read_text())
    function = next(n for n in module.body if isinstance(n, ast.FunctionDef))
    returned = next(n for n in ast.walk(function) if isinstance(n, ast.Return))
    assert isinstance(returned.value, ast.List)
    return [
        {ast.literal_eval(k): ast.unparse(v) for k, v in zip(g.keys, g.values, strict=True)}
        for g in returned.value.elts
        if isinstance(g, ast.Dict)
    ]


def test_the_plan_files_and_next_steps(nova, app_root):
    result = nova("gen", "auth", cwd=app_root)
    assert result.exit_code == 0, result.output
    created = [line.split()[1] for line in result.output.splitlines() if "  create  " in line]
    assert created == FILES
    assert "    inject  myapp/router.py  (2 route groups, 8 routes)\n" in result.output
    assert "    inject  pyproject.toml  (dependencies: sqlalchemy>=2, argon2-cffi>=23)\n" in (
        result.output
    )
    assert "  pip install 'sqlalchemy>=2' 'argon2-cffi>=23'" in result.output
    assert "  pytest tests/test_auth.py\n" in result.output
    for path in CHAT_FILES:
        assert not (app_root / path).exists()
    project = tomllib.loads((app_root / "pyproject.toml").read_text())["project"]
    assert project["dependencies"] == ["nova-web", "sqlalchemy>=2", "argon2-cffi>=23"]


def test_the_routes_go_in_two_groups_behind_csrf_and_security(nova, app_root):
    assert nova("gen", "auth", cwd=app_root).exit_code == 0
    source = (app_root / ROUTER).read_text()
    assert "from myapp import auth\nfrom myapp.controllers import (\n" in source
    first, forms, private = groups(app_root)
    assert "/login" not in first["routes"]  # the open group of `nova new` is left alone
    plugins = (
        "[('pre_request', 'request', {'read_urlencoded_body': True}), ('pre_request', 'csrf', {})]"
    )
    assert forms["security"] == "False"
    assert forms["plugins"] == plugins
    for route in (
        "('/register', registration_controller.new, {'methods': ['get']})",
        "('/register', registration_controller.create, {'methods': ['post']})",
        "('/login', session_controller.new, {'methods': ['get']})",
        "('/login', session_controller.create, {'methods': ['post']})",
        "('/logout', session_controller.delete, {'methods': ['post']})",
    ):
        assert route in forms["routes"]
    assert private["security"] == "auth.require_authenticated"
    assert private["plugins"] == plugins
    for route in (
        "('/account', user_controller.show, {'methods': ['get']})",
        "('/account/password', user_controller.update_password, {'methods': ['post']})",
        "('/me', user_controller.me, {'methods': ['get']})",
    ):
        assert route in private["routes"]


def test_chat_adds_the_page_and_the_socket_behind_the_security(nova, app_root):
    result = nova("gen", "auth", "--chat", cwd=app_root)
    assert result.exit_code == 0, result.output
    for path in CHAT_FILES:
        assert f"    create  {path}\n" in result.output
    assert "(2 route groups, 10 routes)" in result.output
    private = groups(app_root)[2]
    assert "('/chat', chat_controller.index, {'methods': ['get']})" in private["routes"]
    assert "('/chat', chat_ws_handler, {'protocol': 'ws'})" in private["routes"]
    handler = (app_root / "myapp/controllers/chat_ws_handler.py").read_text()
    assert 'state["name"] = state["auth_data"]["email"]' in handler
    assert '"lobby"' in handler
    assert 'HOME = "/chat"' in (app_root / "myapp/auth.py").read_text()


def test_a_second_run_is_identical(nova, app_root):
    assert nova("gen", "auth", "--chat", cwd=app_root).exit_code == 0
    once = snapshot(app_root)
    for extra in ([], ["--force"]):
        result = nova("gen", "auth", "--chat", *extra, cwd=app_root)
        assert result.exit_code == 0, result.output
        assert "create" not in result.output and "inject" not in result.output
        assert " identical  myapp/router.py  (routes already there)\n" in result.output
        assert " identical  pyproject.toml  (dependencies already there)\n" in result.output
        assert snapshot(app_root) == once


def test_the_echo_chat_is_a_conflict_then_moves_behind_the_security(nova, app_root):
    assert nova("gen", "ws-handler", "chat", cwd=app_root).exit_code == 0
    before = snapshot(app_root)
    result = nova("gen", "auth", "--chat", cwd=app_root)
    assert result.exit_code == 1
    assert "  conflict  myapp/controllers/chat_ws_handler.py\n" in result.output
    assert "  conflict  tests/test_chat_ws_handler.py\n" in result.output
    assert "      skip  myapp/accounts.py  (would create)\n" in result.output
    assert snapshot(app_root) == before

    result = nova("gen", "auth", "--chat", "--force", cwd=app_root)
    assert result.exit_code == 0, result.output
    assert "(2 route groups, 10 routes; /chat moved behind its security)" in result.output
    first, _, private = groups(app_root)
    assert "chat_ws_handler" not in first["routes"]
    assert "('/chat', chat_ws_handler, {'protocol': 'ws'})" in private["routes"]


def test_a_path_routed_elsewhere_is_a_conflict(nova, app_root):
    assert nova("gen", "controller", "login", cwd=app_root).exit_code == 0  # GET /login
    before = snapshot(app_root)
    result = nova("gen", "auth", cwd=app_root)
    assert result.exit_code == 1
    assert "conflict  myapp/router.py  (/login is already routed by" in result.output
    assert snapshot(app_root) == before
    result = nova("gen", "auth", "--force", cwd=app_root)
    assert result.exit_code == 0, result.output
    assert "warning: /login is already routed by" in result.output
    assert "session_controller.new" not in (app_root / ROUTER).read_text()


def test_dry_run_and_no_route(nova, app_root):
    before = snapshot(app_root)
    result = nova("gen", "auth", "--dry-run", cwd=app_root)
    assert result.exit_code == 0
    assert "    inject  myapp/router.py  (2 route groups, 8 routes)" in result.output
    assert snapshot(app_root) == before

    result = nova("gen", "auth", "--no-route", cwd=app_root)
    assert result.exit_code == 0, result.output
    assert "      skip  myapp/router.py  (--no-route: add the groups below yourself)" in (
        result.output
    )
    assert "    from myapp import auth\n" in result.output
    assert '            "security": auth.require_authenticated,\n' in result.output
    assert (app_root / ROUTER).read_text() == before[ROUTER].decode()


def test_the_views_extend_the_apps_layout_when_it_has_one(nova, app_root):
    layout = app_root / "myapp/views/layout.html"
    layout.write_text("<body>{% block content %}{% endblock %}</body>\n")
    result = nova("gen", "auth", cwd=app_root)
    assert result.exit_code == 0, result.output
    assert "auth_layout.html" not in result.output
    login = (app_root / "myapp/views/login.html").read_text()
    assert login.startswith('{% extends "layout.html" %}\n{% block content %}\n')
    assert 'name="_csrf_token" value="{{ csrf_token }}"' in login


def test_without_a_layout_the_views_get_their_own(nova, app_root):
    assert nova("gen", "auth", cwd=app_root).exit_code == 0
    for view in ("login", "register", "account"):
        page = (app_root / f"myapp/views/{view}.html").read_text()
        assert page.startswith('{% extends "auth_layout.html" %}\n')
        assert '<input type="hidden" name="_csrf_token" value="{{ csrf_token }}">' in page
    assert "{% block content %}" in (app_root / "myapp/views/auth_layout.html").read_text()


def test_a_pyproject_without_dependencies_gets_a_warning(nova, app_root):
    pyproject = app_root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('dependencies = ["nova-web"]\n', ""))
    result = nova("gen", "auth", cwd=app_root)
    assert result.exit_code == 0, result.output
    assert "    manual  pyproject.toml  (cannot edit it safely)" in result.output
    assert "warning: pyproject.toml has no [project] dependencies list; add" in result.output
