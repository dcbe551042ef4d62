"""Fixtures for the CLI tests: a fresh `nova new` app in a tmp dir, and a CliRunner on it."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from nova_cli.cli.main import app as nova_app
from nova_cli.scaffold import apply, plan_app


@pytest.fixture(scope="session")
def pristine_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One app made by `nova new myapp`, copied for each test that needs one."""
    root = tmp_path_factory.mktemp("pristine") / "myapp"
    apply(plan_app("myapp", root))
    return root


@pytest.fixture
def app_root(pristine_app: Path, tmp_path: Path) -> Path:
    """A private copy of a freshly generated app, free to edit."""
    root = tmp_path / "myapp"
    shutil.copytree(pristine_app, root)
    return root


Invoke = Callable[..., Result]


@pytest.fixture
def nova(monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """`nova(*args, cwd=path)`: run the CLI in-process with typer's CliRunner."""
    runner = CliRunner()

    def invoke(*args: str, cwd: Path | None = None) -> Result:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        return runner.invoke(nova_app, list(args))

    return invoke


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its content: compare before and after a command."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Make `folder` unwritable, even for root (which ignores permission bits)."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    if shutil.which("chattr") is None:
        pytest.fail("running as root without chattr: cannot make a read-only directory")
    done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.fail(f"chattr +i failed: {done.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


@pytest.fixture
def isolated_imports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Undo what importing a generated app does: its modules, its sys.path entry."""
    import sys

    path, base = list(sys.path), str(tmp_path_factory.getbasetemp())
    yield
    sys.path[:] = path
    for name, module in list(sys.modules.items()):
        if (getattr(module, "__file__", None) or "").startswith(base):
            del sys.modules[name]
