"""Find the project an invocation is about, and import its app package.

A project is a directory with a `pyproject.toml` that has a `[tool.nova]`
table (or, without one, a package with a `router.py`).  `nova serve`,
`nova run` and `nova routes` work from the project directory or any folder
below it, without installing the app: the project root goes on `sys.path`.
"""

from __future__ import annotations

import importlib
import sys
import tomllib
from pathlib import Path
from types import ModuleType

from nova_cli.core.errors import AppNotFound


def find_project_root(start: Path) -> Path:
    """The nearest directory at or above `start` that holds a Nova project."""
    start = start.resolve()
    for folder in (start, *start.parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and _has_nova_table(pyproject):
            return folder
    for folder in (start, *start.parents):
        if any(child.joinpath("router.py").is_file() for child in _packages(folder)):
            return folder
    raise AppNotFound(
        f"no Nova app in {start} or above it: expected a pyproject.toml with [tool.nova] "
        "(create one with `nova new NAME`)"
    )


def _has_nova_table(path: Path) -> bool:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
        return False
    return isinstance(data.get("tool", {}).get("nova"), dict)


def _packages(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if p.is_dir() and (p / "__init__.py").is_file()]
    except OSError:
        return []


def guess_app_name(root: Path) -> str:
    """The single package under `root` that has a router.py."""
    found = [p.name for p in _packages(root) if (p / "router.py").is_file()]
    if len(found) == 1:
        return found[0]
    if not found:
        raise AppNotFound(f'no package with a router.py in {root}; set [tool.nova] app = "..."')
    raise AppNotFound(
        f'several app packages in {root} ({", ".join(sorted(found))}); set [tool.nova] app = "..."'
    )


def import_app(name: str, root: Path) -> ModuleType:
    """Import the app package `name` with `root` first on sys.path."""
    root_text = str(root)
    if root_text not in sys.path:
        sys.path.insert(0, root_text)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            raise AppNotFound(f"app package {name!r} not found in {root}") from None
        raise


def import_router(app: ModuleType) -> ModuleType:
    """The app's `router` module, which defines `routes(environment)`."""
    try:
        router = importlib.import_module(f"{app.__name__}.router")
    except ModuleNotFoundError as exc:
        if exc.name == f"{app.__name__}.router":
            raise AppNotFound(f"app {app.__name__!r} has no router.py") from None
        raise
    if not callable(getattr(router, "routes", None)):
        raise AppNotFound(f"{router.__name__} defines no routes(environment) function")
    return router
