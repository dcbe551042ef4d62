"""`nova gen`: each kind's files and routes, the plan, --dry-run, --force, --no-route, bad input."""

from __future__ import annotations

import json

import pytest

from nova_cli.cli.output import CliError
from tests.cli.conftest import read_only, snapshot

ROUTER = "myapp/router.py"


def router(root) -> str:
    return (root / ROUTER).read_text()


def test_controller_files_routes_and_plan(nova, app_root):
    result = nova("gen", "controller", "users", "--actions", "index,show,stats", cwd=app_root)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "    create  myapp/controllers/users_controller.py\n"
        "    create  tests/test_users_controller.py\n"
        "    inject  myapp/router.py  (3 routes)\n"
    )
    source = router(app_root)
    assert "from myapp.controllers import main_controller, users_controller\n" in source
    assert '("/users", users_controller.index, {"methods": ["get"]}),' in source
    assert '("/users/:id", users_controller.show, {"methods": ["get"]}),' in source
    assert '("/users/stats", users_controller.stats, {"methods": ["get"]}),' in source
    controller = (app_root / "myapp/controllers/users_controller.py").read_text()
    for action in ("index", "show", "stats"):
        assert f"\ndef {action}(req):\n" in controller
    assert "pytest tests/test_users_controller.py" in result.output


def test_ws_handler_echo_and_chat(nova, app_root):
    assert nova("gen", "ws-handler", "chat", cwd=app_root).exit_code == 0
    echo = (app_root / "myapp/controllers/chat_ws_handler.py").read_text()
    assert 'return ("reply", ("text", "Echo: " + msg), state)' in echo
    assert "pubsub" not in echo
    assert (app_root / "tests/test_chat_ws_handler.py").is_file()
    assert '("/chat", chat_ws_handler, {"protocol": "ws"}),' in router(app_root)

    assert nova("gen", "ws-handler", "room", "--pubsub", "lobby", cwd=app_root).exit_code == 0
    chat = (app_root / "myapp/controllers/room_ws_handler.py").read_text()
    assert "from nova_cli import pubsub\n" in chat
    assert 'pubsub.join("lobby")' in chat
    assert 'pubsub.broadcast("lobby", "message", msg)' in chat
    assert 'case ("nova_pubsub", "lobby", _sender, "message", msg):' in chat
    assert '("/room", room_ws_handler, {"protocol": "ws"}),' in router(app_root)


def test_ws_handler_with_presence_and_its_page(nova, app_root):
    result = nova("gen", "ws-handler", "room", "--presence", cwd=app_root)
    assert result.exit_code == 0, result.output
    room = (app_root / "myapp/controllers/room_ws_handler.py").read_text()
    assert "from nova_cli import presence, pubsub\n" in room
    assert 'CHANNEL = "room"' in room  # the room's own name without --pubsub
    assert 'presence.track(CHANNEL, state["user"]' in room
    assert 'case ("nova_presence", "room", diff):' in room
    assert '("/room", room_ws_handler, {"protocol": "ws"}),' in router(app_root)
    assert '("/room/page", room_ws_handler.page, {"methods": ["get"]}),' in router(app_root)
    page = (app_root / "myapp/views/room.html").read_text()
    assert "{{ socket }}?name=" in page and "{%" not in page  # a Jinja view of the app
    assert "http://127.0.0.1:8080/room/page?name=alice" in result.output

    assert nova("gen", "ws-handler", "hall", "--presence", "--pubsub", "lobby", cwd=app_root)
    assert 'CHANNEL = "lobby"' in (app_root / "myapp/controllers/hall_ws_handler.py").read_text()
    assert nova("gen", "ws-handler", "echo", cwd=app_root).exit_code == 0
    assert not (app_root / "myapp/views/echo.html").exists()  # a page for presence only


def test_fallback_has_no_route(nova, app_root):
    before = router(app_root)
    result = nova("gen", "fallback", "oops", cwd=app_root)
    assert result.exit_code == 0, result.output
    source = (app_root / "myapp/controllers/oops_fallback.py").read_text()
    assert "\ndef resolve(req, invalid_return):\n" in source
    assert (app_root / "tests/test_oops_fallback.py").is_file()
    assert router(app_root) == before
    assert "fallback_controller = oops_fallback" in result.output


