"""Sub-apps under a prefix: Nova's `nova_apps`, from `[tool.nova] apps`.

Each entry names another app package with its own `router.py`.  Its routes
are compiled into the main app's table, each group's prefix after the
entry's `prefix`, and the entry's `security` (Nova's `secure`) in place of
every group's own when it is given.  Static paths and `json_schema` files
are relative to the sub-app's package, and its controllers' `("ok", vars)`
render from its own `views/`.  The routes of all apps are checked together,
so a sub-app route that clashes with another app's is a duplicate.

Sub-apps have no `pyproject.toml` of their own here, so their own `apps`
(Nova's nested `nova_apps`) are never read: list every app in the main
project's setting.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nova_cli.core.config import NovaConfig
from nova_cli.core.discover import import_app, import_router
from nova_cli.core.errors import AppNotFound, ConfigError
from nova_cli.runtime.plugins import load_plugins
from nova_cli.runtime.route_compiler import Mount, Route, compile_routes
from nova_cli.runtime.views import Views


@dataclass(frozen=True)
class SubApp:
    """An app mounted in the main app's table."""

    name: str
    directory: Path  # its package directory: static paths, schemas and views/ are below it
    prefix: str
    views: Views | None


def mount_all(
    config: NovaConfig, main: str, routes: list[Route]
) -> tuple[dict[str, SubApp], list[Route]]:
    """The sub-apps of `config.apps` and every route: `routes` (the main app's), then theirs."""
    subapps: dict[str, SubApp] = {}
    every = list(routes)
    for number, entry in enumerate(config.apps):
        where = f"[tool.nova] apps entry {number} ({entry['app']!r})"
        subapp, added = _mount(entry, where, config, main, every)
        subapps[subapp.name] = subapp
        every += added
    return subapps, every


def _mount(
    entry: dict[str, Any], where: str, config: NovaConfig, main: str, existing: list[Route]
) -> tuple[SubApp, list[Route]]:
    """Import one entry's package and compile its routes against `existing`."""
    name = entry["app"]
    if name == main:
        raise ConfigError(f"{where}: {name!r} is the main app; list only the other apps")
    try:
        package = import_app(name, config.root)
    except AppNotFound:
        raise ConfigError(f"{where}: no package {name!r} in {config.root} or installed") from None
    if package.__file__ is None:
        raise ConfigError(f"{where}: {name!r} is a namespace package; add an __init__.py")
    try:
        router = import_router(package)
    except AppNotFound as exc:
        raise ConfigError(f"{where}: {exc}") from None
    directory = Path(package.__file__).parent
    mount = Mount(name, entry["prefix"], _security(entry["security"], where))
    routes = compile_routes(
        router.routes(config.environment),
        app_dir=directory,
        plugin_loader=load_plugins,
        existing=existing,
        mount=mount,
    )
    views = directory / "views"
    subapp = SubApp(
        name=name,
        directory=directory,
        prefix=entry["prefix"],
        views=Views(views, auto_reload=config.dev) if views.is_dir() else None,
    )
    return subapp, routes


def _security(ref: str | bool | None, where: str) -> Any:
    """The entry's security: None (keep the groups'), False (open) or the callable it names."""
    if not isinstance(ref, str):
        return ref
    module_name, _, attribute = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name and not module_name.startswith(f"{exc.name}."):
            raise  # the module exists but something it imports is missing: a real bug
        raise ConfigError(f"{where}: security {ref!r}: no module {module_name!r}") from None
    found = getattr(module, attribute, None)
    if not callable(found):
        raise ConfigError(f"{where}: security {ref!r}: {module_name} has no callable {attribute}")
    return found
