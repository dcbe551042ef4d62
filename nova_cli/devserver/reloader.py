"""Reload changed modules inside the running server, then swap the route table.

This is `rebar3 nova serve`'s hot code loading in Python.  On a change:

1. find the loaded project modules behind the changed files, and every
   project module that imports them (`ModuleGraph`);
2. compile all of them from source first, so a syntax error stops the
   reload before anything is touched;
3. re-execute each one *in its existing module object*, dependencies
   first, so every reference to the module (a route's WebSocket handler,
   a package attribute, another module's `import x`) sees the new code;
   the namespace is emptied first, as for a first import, so a function
   the new code no longer defines is gone rather than still served;
4. rebuild the route table with `build_table` and swap `router.table`.

If step 3 or 4 raises, every re-executed module gets its old namespace
back (the dicts were snapshotted; functions keep the same `__globals__`
dict, so the old code works exactly as before), modules imported for the
first time during the attempt are dropped from `sys.modules`, and the
router keeps its table: the last good code goes on serving.  Restoring in
place is what keeps module identity, which fresh module objects could not:
an open WebSocket holds its handler module and looks its callbacks up on it.

Modules are compiled from source rather than through `importlib.reload`
because the `.pyc` cache is keyed on the source's mtime in whole seconds
and its size: two saves within a second that keep the size (`v1` → `v2`)
would reload the stale bytecode.

Side effects outside a module's namespace (a registry the module wrote
to, a thread it started) are not rolled back.
"""

from __future__ import annotations

import importlib
import linecache
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import CellType, CodeType, FunctionType, ModuleType
from typing import Any

from nova_cli.devserver.modgraph import ModuleGraph, module_path
from nova_cli.devserver.problems import Problem, problem_from_exception


@dataclass
class Outcome:
    """What one reload did."""

    status: str  # "ok" (new code live), "failed" (last good code kept), "noop"
    modules: list[str] = field(default_factory=list)  # re-executed, in order
    removed: list[str] = field(default_factory=list)  # dropped: their file is gone
    problem: Problem | None = None
    seconds: float = 0.0

    def summary(self) -> str:
        ms = f"{self.seconds * 1000:.0f} ms"
        if self.status == "failed" and self.problem is not None:
            return f"reload failed: {self.problem.headline()}"
        parts = []
        if self.modules:
            names = ", ".join(self.modules[:6]) + (", ..." if len(self.modules) > 6 else "")
            parts.append(f"reloaded {names}")
        if self.removed:
            parts.append(f"dropped {', '.join(self.removed)}")
        if not parts:
            parts.append("rebuilt the route table")
        return f"{'; '.join(parts)} in {ms}"


class Reloader:
    """Applies file changes to the running app, keeping the last good code on failure."""

    def __init__(
        self,
        router: Any,
        build: Callable[[], Any],
        *,
        root: Path,
        app_dir: Path,
        is_project_file: Callable[[Path], bool],
    ) -> None:
        self.router = router  # anything with a `table` attribute (a NovaRouter)
        self.build = build  # returns a new table or raises
        self.root = root.resolve()
        self.app_dir = app_dir.resolve()
        self.is_project_file = is_project_file
        self.graph = ModuleGraph(self.root, is_project_file)
        # Files changed since the last good reload: retried with the next change.
        self._pending: set[Path] = set()

    @property
    def broken(self) -> bool:
        return bool(self._pending)

    def is_code(self, paths: Iterable[Path]) -> bool:
        """True if a path is a loaded project module or a Python file of the app."""
        loaded = {module_path(m) for m in self.graph.project_modules().values()}
        return any(self._is_app_py(p) or p.resolve() in loaded for p in paths)

    def apply(self, paths: Iterable[Path]) -> Outcome:
        """Reload for changed (or deleted) `paths`; see the module docstring."""
        started = time.perf_counter()
        self._pending.update(p.resolve() for p in paths if p.suffix == ".py")
        importlib.invalidate_caches()  # new files must be importable
        modules = self.graph.project_modules()
        by_path = {module_path(m): name for name, m in modules.items()}
        changed = {by_path[p] for p in self._pending if p in by_path and p.exists()}
        removed = {by_path[p] for p in self._pending if p in by_path and not p.exists()}
        if not (changed or removed or any(self._is_app_py(p) for p in self._pending)):
            self._pending.clear()
            return Outcome("noop")

        edges = self.graph.imports(modules)
        names = changed | self.graph.dependents(changed | removed, edges)
        names -= removed
        ordered = self.graph.order(names, edges)
        try:
            codes = {name: _compile(modules[name]) for name in ordered}
        except SyntaxError as exc:
            return self._failed(exc, started)
        except OSError as exc:  # deleted between the scan and the read
            return self._failed(exc, started)

        before = set(sys.modules)
        saved = {name: dict(vars(modules[name])) for name in ordered}
        dropped = {name: modules[name] for name in removed}
        try:
            for name in sorted(removed):
                _drop(name, modules[name])
            for name in ordered:
                _fresh_namespace(modules[name])
                exec(codes[name], vars(modules[name]))
            table = self.build()
        except (Exception, SystemExit) as exc:
            self._rollback(saved, modules, dropped, before)
            return self._failed(exc, started)
        self.router.table = table
        for name in ordered:
            _carry_over_classes(saved[name], vars(modules[name]), name)
        self._pending.clear()
        return Outcome(
            "ok",
            modules=ordered,
            removed=sorted(removed),
            seconds=time.perf_counter() - started,
        )

    # -- helpers --------------------------------------------------------
    def _is_app_py(self, path: Path) -> bool:
        return path.suffix == ".py" and path.resolve().is_relative_to(self.app_dir)

    def _rollback(
        self,
        saved: dict[str, dict[str, Any]],
        modules: dict[str, ModuleType],
        dropped: dict[str, ModuleType],
        before: set[str],
    ) -> None:
        for name, namespace in saved.items():
            current = vars(modules[name])
            current.clear()
            current.update(namespace)
        for name in set(sys.modules) - before:
            module = sys.modules.get(name)
            path = module_path(module) if module is not None else None
            if path is not None and self.is_project_file(path):
                _drop(name, module)  # first imported by the failed attempt
        for name, module in dropped.items():
            sys.modules[name] = module
            parent, _, leaf = name.rpartition(".")
            if parent in sys.modules:
                setattr(sys.modules[parent], leaf, module)

    def _failed(self, exc: BaseException, started: float) -> Outcome:
        router_file = self.app_dir / "router.py"
        line = _entry_line(router_file, str(exc))
        if line is None:
            routes = getattr(sys.modules.get(f"{self.app_dir.name}.router"), "routes", None)
            code = getattr(routes, "__code__", None)
            line = code.co_firstlineno if code is not None else None
        problem = problem_from_exception(
            exc,
            self.root,
            is_project_file=self.is_project_file,
            fallback=(router_file, line) if router_file.exists() else None,
        )
        return Outcome("failed", problem=problem, seconds=time.perf_counter() - started)