def test_handler_is_registered_by_the_app_package(nova, app_root):
    result = nova("gen", "handler", "xml", cwd=app_root)
    assert result.exit_code == 0, result.output
    assert "    create  myapp/handlers/__init__.py\n" in result.output
    handler = (app_root / "myapp/handlers/xml_handler.py").read_text()
    assert "\ndef handle(status_code, extra_headers, payload):\n" in handler
    assert 'MEDIA_TYPE = "application/xml"' in handler
    init = (app_root / "myapp/__init__.py").read_text()
    assert "from nova_cli.handlers import register_handler\n" in init
    assert "from nova_cli import handlers" not in init
    assert 'register_handler("xml", xml_handler.handle)\n' in init
    # a second handler keeps the package's handlers/__init__.py and joins the imports
    (app_root / "myapp/handlers/__init__.py").write_text('"""My handlers."""\n')
    result = nova("gen", "handler", "csv", cwd=app_root)
    assert "     exist  myapp/handlers/__init__.py\n" in result.output
    assert (app_root / "myapp/handlers/__init__.py").read_text() == '"""My handlers."""\n'
    assert 'MEDIA_TYPE = "text/csv"' in (app_root / "myapp/handlers/csv_handler.py").read_text()
    init = (app_root / "myapp/__init__.py").read_text()
    assert "from myapp.handlers import csv_handler, xml_handler\n" in init


def test_a_built_in_handler_name_is_refused(nova, app_root):
    result = nova("gen", "handler", "json", cwd=app_root)
    assert "'json' is a built-in return handler" in str(result.exception)


def test_resource_routes(nova, app_root):
    result = nova("gen", "resource", "books", cwd=app_root)
    assert result.exit_code == 0, result.output
    assert "inject  myapp/router.py  (5 routes)" in result.output
    source = router(app_root)
    for line in (
        '("/books", books_controller.list, {"methods": ["get"]}),',
        '("/books/:id", books_controller.show, {"methods": ["get"]}),',
        '("/books/:id", books_controller.delete, {"methods": ["delete"]}),',
    ):
        assert line in source
    # Too long for one line: laid out as ruff format lays it out, the generated code stays clean.
    for path, action, method in (("/books", "create", "post"), ("/books/:id", "update", "put")):
        assert (
            "                (\n"
            f'                    "{path}",\n'
            f"                    books_controller.{action},\n"
            f'                    {{"methods": ["{method}"], '
            '"json_schema": "schemas/book.json"},\n'
            "                ),\n"
        ) in source
    assert "create  myapp/schemas/book.json" in result.output
    assert json.loads((app_root / "myapp/schemas/book.json").read_text())["type"] == "object"
    assert "warning" not in result.output  # the app decodes JSON bodies


def test_resource_warns_when_json_bodies_are_not_decoded(nova, app_root):
    pyproject = app_root / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text("\n".join(line for line in text.splitlines() if "plugins" not in line))
    result = nova("gen", "resource", "books", cwd=app_root)
    assert result.exit_code == 0
    assert "warning: the resource reads req.json" in result.output


def test_running_twice_is_identical_and_adds_no_route(nova, app_root):
    nova("gen", "resource", "books", cwd=app_root)
    once = snapshot(app_root)
    for extra in ([], ["--force"]):
        result = nova("gen", "resource", "books", *extra, cwd=app_root)
        assert result.exit_code == 0, result.output
        assert " identical  myapp/router.py  (routes already there)" in result.output
        assert snapshot(app_root) == once
    assert router(app_root).count("books_controller.list") == 1


def test_from_a_subdirectory(nova, app_root):
    result = nova("gen", "controller", "users", cwd=app_root / "myapp" / "controllers")
    assert result.exit_code == 0, result.output
    assert (app_root / "myapp/controllers/users_controller.py").is_file()


