"""In-process reload: new code live, module identity kept, last good code on failure."""

from __future__ import annotations

import itertools
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from nova_cli.core.config import NovaConfig
from nova_cli.devserver.reloader import Reloader
from nova_cli.devserver.watcher import WatchScope
from nova_cli.runtime.route_table import build_table

_names = itertools.count()

ROUTER = """
from {app}.controllers import main_controller, counter_ws


def routes(environment):
    return [{{"routes": [
        ("/", main_controller.index, {{"methods": ["get"]}}),
        ("/ws", counter_ws, {{"protocol": "ws"}}),
    ]}}]
"""
CONTROLLER = """
from {app}.helpers import greet


def index(req):
    return ("json", {{"greeting": greet(), "version": 1}})
"""
HELPERS = """
def greet():
    return "hello"
"""
WS = """
def websocket_handle(frame, state):
    return ("reply", ("text", "v1"), state)


class Base:
    def tag(self):
        return "class"


class Counter(Base):
    def websocket_handle(self, frame, state):
        return ("reply", ("text", super().tag() + " v1"), state)
"""


class App:
    """A tiny app in a tmp dir, loaded into this interpreter, with its reloader."""

    def __init__(self, root: Path, name: str) -> None:
        self.root, self.name = root, name
        self.dir = root / name
        self.config = NovaConfig(app=name, root=root)

    def load(self) -> None:
        self.router = SimpleNamespace(table=build_table(self.config))
        self.reloader = Reloader(
            self.router,
            lambda: build_table(self.config),
            root=self.root,
            app_dir=self.dir,
            is_project_file=WatchScope(self.root).is_project_file,
        )

    def path(self, relative: str) -> Path:
        return self.dir / relative

    def write(self, relative: str, source: str) -> Path:
        path = self.path(relative)
        path.write_text(textwrap.dedent(source).format(app=self.name))
        return path

    def edit(self, relative: str, old: str, new: str) -> Path:
        path = self.path(relative)
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new))
        return path

    def module(self, relative: str) -> ModuleType:
        return sys.modules[f"{self.name}.{relative.removesuffix('.py').replace('/', '.')}"]

    def index(self) -> Any:
        route = next(r for r in self.router.table.routes if r.path == "/")
        return route.target(None)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    name = f"reload_app_{os.getpid()}_{next(_names)}"
    root = tmp_path / "proj"
    (root / name / "controllers").mkdir(parents=True)
    for package in (name, f"{name}/controllers"):
        (root / package / "__init__.py").write_text("")
    made = App(root, name)
    made.write("router.py", ROUTER)
    made.write("controllers/main_controller.py", CONTROLLER)
    made.write("controllers/counter_ws.py", WS)
    made.write("helpers.py", HELPERS)
    path_before = list(sys.path)
    try:
        made.load()
        yield made
    finally:
        sys.path[:] = path_before
        for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[module]


def test_a_changed_controller_is_live_and_keeps_its_module(app: App) -> None:
    module = app.module("controllers/main_controller.py")
    assert app.index() == ("json", {"greeting": "hello", "version": 1})
    path = app.edit("controllers/main_controller.py", '"version": 1', '"version": 2')
    outcome = app.reloader.apply([path])
    assert outcome.status == "ok", outcome.problem
    assert app.index() == ("json", {"greeting": "hello", "version": 2})
    assert app.module("controllers/main_controller.py") is module
    assert outcome.modules == [module.__name__, f"{app.name}.router"]


def test_an_open_ws_handler_module_runs_the_new_code(app: App) -> None:
    handler = next(r for r in app.router.table.routes if r.protocol == "ws").target
    app.edit("controllers/counter_ws.py", '"v1"', '"v2"')
    assert app.reloader.apply([app.path("controllers/counter_ws.py")]).status == "ok"
    # What a live connection holds is the module: its next callback is the new one.
    assert handler.websocket_handle(("text", "x"), {}) == ("reply", ("text", "v2"), {})


def test_open_class_handler_instances_run_the_new_methods(app: App) -> None:
    module = app.module("controllers/counter_ws.py")
    old_class = module.Counter
    connection = old_class()  # one instance per open connection
    app.edit("controllers/counter_ws.py", '" v1"', '" v2"')
    assert app.reloader.apply([app.path("controllers/counter_ws.py")]).status == "ok"
    assert module.Counter is not old_class  # new connections get the new class
    assert connection.websocket_handle(None, {})[1] == ("text", "class v2")
    assert module.Counter().websocket_handle(None, {})[1] == ("text", "class v2")


