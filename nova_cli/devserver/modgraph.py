"""Which of the project's modules import which, so a change reloads in dependency order.

Edges come from two places: the `import` statements in each module's
source (parsed with `ast`, cached by mtime, so imports inside functions
count too) and the module's globals (a function or class bound from
another project module, however it got there).  Only modules whose file
is inside the project count: the framework, the standard library and
installed packages are never reloaded.
"""

from __future__ import annotations

import ast
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import ModuleType


def module_path(module: ModuleType) -> Path | None:
    """The source file of a module, if it was loaded from a `.py` file."""
    file = getattr(module, "__file__", None)
    if not isinstance(file, str) or not file.endswith(".py"):
        return None
    return Path(file)


class ModuleGraph:
    """The import graph of the project's loaded modules."""

    def __init__(self, root: Path, is_project_file: Callable[[Path], bool]) -> None:
        self.root = root.resolve()
        self._prefix = str(self.root) + os.sep
        self._is_project_file = is_project_file
        self._parsed: dict[Path, tuple[tuple[int, int], frozenset[str]]] = {}

    def project_modules(self) -> dict[str, ModuleType]:
        """name → module, for every loaded module whose file is part of the project."""
        found: dict[str, ModuleType] = {}
        for name, module in list(sys.modules.items()):
            if module is None:
                continue
            path = module_path(module)
            if path is None or not str(path).startswith(self._prefix):
                continue
            if self._is_project_file(path):
                found[name] = module
        return found

    def imports(self, modules: Mapping[str, ModuleType]) -> dict[str, set[str]]:
        """name → the project modules it imports (edges point at dependencies)."""
        edges: dict[str, set[str]] = {}
        for name, module in modules.items():
            deps = set(self._source_imports(name, module))
            deps.update(_global_imports(module))
            deps.discard(name)
            edges[name] = {d for d in deps if d in modules}
        return edges

    def dependents(self, names: Iterable[str], edges: Mapping[str, set[str]]) -> set[str]:
        """Every module that imports one of `names`, directly or through others."""
        users: dict[str, set[str]] = {}
        for name, deps in edges.items():
            for dep in deps:
                users.setdefault(dep, set()).add(name)
        found: set[str] = set()
        todo = list(names)
        while todo:
            for user in users.get(todo.pop(), ()):
                if user not in found:
                    found.add(user)
                    todo.append(user)
        return found

    def order(self, names: Iterable[str], edges: Mapping[str, set[str]]) -> list[str]:
        """`names` with dependencies first; modules in a cycle keep their import order."""
        wanted = set(names)
        rank = {name: i for i, name in enumerate(sys.modules)}
        waiting = {n: {d for d in edges.get(n, ()) if d in wanted} for n in wanted}
        ordered: list[str] = []
        while waiting:
            ready = sorted(
                (n for n, deps in waiting.items() if not deps),
                key=lambda n: rank.get(n, len(rank)),
            )
            if not ready:  # a cycle: take the module that was imported first
                ready = [min(waiting, key=lambda n: rank.get(n, len(rank)))]
            for name in ready:
                ordered.append(name)
                del waiting[name]
                for deps in waiting.values():
                    deps.discard(name)
        return ordered

    def _source_imports(self, name: str, module: ModuleType) -> frozenset[str]:
        path = module_path(module)
        if path is None:
            return frozenset()
        try:
            stat = path.stat()
        except OSError:
            return frozenset()
        key = (stat.st_mtime_ns, stat.st_size)
        cached = self._parsed.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        try:
            tree = ast.parse(path.read_bytes(), str(path))
        except (SyntaxError, ValueError, OSError):
            return frozenset()  # the reload itself reports it
        package = module.__package__ or (
            name if hasattr(module, "__path__") else name.rpartition(".")[0]
        )
        found = frozenset(imported_names(tree, package))
        self._parsed[path] = (key, found)
        return found


def imported_names(tree: ast.AST, package: str) -> set[str]:
    """Module names an AST imports: `import a.b` → a.b; `from a import b` → a, a.b."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module, node.level, package)
            if base is None:
                continue
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return found


def _resolve(module: str | None, level: int, package: str) -> str | None:
    if level == 0:
        return module
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return None
    base = ".".join(parts[: len(parts) - (level - 1)])
    if module:
        return f"{base}.{module}" if base else module
    return base or None


def _global_imports(module: ModuleType) -> set[str]:
    """Modules whose functions, classes or objects this module holds in its globals.

    Module objects themselves are left to the source scan: a package holds
    its submodules as attributes without depending on them.
    """
    found: set[str] = set()
    for value in list(vars(module).values()):
        if isinstance(value, ModuleType):
            continue
        try:
            owner = getattr(value, "__module__", None)
        except Exception:
            continue
        if isinstance(owner, str):
            found.add(owner)
    return found
