"""Fixtures for the runtime unit tests: tiny apps written to tmp dirs, loaded fresh.

Apps are imported by package name, so a test that loads its own copy of a
package (an edited `demo`, a tiny app written here) must first drop every
cached module of that package, and put `sys.path` back afterwards.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from nova_cli.runtime import create_app
from tests.support.servers import ASSETS


def purge(package: str) -> None:
    """Forget every imported module of `package`."""
    for name in list(sys.modules):
        if name == package or name.startswith(package + "."):
            del sys.modules[name]


def write_files(root: Path, files: dict[str, str]) -> Path:
    """Write `files` (relative path -> source, dedented) below `root`."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


class Apps:
    """Build Nova apps from source text and load them with no stale modules."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.packages: set[str] = set()

    def write(
        self,
        files: dict[str, str],
        *,
        package: str = "tinyapp",
        tool_nova: str = "",
        folder: str | None = None,
    ) -> Path:
        """A project with package `package`; `files` are relative to the package."""
        root = self.tmp_path / (folder or package)
        pyproject = f'[project]\nname = "{package}"\n\n[tool.nova]\napp = "{package}"\n'
        pyproject += textwrap.dedent(tool_nova)
        write_files(root, {"pyproject.toml": pyproject, f"{package}/__init__.py": ""})
        write_files(root / package, files)
        self.packages.add(package)
        return root

    def app(self, root: Path, package: str | None = None, **settings: Any) -> Starlette:
        """`create_app` for the project at `root`, its package imported afresh."""
        package = package or _package_of(root)
        purge(package)
        self.packages.add(package)
        return create_app(root=root, **settings)

    def client(self, root: Path, package: str | None = None, **settings: Any) -> TestClient:
        return TestClient(self.app(root, package, **settings), follow_redirects=False)


def _package_of(root: Path) -> str:
    import tomllib

    data = tomllib.loads((root / "pyproject.toml").read_text())
    return str(data["tool"]["nova"]["app"])


@pytest.fixture
def apps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Apps]:
    """Write and load tiny apps; their modules and sys.path entries go afterwards."""
    for name in list(__import__("os").environ):
        if name.startswith("NOVA_"):
            monkeypatch.delenv(name)
    saved_path = list(sys.path)
    maker = Apps(tmp_path)
    yield maker
    for package in maker.packages:
        purge(package)
    sys.path[:] = saved_path


@pytest.fixture
def demo(apps: Apps) -> Callable[..., TestClient]:
    """A TestClient factory for tests/assets/demo (`demo(environment="prod")`)."""

    def make(root: Path = ASSETS / "demo", **settings: Any) -> TestClient:
        return apps.client(root, "demo", **settings)

    return make
