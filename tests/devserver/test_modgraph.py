"""The project's import graph: edges, dependents, dependency order."""

from __future__ import annotations

import ast

from nova_cli.devserver.modgraph import ModuleGraph, imported_names


def test_imported_names_resolve_relative_imports() -> None:
    tree = ast.parse(
        "import os.path\n"
        "from . import helpers\n"
        "from .. import router\n"
        "from .models import User, Post\n"
        "from app.views import *\n"
        "def f():\n"
        "    from app import late\n"
    )
    assert imported_names(tree, "app.controllers") == {
        "os.path",
        "app.controllers",
        "app.controllers.helpers",
        "app",
        "app.router",
        "app.controllers.models",
        "app.controllers.models.User",
        "app.controllers.models.Post",
        "app.views",
        "app.late",
    }


def graph() -> ModuleGraph:
    return ModuleGraph.__new__(ModuleGraph)


def test_dependents_are_transitive() -> None:
    edges = {
        "app": set(),
        "app.helpers": set(),
        "app.controllers.main": {"app.helpers"},
        "app.router": {"app.controllers.main"},
        "app.other": set(),
    }
    assert graph().dependents({"app.helpers"}, edges) == {"app.controllers.main", "app.router"}
    assert graph().dependents({"app.router"}, edges) == set()


def test_order_puts_dependencies_first_and_survives_cycles() -> None:
    edges = {"r": {"c", "h"}, "c": {"h"}, "h": set(), "a": {"b"}, "b": {"a"}}
    ordered = graph().order(["r", "c", "h"], edges)
    assert ordered == ["h", "c", "r"]
    assert sorted(graph().order(["a", "b", "h"], edges)) == ["a", "b", "h"]