def test_directory_option(nova, app_root, tmp_path):
    result = nova("gen", "fallback", "oops", "-C", str(app_root), cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert (app_root / "myapp/controllers/oops_fallback.py").is_file()


def test_dry_run_writes_nothing(nova, app_root):
    before = snapshot(app_root)
    result = nova("gen", "resource", "books", "--dry-run", cwd=app_root)
    assert result.exit_code == 0
    assert "    inject  myapp/router.py  (5 routes)" in result.output
    assert "dry run: nothing written" in result.output
    assert snapshot(app_root) == before


def test_an_existing_file_is_a_conflict_and_nothing_is_written(nova, app_root):
    mine = app_root / "tests/test_users_controller.py"
    mine.write_text("# my own test\n")
    before = snapshot(app_root)
    result = nova("gen", "controller", "users", cwd=app_root)
    assert result.exit_code == 1
    assert "  conflict  tests/test_users_controller.py\n" in result.output
    assert "1 conflict (tests/test_users_controller.py); nothing written" in str(result.exception)
    assert "--force" in str(result.exception)
    assert snapshot(app_root) == before

    result = nova("gen", "controller", "users", "--force", cwd=app_root)
    assert result.exit_code == 0
    assert "     force  tests/test_users_controller.py\n" in result.output
    assert mine.read_text() != "# my own test\n"


def test_a_path_already_routed_elsewhere_is_a_conflict(nova, app_root):
    (app_root / ROUTER).write_text(
        router(app_root).replace('("/heartbeat",', '("/users", main_controller.index, {}),\n'
                                 '                ("/heartbeat",')
    )  # fmt: skip
    before = snapshot(app_root)
    result = nova("gen", "controller", "users", "--actions", "index,show", cwd=app_root)
    assert result.exit_code == 1
    assert "conflict  myapp/router.py  (/users is already routed by" in result.output
    assert snapshot(app_root) == before
    # --force writes the rest and leaves the taken path alone
    result = nova("gen", "controller", "users", "--actions", "index,show", "--force", cwd=app_root)
    assert result.exit_code == 0
    assert "warning: /users is already routed by" in result.output
    assert "users_controller.index" not in router(app_root)
    assert '("/users/:id", users_controller.show' in router(app_root)


def test_no_route_prints_the_snippet(nova, app_root):
    before = router(app_root)
    result = nova("gen", "ws-handler", "chat", "--no-route", cwd=app_root)
    assert result.exit_code == 0
    assert "      skip  myapp/router.py  (--no-route" in result.output
    assert "    from myapp.controllers import chat_ws_handler\n" in result.output
    assert '    ("/chat", chat_ws_handler, {"protocol": "ws"}),\n' in result.output
    assert router(app_root) == before
    assert (app_root / "myapp/controllers/chat_ws_handler.py").is_file()


def test_a_router_built_dynamically_gets_the_snippet_and_a_warning(nova, app_root):
    (app_root / ROUTER).write_text(
        "from myapp.controllers import main_controller\n\n"
        "ROUTES = [('/', main_controller.index, {'methods': ['get']})]\n\n\n"
        "def routes(environment):\n"
        "    return [{'prefix': p, 'routes': ROUTES} for p in ('', '/v1')]\n"
    )
    before = router(app_root)
    result = nova("gen", "controller", "users", cwd=app_root)
    assert result.exit_code == 0, result.output
    assert "    manual  myapp/router.py  (cannot edit it safely)" in result.output
    assert "warning: routes() returns `[{'prefix': p, 'routes': ROUTES} for p in" in result.output
    assert "built dynamically" in result.output
    assert '    ("/users", users_controller.index, {"methods": ["get"]}),' in result.output
    assert router(app_root) == before
    assert (app_root / "myapp/controllers/users_controller.py").is_file()


def test_outside_an_app(nova, tmp_path):
    result = nova("gen", "controller", "users", cwd=tmp_path)
    assert result.exit_code == 1
    assert isinstance(result.exception, CliError)
    assert "no Nova app in" in str(result.exception)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["controller", "Users"], "'Users' is not a valid controller name"),
        (["controller", "Books"], "did you mean 'books'?"),
        (["controller", "BookShelf"], "did you mean 'book_shelf'?"),
        (["ws-handler", "chat-room"], "did you mean 'chat_room'?"),
        (["controller", "users_controller"], "leave out the '_controller' suffix"),
        (["controller", "users", "--actions", "index,class"], "'class' is not a valid action"),
        (["controller", "users", "--actions", "show,show"], "action 'show' is given twice"),
        (["controller", "users", "--actions", ","], "--actions names no action"),
        (["ws-handler", "chat-room"], "not a valid WebSocket handler name"),
        (["ws-handler", "chat", "--pubsub", "a b"], "'a b' is not a valid channel name"),
        (["resource", "my books"], "not a valid resource name"),
    ],
)
def test_invalid_names(nova, app_root, args, message):
    before = snapshot(app_root)
    result = nova("gen", *args, cwd=app_root)
    assert result.exit_code == 1
    assert message in str(result.exception)
    assert snapshot(app_root) == before


def test_a_read_only_directory(nova, app_root):
    before = snapshot(app_root)
    with read_only(app_root / "tests"):
        result = nova("gen", "controller", "users", cwd=app_root)
    assert result.exit_code == 1
    message = str(result.exception)
    assert message.startswith("cannot write ") and message.endswith("nothing was written")
    assert snapshot(app_root) == before


