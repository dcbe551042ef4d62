"""What `nova serve` watches, ignores and does for each change."""

from __future__ import annotations

import queue
import sys
import time
from pathlib import Path

import pytest

from nova_cli.devserver.watcher import (
    ASSET,
    CODE,
    CSS,
    IGNORE,
    RESCOPE,
    RESTART,
    Batch,
    Watcher,
    WatchScope,
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    for folder in (
        "myapp/controllers",
        "myapp/views",
        "myapp/static/css",
        "tests",
        ".venv/lib/python3.11/site-packages/pkg",
        "venv/lib",
        "env/lib",
        "node_modules/left-pad",
        ".git/objects",
        "myapp/__pycache__",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        "build/lib",
        "data",
    ):
        (root / folder).mkdir(parents=True)
    (root / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (root / "myapp" / "__init__.py").write_text("")
    (root / ".gitignore").write_text("build/\ndata/\n*.json\n!keep.json\n")
    return root


def scope_of(root: Path) -> WatchScope:
    return WatchScope(root, root / "myapp")


def test_directories_leave_out_every_ignored_tree(project: Path) -> None:
    watched = {p.relative_to(project).as_posix() for p in scope_of(project).directories()}
    assert watched == {
        ".",
        "myapp",
        "myapp/controllers",
        "myapp/views",
        "myapp/static",
        "myapp/static/css",
        "tests",
    }


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        (".venv/lib/python3.11/site-packages/pkg/mod.py", ".venv/ is never watched"),
        ("venv/lib/mod.py", "venv/ is never watched"),
        ("node_modules/left-pad/index.py", "node_modules/ is never watched"),
        (".git/objects/ab", ".git/ is never watched"),
        ("myapp/__pycache__/x.cpython-311.pyc", "__pycache__/ is never watched"),
        (".ruff_cache/x", ".ruff_cache/ is never watched"),
        ("build/lib/mod.py", "ignored by .gitignore"),
        ("data/db.json", "ignored by .gitignore"),
        ("myapp/app.sqlite3", "an editor, bytecode, database or log file"),
        ("myapp/.main.py.swp", "an editor, bytecode, database or log file"),
        ("myapp/main.py~", "an editor, bytecode, database or log file"),
        ("myapp/server.log", "an editor, bytecode, database or log file"),
    ],
)
def test_ignored_paths_say_why(project: Path, path: str, reason: str) -> None:
    assert scope_of(project).reason_ignored(project / path, is_dir=False) == reason


def test_gitignore_negations_and_watched_files(project: Path) -> None:
    scope = scope_of(project)
    for path in ("myapp/router.py", "pyproject.toml", "tests/test_x.py", "myapp/keep.json"):
        assert scope.reason_ignored(project / path, is_dir=False) is None, path
    assert scope.reason_ignored(project / "myapp/x.json", is_dir=False) == "ignored by .gitignore"
    assert scope.is_project_file(project / "myapp" / "router.py")
    assert not scope.is_project_file(project / "build" / "lib" / "mod.py")
    assert scope.reason_ignored(project.parent / "elsewhere.py") == "outside the project"


def test_the_python_installation_is_never_watched(tmp_path: Path) -> None:
    scope = WatchScope(tmp_path)
    scope.prefixes = [tmp_path / "python"]  # as if the interpreter lived in the project
    reason = scope.reason_ignored(tmp_path / "python" / "lib" / "os.py", is_dir=False)
    assert reason is not None and reason.startswith("inside the Python installation")
    assert Path(sys.prefix).resolve() in WatchScope(tmp_path).prefixes


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("pyproject.toml", RESTART),
        (".env", RESTART),
        (".env.local", RESTART),
        ("uv.lock", RESTART),
        ("requirements-dev.txt", RESTART),
        ("myapp/controllers/main_controller.py", CODE),
        ("tests/test_main.py", CODE),
        ("myapp/static/css/app.css", CSS),
        ("myapp/views/main.html", ASSET),
        ("myapp/static/logo.svg", ASSET),
        (".gitignore", RESCOPE),
        ("README.md", IGNORE),
        ("myapp/pyproject.toml", ASSET),  # only the project's own pyproject restarts
        ("build/lib/mod.py", IGNORE),
    ],
)
def test_classify(project: Path, path: str, kind: str) -> None:
    assert scope_of(project).classify(project / path) == kind


def test_describe_names_what_is_watched_and_what_is_not(project: Path) -> None:
    watched, ignored = scope_of(project).describe()
    assert watched == f"watching {project.resolve()} (7 directories): myapp/, tests/"
    for name in (".venv/", "venv/", "env/ (a virtualenv)", "node_modules/", "build/", "data/"):
        assert name in ignored
    assert "what .gitignore ignores" in ignored


def test_a_batch_keeps_the_last_state_of_each_path(tmp_path: Path) -> None:
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    batch = Batch()
    batch.add(a, True)
    batch.add(a, False)
    batch.add(b, False)
    later = Batch()
    later.add(b, True)
    batch.merge(later)
    assert (batch.changed, batch.deleted) == ({b}, {a})
    assert batch.paths == {a, b}
    assert not Batch()


def collect(batches: queue.Queue[Batch], want: set[Path], timeout: float = 20.0) -> Batch:
    """Merge batches until every path of `want` was seen."""
    seen = Batch()
    deadline = time.monotonic() + timeout
    while not want <= seen.paths:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"saw {seen}, wanted {want}"
        try:
            seen.merge(batches.get(timeout=remaining))
        except queue.Empty:
            continue
    return seen


def test_the_watcher_reports_changes_deletions_and_new_directories(project: Path) -> None:
    batches: queue.Queue[Batch] = queue.Queue()
    watcher = Watcher(scope_of(project), batches.put, step_ms=30)
    watcher.start()
    try:
        time.sleep(0.5)  # the watches are in place
        router = project / "myapp" / "router.py"
        router.write_text("def routes(environment):\n    return []\n")
        (project / "build" / "lib" / "ignored.py").write_text("x = 1\n")
        (project / "myapp" / "__pycache__" / "router.cpython-311.pyc").write_bytes(b"\0")
        assert collect(batches, {router}).changed == {router}

        router.unlink()
        assert router in collect(batches, {router}).deleted

        # A new directory, with a file written before the watcher could see it.
        models = project / "myapp" / "models"
        models.mkdir()
        (models / "user.py").write_text("class User: ...\n")
        seen = collect(batches, {models / "user.py"})
        assert seen.rescope
        time.sleep(0.5)  # the new directory is watched now
        (models / "post.py").write_text("class Post: ...\n")
        assert models / "post.py" in collect(batches, {models / "post.py"}).changed
    finally:
        watcher.stop()
    assert not watcher._thread.is_alive()
    assert all(
        not p.is_relative_to(project / "build") for b in list(batches.queue) for p in b.paths
    )