def test_importers_of_a_changed_module_are_reloaded_after_it(app: App) -> None:
    app.edit("helpers.py", '"hello"', '"bonjour"')
    outcome = app.reloader.apply([app.path("helpers.py")])
    assert outcome.modules == [
        f"{app.name}.helpers",
        f"{app.name}.controllers.main_controller",
        f"{app.name}.router",
    ]
    assert app.index()[1]["greeting"] == "bonjour"


def test_a_syntax_error_touches_nothing(app: App) -> None:
    module = app.module("controllers/main_controller.py")
    old_index, old_table = module.index, app.router.table
    app.edit("helpers.py", '"hello"', '"hi"')
    path = app.edit("controllers/main_controller.py", "def index(req):", "def index(req:")
    outcome = app.reloader.apply([app.path("helpers.py"), path])
    assert outcome.status == "failed" and outcome.problem is not None
    problem = outcome.problem
    assert (problem.kind, problem.file) == (
        "SyntaxError",
        f"{app.name}/controllers/main_controller.py",
    )
    assert problem.line == 5 and "never closed" in problem.message
    assert (5, "def index(req:") in problem.source
    assert module.index is old_index and app.router.table is old_table
    assert app.module("helpers.py").greet() == "hello"  # not even the good file changed


def test_a_module_that_raises_is_rolled_back(app: App) -> None:
    module = app.module("controllers/main_controller.py")
    old_index = module.index
    app.edit(
        "controllers/main_controller.py",
        '"version": 1',
        '"version": 2',
    )
    with app.path("controllers/main_controller.py").open("a") as f:
        f.write("\nNEW_NAME = 1\nraise RuntimeError('no database')\n")
    outcome = app.reloader.apply([app.path("controllers/main_controller.py")])
    assert outcome.status == "failed" and outcome.problem is not None
    assert outcome.problem.kind == "RuntimeError" and outcome.problem.line == 9
    assert module.index is old_index and not hasattr(module, "NEW_NAME")
    assert app.index() == ("json", {"greeting": "hello", "version": 1})


def test_a_bad_route_table_rolls_back_every_module(app: App) -> None:
    table = app.router.table
    app.edit("controllers/main_controller.py", '"version": 1', '"version": 2')
    app.edit("router.py", '{"methods": ["get"]}', '{"methods": ["get"], "colour": "red"}')
    outcome = app.reloader.apply(
        [app.path("controllers/main_controller.py"), app.path("router.py")]
    )
    assert outcome.status == "failed" and outcome.problem is not None
    assert outcome.problem.kind == "RouteTableError"
    assert "unknown option 'colour'" in outcome.problem.message
    assert outcome.problem.file == f"{app.name}/router.py" and outcome.problem.line == 7
    assert app.router.table is table
    assert app.module("controllers/main_controller.py").index(None)[1]["version"] == 1


@pytest.mark.parametrize("source", ["", "def other(req):\n    return ('json', {{}})\n"])
def test_a_function_the_router_needs_that_is_gone_fails_the_reload(app: App, source: str) -> None:
    module = app.module("controllers/main_controller.py")
    old_index, table = module.index, app.router.table
    path = app.write("controllers/main_controller.py", source)  # saved empty, or index deleted
    outcome = app.reloader.apply([path])
    assert outcome.status == "failed" and outcome.problem is not None
    assert outcome.problem.kind == "AttributeError"
    assert "has no attribute 'index'" in outcome.problem.message
    assert outcome.problem.file == f"{app.name}/router.py"
    # Rolled back: the old code serves, as the failure says.
    assert module.index is old_index and app.router.table is table
    assert app.index() == ("json", {"greeting": "hello", "version": 1})


