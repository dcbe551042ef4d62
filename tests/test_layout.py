"""The package's import rules, read from its source: which part may import which.

- the runtime never imports the CLI, the dev server or the scaffold side
  (production carries neither a terminal nor a reloader);
- the scaffold side (generating code) never imports the runtime, the dev
  server, Starlette or uvicorn (generating a project needs no server);
- pub/sub never imports the runtime, the CLI or the dev server; sessions
  neither, nor a server (the runtime hands them the request); the process
  model (process, pid, terms) imports none of pub/sub, the runtime or above;
- what every part shares (core, config, discover) imports none of the parts;
- nothing imports the testing kit (`nova_cli.testing`) or Starlette's test
  client, which needs httpx2, a dependency of tests only.

Imports under `if TYPE_CHECKING:` are annotations only and do not count.
Also: only the end-to-end suite loads Playwright.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "nova_cli"

SCAFFOLD = ("nova_cli.scaffold",)
SERVERS = ("starlette", "uvicorn")
RULES: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (("nova_cli.runtime",), ("nova_cli.cli", "nova_cli.devserver", *SCAFFOLD)),
    (SCAFFOLD, ("nova_cli.runtime", "nova_cli.devserver", "nova_cli.pubsub", *SERVERS)),
    (("nova_cli.pubsub",), ("nova_cli.runtime", "nova_cli.cli", "nova_cli.devserver")),
    (("nova_cli.session",), ("nova_cli.runtime", "nova_cli.cli", "nova_cli.devserver", *SERVERS)),
    (
        ("nova_cli.process", "nova_cli.pid", "nova_cli.terms"),
        ("nova_cli.pubsub", "nova_cli.runtime", "nova_cli.cli", "nova_cli.devserver", *SERVERS),
    ),
    (
        ("nova_cli.core",),
        (
            "nova_cli.runtime",
            "nova_cli.pubsub",
            "nova_cli.cli",
            "nova_cli.devserver",
            "nova_cli.scaffold",
            *SERVERS,
        ),
    ),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module `path` imports, at any depth, but not under TYPE_CHECKING."""
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def broken_rules() -> list[str]:
    broken = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "templates" in path.parts:
            continue
        name = module_name(path)
        for parts, forbidden in RULES:
            if within(name, parts):
                broken += [
                    f"{name} imports {i}" for i in sorted(imports(path)) if within(i, forbidden)
                ]
    return broken


def test_every_import_rule_holds() -> None:
    assert broken_rules() == []


def test_only_the_testing_kit_uses_the_test_client() -> None:
    kit = ("nova_cli.testing", "starlette.testclient")
    importers = [
        module_name(path)
        for path in sorted(PACKAGE.rglob("*.py"))
        if "templates" not in path.parts
        and module_name(path) != "nova_cli.testing"
        and any(within(name, kit) for name in imports(path))
    ]
    assert importers == []


def test_a_broken_rule_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check itself: a pub/sub module that imports the runtime is reported."""
    real = imports

    def with_a_bad_import(path: Path) -> set[str]:
        found = real(path)
        return found | {"nova_cli.runtime.app"} if path.name == "_hub.py" else found

    monkeypatch.setattr(sys.modules[__name__], "imports", with_a_bad_import)
    assert broken_rules() == ["nova_cli.pubsub._hub imports nova_cli.runtime.app"]


def test_only_the_end_to_end_suite_loads_playwright() -> None:
    code = (
        "import sys, pytest; "
        "pytest.main(['-q', '-p', 'no:cacheprovider', 'tests/runtime/test_route_compiler.py']); "
        "print('PLAYWRIGHT' if 'playwright' in sys.modules else 'NONE')"
    )
    root = PACKAGE.parent
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert out.stdout.strip().splitlines()[-1] == "NONE", out.stdout[-2000:]


def test_the_built_in_names_are_the_runtimes() -> None:
    """core.names, read by the scaffold side, says what the runtime really registers."""
    import importlib

    from nova_cli.core.names import BUILTIN_HANDLERS, BUILTIN_PLUGINS
    from nova_cli.runtime import return_handlers as handlers

    assert set(handlers._builtins) == set(BUILTIN_HANDLERS)
    for module in BUILTIN_PLUGINS.values():
        plugin = importlib.import_module(module)
        assert callable(getattr(plugin, "pre_request", None) or plugin.post_request)
