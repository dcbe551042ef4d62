"""Whether an app keeps sessions, for `nova run --workers N` to refuse splitting them.

With sessions in memory, each worker has its own: a client whose requests
land on different workers would be logged in on one and not on the next.
An app uses sessions when a plugin list has the CSRF plugin, or when its
code imports `nova_cli.session` or reads a `.session` attribute
(`req.session`).  The code is read, not run; a false alarm (an ORM's
`db.session`) costs a flag, where a miss would cost random logouts.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

CSRF = "nova_cli.runtime.plugins.csrf"


def uses_sessions(table: Any) -> bool:
    """True when the app of this route table may read or write sessions."""
    if any(_is_csrf(plugin) for plugin in _plugins(table)):
        return True
    folders = [table.app_dir, *(subapp.directory for subapp in table.subapps.values())]
    files = sorted(path for folder in folders for path in Path(folder).rglob("*.py"))
    return any(_mentions_sessions(path) for path in files)


def _plugins(table: Any) -> list[Any]:
    found = list(table.plugins)
    for route in table.routes:
        found += route.group.plugins or []
    return found


def _is_csrf(plugin: Any) -> bool:
    return getattr(plugin.fn, "__module__", None) == CSRF


def _mentions_sessions(path: Path) -> bool:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (SyntaxError, UnicodeDecodeError, OSError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "session":
            return True
        if isinstance(node, ast.Import) and any(
            a.name.startswith("nova_cli.session") for a in node.names
        ):
            return True
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            if node.module.startswith("nova_cli.session"):
                return True
            if node.module == "nova_cli" and any(a.name == "session" for a in node.names):
                return True
    return False