def test_an_interrupted_generation_leaves_no_half_written_files(nova, app_root, monkeypatch):
    from nova_cli.scaffold import plan as scaffold

    real, calls = scaffold.write_atomic, []

    def interrupted(target, content, mode=None):
        calls.append(target)
        if len(calls) == 4:  # the module, its schema and its test are written; now the router
            raise KeyboardInterrupt
        real(target, content, mode)

    monkeypatch.setattr(scaffold, "write_atomic", interrupted)
    before = snapshot(app_root)
    result = nova("gen", "resource", "books", cwd=app_root)
    assert result.exit_code == 130  # click turns the interrupt into "Aborted!"
    written = ["books_controller.py", "book.json", "test_books_controller.py", "router.py"]
    assert [p.name for p in calls] == written
    assert snapshot(app_root) == before


def test_a_conflict_stops_the_plan_and_nothing_is_shown_as_created(nova, app_root, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    mine = app_root / "myapp/controllers/users_controller.py"
    mine.write_text('def index(req):\n    return ("json", [])\n')
    before = snapshot(app_root)
    result = nova("gen", "controller", "users", cwd=app_root)
    assert result.exit_code == 1
    assert snapshot(app_root) == before
    lines = result.output.splitlines()
    assert lines[0] == "\033[31m  conflict\033[0m  myapp/controllers/users_controller.py"
    assert lines[1] == "\033[33m      skip\033[0m  tests/test_users_controller.py  (would create)"
    assert lines[2] == "\033[33m      skip\033[0m  myapp/router.py  (would inject 1 route)"
    assert "\033[32m" not in result.output  # nothing green: nothing was written


PREFIXED_ROUTER = """
from myapp.controllers import main_controller, users_controller


def routes(environment):
    return [
        {"prefix": "", "security": False, "routes": [("/", main_controller.index)]},
        {
            "prefix": "/api",
            "security": lambda req: True,
            "routes": [
                ("/users/:id", users_controller.show, {"methods": ["get", "put", "head"]}),
                ("/users", users_controller.index, {"methods": ["post"]}),
            ],
        },
    ]
"""


def test_gen_test_covers_each_route_and_method_of_a_controller(nova, app_root):
    (app_root / "myapp/controllers/users_controller.py").write_text(
        "def show(req):\n    return ('json', {})\n\ndef index(req):\n    return ('json', [])\n"
    )
    (app_root / ROUTER).write_text(PREFIXED_ROUTER)
    result = nova("gen", "test", "users", cwd=app_root)
    assert result.exit_code == 0, result.output
    assert "create  tests/test_users_controller.py" in result.output
    test = (app_root / "tests/test_users_controller.py").read_text()
    assert 'def test_get_api_users_id(client):\n    response = client.get("/api/users/1")' in test
    assert 'response = client.put("/api/users/1", json={})' in test
    assert 'response = client.post("/api/users", json={})' in test
    assert "head(" not in test  # HEAD comes with GET
    assert test.count("assert response.status_code < 500") == 3


@pytest.mark.parametrize(
    ("name", "router", "message"),
    [
        ("nope", None, "no controller myapp/controllers/nope_controller.py"),
        ("users", None, "no route in myapp/router.py reaches users_controller; add one first"),
        (
            "users",
            "def routes(environment):\n    return build()\n",
            "cannot read the routes of users_controller in router.py: routes() returns `build()`",
        ),
        ("users_controller", None, "leave out the '_controller' suffix"),
    ],
)
def test_gen_test_refuses_what_it_cannot_cover(nova, app_root, name, router, message):
    (app_root / "myapp/controllers/users_controller.py").write_text("def index(req): ...\n")
    if router is not None:
        (app_root / ROUTER).write_text(router)
    before = snapshot(app_root)
    result = nova("gen", "test", name, cwd=app_root)
    assert result.exit_code == 1
    assert message in str(result.exception)
    assert snapshot(app_root) == before


def test_gen_test_does_not_overwrite_the_controllers_own_test(nova, app_root):
    assert nova("gen", "controller", "users", cwd=app_root).exit_code == 0
    before = snapshot(app_root)
    result = nova("gen", "test", "users", cwd=app_root)
    assert result.exit_code == 1
    assert "conflict  tests/test_users_controller.py" in result.output
    assert snapshot(app_root) == before