# "group 0, route 3 ('/users/:id', ...): ..." names the entry by its path.
_ENTRY = re.compile(r"route \d+ \((?P<path>'[^']*'|\"[^\"]*\"|\d+),")


def _entry_line(router: Path, message: str) -> int | None:
    """The line of router.py that holds the route a RouteTableError names, if found."""
    found = _ENTRY.search(message)
    if found is None:
        return None
    literal = found["path"]
    candidates = {literal, literal.replace("'", '"')} if not literal.isdigit() else {literal}
    try:
        lines = router.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for number, text in enumerate(lines, 1):
        if any(c in text for c in candidates):
            return number
    return None


def _compile(module: ModuleType) -> CodeType:
    path = module_path(module)
    assert path is not None  # project modules have a .py file
    source = path.read_bytes()
    linecache.checkcache(str(path))  # tracebacks show the new lines
    return compile(source, str(path), "exec", dont_inherit=True)


# What the import system puts in a module's namespace, as opposed to its code.
_IMPORT_KEYS = frozenset(
    {"__name__", "__package__", "__loader__", "__spec__", "__path__", "__file__", "__cached__"}
)


def _fresh_namespace(module: ModuleType) -> None:
    """Empty `module`'s namespace, in place, down to what a first import starts with.

    Executed over the old names, code that no longer defines a function (a
    file saved empty, a function deleted) would leave the old one there, and
    the route table would be rebuilt with it: "reloaded", and the old code
    still served.  The import system's keys stay, and so do the package's
    loaded submodules, which it set as attributes.
    """
    namespace = vars(module)
    name = module.__name__
    kept = {
        key: value
        for key, value in namespace.items()
        if key in _IMPORT_KEYS or sys.modules.get(f"{name}.{key}") is value
    }
    namespace.clear()
    namespace.update(kept)
    namespace["__doc__"] = None  # until the code's docstring, if any, sets it


_CLASS_KEYS_KEPT = {"__dict__", "__weakref__", "__module__", "__qualname__"}


def _carry_over_classes(old: dict[str, Any], new: dict[str, Any], module: str) -> None:
    """Give each class of the old code the methods of its new version.

    Re-executing a module binds its class names to new class objects, but
    instances made before (a class-based WebSocket handler: one instance per
    open connection) keep the old class.  Copying the new methods onto the old
    class object makes their next call run the new code, as for a module.
    """
    for key, before in old.items():
        after = new.get(key)
        if not (isinstance(before, type) and isinstance(after, type)) or before is after:
            continue
        if before.__module__ != module or before.__qualname__ != after.__qualname__:
            continue
        for attr, value in vars(after).items():
            if attr in _CLASS_KEYS_KEPT:
                continue
            if isinstance(value, FunctionType):
                value = _bound_to(value, before, after)
            elif isinstance(value, classmethod | staticmethod):
                value = type(value)(_bound_to(value.__func__, before, after))
            elif not isinstance(value, property):
                continue
            try:
                setattr(before, attr, value)
            except (AttributeError, TypeError):
                continue


def _bound_to(fn: Any, before: type, after: type) -> Any:
    """`fn` with its zero-argument `super()` cell pointing at the old class."""
    if not isinstance(fn, FunctionType) or fn.__closure__ is None:
        return fn
    names = fn.__code__.co_freevars
    if "__class__" not in names:
        return fn
    cells = tuple(
        CellType(before) if name == "__class__" and cell.cell_contents is after else cell
        for name, cell in zip(names, fn.__closure__, strict=True)
    )
    copy = FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, cells)
    copy.__kwdefaults__ = fn.__kwdefaults__
    copy.__qualname__ = fn.__qualname__
    copy.__doc__ = fn.__doc__
    copy.__dict__.update(fn.__dict__)
    return copy


def _drop(name: str, module: ModuleType | None) -> None:
    sys.modules.pop(name, None)
    parent, _, leaf = name.rpartition(".")
    owner = sys.modules.get(parent) if parent else None
    if owner is not None and getattr(owner, leaf, None) is module:
        delattr(owner, leaf)