def test_names_the_new_code_no_longer_defines_are_gone(app: App) -> None:
    module = app.module("helpers.py")
    app.write("helpers.py", HELPERS + "\nimport os\nLIMIT = 3\n\n\ndef unused():\n    pass\n")
    assert app.reloader.apply([app.path("helpers.py")]).status == "ok"
    assert (module.LIMIT, module.unused.__name__, module.os.sep) == (3, "unused", os.sep)
    app.write("helpers.py", HELPERS)
    assert app.reloader.apply([app.path("helpers.py")]).status == "ok"
    assert not any(hasattr(module, name) for name in ("LIMIT", "unused", "os"))
    assert module.greet() == "hello" and module.__name__ == f"{app.name}.helpers"


def test_a_reloaded_package_keeps_its_submodules(app: App) -> None:
    package = sys.modules[f"{app.name}.controllers"]
    main = app.module("controllers/main_controller.py")
    path = app.write("controllers/__init__.py", '"""The controllers."""\n')
    outcome = app.reloader.apply([path])
    assert outcome.status == "ok", outcome.problem
    assert package.__doc__ == "The controllers." and package.__path__
    assert package.main_controller is main  # what `import pkg.sub` set, the import system's
    assert app.index()[1]["version"] == 1


def test_modules_first_imported_by_a_failed_attempt_are_forgotten(app: App) -> None:
    app.write("extra.py", "VALUE = 1\n")
    app.edit("router.py", "\n\ndef routes", f"\nfrom {app.name} import extra\n\n\ndef routes")
    app.edit("router.py", "return [", "return 42 or [")
    outcome = app.reloader.apply([app.path("router.py")])
    assert outcome.status == "failed"
    assert f"{app.name}.extra" not in sys.modules
    assert not hasattr(sys.modules[app.name], "extra")


def test_what_failed_is_retried_with_the_next_change(app: App) -> None:
    # The router imports a module that does not exist yet...
    app.edit("router.py", "\n\ndef routes", f"\nfrom {app.name} import later\n\n\ndef routes")
    outcome = app.reloader.apply([app.path("router.py")])
    assert outcome.status == "failed" and outcome.problem is not None
    assert outcome.problem.kind in ("ImportError", "ModuleNotFoundError")
    assert app.reloader.broken
    # ...then it is written: that change alone makes the router load.
    later = app.write("later.py", "VALUE = 1\n")
    outcome = app.reloader.apply([later])
    assert outcome.status == "ok", outcome.problem
    assert sys.modules[f"{app.name}.router"].later.VALUE == 1
    assert not app.reloader.broken


def test_deleted_modules(app: App) -> None:
    unused = app.write("unused.py", "X = 1\n")
    __import__(f"{app.name}.unused")
    unused.unlink()
    outcome = app.reloader.apply([unused])
    assert (outcome.status, outcome.removed) == ("ok", [f"{app.name}.unused"])
    assert f"{app.name}.unused" not in sys.modules

    helpers = app.path("helpers.py")
    source = helpers.read_text()
    helpers.unlink()
    outcome = app.reloader.apply([helpers])
    assert outcome.status == "failed" and outcome.problem is not None
    assert outcome.problem.file == f"{app.name}/controllers/main_controller.py"
    assert f"{app.name}.helpers" in sys.modules  # restored: the old code still runs
    assert app.index()[1]["greeting"] == "hello"
    helpers.write_text(source.replace('"hello"', '"back"'))
    assert app.reloader.apply([helpers]).status == "ok"
    assert app.index()[1]["greeting"] == "back"


def test_two_same_size_saves_in_one_second_are_both_seen(app: App) -> None:
    # The .pyc cache would take "v2" for "v1": same mtime (in seconds), same size.
    path = app.path("controllers/counter_ws.py")
    stamp = path.stat().st_mtime
    for version in ("v2", "v3"):
        path.write_text(
            path.read_text().replace('"v1"', f'"{version}"').replace('"v2"', f'"{version}"')
        )
        os.utime(path, (stamp, stamp))
        assert app.reloader.apply([path]).status == "ok"
        reply = app.module("controllers/counter_ws.py").websocket_handle(None, {})
        assert reply[1] == ("text", version)


def test_files_that_are_not_app_code_change_nothing(app: App) -> None:
    tests = app.root / "tests"
    tests.mkdir()
    table = app.router.table
    outcome = app.reloader.apply([tests / "test_x.py", app.path("views/main.html")])
    assert outcome.status == "noop" and app.router.table is table
    assert app.reloader.is_code([app.path("router.py")])
    assert not app.reloader.is_code([tests / "test_x.py"])
