"""What `nova serve` watches, what it ignores, and what a change means.

The scope is the project directory minus what never holds the app's code:
virtualenvs (`.venv`, `venv`, any directory with a `pyvenv.cfg`, the
interpreter's own prefix), `node_modules`, VCS and cache directories, and
whatever the project's `.gitignore` ignores.  Directories are watched one by
one, not recursively, so an ignored tree is never even registered with
inotify (a virtualenv alone can hold thousands of directories); the list is
rebuilt when a directory appears or goes.

A burst of saves becomes one batch: watchfiles groups events until
`step_ms` pass without one (at most `debounce_ms`), and the worker merges
batches that arrive while it is still reloading.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IGNORED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
        ".hypothesis",
        ".idea",
        ".vscode",
        ".eggs",
    }
)
# Editor droppings, bytecode, databases and logs: never a reason to reload.
IGNORED_FILES = re.compile(
    r"(\.py[cod]$|\.sw.$|~$|^\.#|^#.*#$|^4913$|\.tmp$|^\.DS_Store$|^flycheck_|\.___jb_...___$"
    r"|\.(sqlite3?|db)(-wal|-shm|-journal)?$|\.log$)"
)
# Files whose change needs a fresh worker process: configuration and dependencies.
RESTART_FILES = (
    "pyproject.toml",
    ".env",
    ".env.*",
    "*.lock",
    "requirements*.txt",
    "Pipfile",
    "setup.py",
    "setup.cfg",
)

RESTART, CODE, CSS, ASSET, RESCOPE, IGNORE = (
    "restart",
    "code",
    "css",
    "asset",
    "rescope",
    "ignore",
)


class WatchScope:
    """The directories and files of a project that `nova serve` cares about."""

    def __init__(self, root: Path, app_dir: Path | None = None) -> None:
        self.root = root.resolve()
        self.app_dir = app_dir.resolve() if app_dir is not None else None
        prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
        self.prefixes = sorted({Path(p).resolve() for p in prefixes})
        self.gitignore = _load_gitignore(self.root / ".gitignore")

    def reason_ignored(self, path: Path, is_dir: bool | None = None) -> str | None:
        """Why `path` is outside the scope, or None if it is watched."""
        path = Path(os.path.abspath(path))
        try:
            rel = path.relative_to(self.root)
        except ValueError:
            return "outside the project"
        for prefix in self.prefixes:
            if path.is_relative_to(prefix) and not self.root.is_relative_to(prefix):
                return f"inside the Python installation ({prefix})"
        parts = rel.parts
        if is_dir is None:
            is_dir = path.is_dir()
        dirs = parts if is_dir else parts[:-1]
        for part in dirs:
            if part in IGNORED_DIRS or part.endswith(".egg-info"):
                return f"{part}/ is never watched"
        if not is_dir and parts and IGNORED_FILES.search(parts[-1]):
            return "an editor, bytecode, database or log file"
        if self.gitignore is not None and rel.parts:
            text = rel.as_posix() + ("/" if is_dir else "")
            if self.gitignore.match_file(text):
                return "ignored by .gitignore"
        return None

    def is_project_file(self, path: Path) -> bool:
        """True for a file inside the project and the scope (the reloader's notion of 'ours')."""
        return self.reason_ignored(path, is_dir=False) is None

    def directories(self) -> list[Path]:
        """Every directory to watch, pruned as it is walked."""
        found = [self.root]
        for current, subdirs, _files in os.walk(self.root):
            keep = []
            for name in sorted(subdirs):
                path = Path(current, name)
                if path.is_symlink() or (path / "pyvenv.cfg").exists():
                    continue
                if self.reason_ignored(path, is_dir=True) is None:
                    keep.append(name)
                    found.append(path)
            subdirs[:] = keep
        return found

    def classify(self, path: Path) -> str:
        """What a change to `path` calls for: RESTART, CODE, CSS, ASSET, RESCOPE or IGNORE."""
        path = Path(os.path.abspath(path))
        if self.reason_ignored(path, is_dir=False) is not None:
            return IGNORE
        rel = path.relative_to(self.root)
        name = path.name
        if rel == Path(".gitignore"):
            return RESCOPE
        if len(rel.parts) == 1 and any(fnmatch.fnmatch(name, p) for p in RESTART_FILES):
            return RESTART
        if rel.parts[0] == "requirements" and name.endswith(".txt"):
            return RESTART
        if path.suffix == ".py":
            return CODE
        if path.suffix == ".css":
            return CSS
        if self.app_dir is not None and path.is_relative_to(self.app_dir):
            return ASSET
        if path.suffix in (".html", ".htm", ".js", ".mjs", ".svg", ".png", ".jpg", ".ico"):
            return ASSET
        return IGNORE

    def describe(self) -> list[str]:
        """Lines for the start-up banner: what is watched and what is left out."""
        dirs = self.directories()
        tops = sorted(
            {d.relative_to(self.root).parts[0] for d in dirs if d != self.root}, key=str.lower
        )
        left_out = []
        try:
            entries = sorted(self.root.iterdir())
        except OSError:
            entries = []
        for entry in entries:
            if entry.is_dir() and entry.name not in tops:
                if (entry / "pyvenv.cfg").exists():
                    left_out.append(f"{entry.name}/ (a virtualenv)")
                elif self.reason_ignored(entry, is_dir=True) is not None:
                    left_out.append(f"{entry.name}/")
        shown = ", ".join(f"{t}/" for t in tops) or "(no subdirectories)"
        lines = [f"watching {self.root} ({len(dirs)} directories): {shown}"]
        always = "caches, __pycache__, the Python installation"
        if self.gitignore is not None:
            always += ", what .gitignore ignores"
        lines.append(f"not watching: {', '.join([*left_out, always])}")
        return lines


def _load_gitignore(path: Path) -> Any:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(lines)


@dataclass
class Batch:
    """One group of changes, by path; a path's last state wins."""

    changed: set[Path] = field(default_factory=set)
    deleted: set[Path] = field(default_factory=set)
    rescope: bool = False  # the watched directories or the ignore rules changed

    def add(self, path: Path, exists: bool) -> None:
        (self.changed if exists else self.deleted).add(path)
        (self.deleted if exists else self.changed).discard(path)

    def merge(self, other: Batch) -> None:
        for path in other.changed:
            self.add(path, True)
        for path in other.deleted:
            self.add(path, False)
        self.rescope = self.rescope or other.rescope

    @property
    def paths(self) -> set[Path]:
        return self.changed | self.deleted

    def __bool__(self) -> bool:
        return bool(self.changed or self.deleted or self.rescope)


class Watcher:
    """Watch a `WatchScope` in a thread and hand each batch of changes to `on_batch`."""

    def __init__(
        self,
        scope: WatchScope,
        on_batch: Callable[[Batch], None],
        *,
        step_ms: int = 30,
        debounce_ms: int = 1600,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.scope = scope
        self.on_batch = on_batch
        self.on_error = on_error or (lambda text: print(f"nova: {text}", file=sys.stderr))
        self.step_ms = step_ms
        self.debounce_ms = debounce_ms
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nova-watcher", daemon=True)
        self._dirs: set[Path] = set()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        import watchfiles

        polling: bool | None = None  # None: watchfiles decides (WATCHFILES_FORCE_POLLING)
        failures = 0
        while not self._stop.is_set():
            dirs = self.scope.directories()
            self._dirs = set(dirs)
            try:
                for changes in watchfiles.watch(
                    *dirs,
                    watch_filter=None,
                    recursive=False,
                    step=self.step_ms,
                    debounce=self.debounce_ms,
                    stop_event=self._stop,
                    rust_timeout=500,
                    raise_interrupt=False,
                    force_polling=polling,
                ):
                    failures = 0
                    batch = self.batch(path for _change, path in changes)
                    if batch:
                        self.on_batch(batch)
                    if batch.rescope:
                        self.scope = WatchScope(self.scope.root, self.scope.app_dir)
                        break  # rebuild the directory list
            except Exception as exc:
                # Usually a directory that went away between the walk and the
                # watch: walk again.  If watching itself keeps failing (inotify
                # limits, some network or container file systems), poll instead.
                if self._stop.is_set():
                    return
                failures += 1
                if failures >= 3 and not polling:
                    polling = True
                    self.on_error(f"watcher: {exc}; falling back to polling")
                else:
                    self.on_error(f"watcher: {exc}; rescanning")
                time.sleep(0.1 * failures)

    def batch(self, raw: Iterable[str]) -> Batch:
        """Turn raw event paths into a Batch; new directories bring their files along."""
        batch = Batch()
        for text in set(raw):
            path = Path(text)
            if path in self._dirs:
                if not path.exists():
                    batch.rescope = True
                continue
            is_dir = path.is_dir()
            if self.scope.reason_ignored(path, is_dir=is_dir) is not None:
                continue
            if is_dir:
                batch.rescope = True
                for sub in _files_under(path, self.scope):
                    batch.add(sub, True)
                continue
            if self.scope.classify(path) == RESCOPE:
                batch.rescope = True
            batch.add(path, path.exists())
        return batch


def _files_under(folder: Path, scope: WatchScope) -> list[Path]:
    found: list[Path] = []
    for current, subdirs, files in os.walk(folder):
        subdirs[:] = [d for d in subdirs if scope.reason_ignored(Path(current, d), True) is None]
        found.extend(
            Path(current, f) for f in files if scope.reason_ignored(Path(current, f), False) is None
        )
    return found
