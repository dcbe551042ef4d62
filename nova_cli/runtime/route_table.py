"""Build the route table of an app: import it, call `routes(environment)`, compile.

The result, a `RouteTable`, is everything the dispatcher reads per request.
It is immutable; the dev server builds a new one after a code change and
swaps it in whole, so a request sees either the old table or the new one.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nova_cli.core.config import ConfigError, NovaConfig
from nova_cli.core.discover import guess_app_name, import_app, import_router
from nova_cli.runtime import hosts
from nova_cli.runtime.plugins import Plugin, load_plugins
from nova_cli.runtime.route_compiler import Route, RouteTableError, compile_routes, describe
from nova_cli.runtime.route_tree import RouteTree
from nova_cli.runtime.subapps import SubApp, mount_all
from nova_cli.runtime.validation import Validator, compile_schemas
from nova_cli.runtime.views import Views


@dataclass(frozen=True)
class RouteTable:
    """The compiled routes of one app, ready for lookups."""

    app_name: str
    app_dir: Path
    environment: str
    routes: list[Route]
    http: RouteTree
    ws: RouteTree
    status: dict[int, Route]
    plugins: list[Plugin]  # the global list; a group's own list replaces it
    views: Views | None
    validators: dict[Path, Validator]  # a route's json_schema file -> its compiled check
    http_hosts: dict[str, RouteTree]  # the routes of groups with a `host`, by host
    ws_hosts: dict[str, RouteTree]
    # id(controller) -> its module's fallback_controller, found when the table is
    # built: at request time the module may have been replaced in sys.modules
    # (a reload, another app with the same package name in this process).
    fallbacks: dict[int, Any]
    subapps: dict[str, SubApp]  # by package name, in `[tool.nova] apps` order

    def views_for(self, route: Route) -> Views | None:
        """The templates of the app whose router lists `route`."""
        app = route.group.app
        return self.views if app is None else self.subapps[app].views


def build_table(config: NovaConfig) -> RouteTable:
    """Import the configured app and compile its routes; raise on any bad entry."""
    name = config.app or guess_app_name(config.root)
    app = import_app(name, config.root)
    if app.__file__ is None:
        raise RouteTableError(f"app {name!r} is a namespace package; add an __init__.py")
    app_dir = Path(app.__file__).parent
    router = import_router(app)
    groups = router.routes(config.environment)
    routes = compile_routes(groups, app_dir=app_dir, plugin_loader=load_plugins)
    subapps, routes = mount_all(config, name, routes)
    try:
        plugins = load_plugins(config.plugins)
    except (ValueError, TypeError, ImportError) as exc:
        raise ConfigError(f"[tool.nova] plugins: {exc}") from None
    views_dir = app_dir / "views"
    table = RouteTable(
        app_name=name,
        app_dir=app_dir,
        environment=config.environment,
        routes=[],
        http=RouteTree([]),
        ws=RouteTree([]),
        status={},
        plugins=plugins,
        views=Views(views_dir, auto_reload=config.dev) if views_dir.is_dir() else None,
        validators={},
        http_hosts={},
        ws_hosts={},
        fallbacks={},
        subapps=subapps,
    )
    return with_routes(table, routes)


def extend(table: RouteTable, groups: Any) -> RouteTable:
    """A new table: `table`'s routes and those of `groups`, checked as `build_table` checks."""
    routes = compile_routes(
        groups, app_dir=table.app_dir, plugin_loader=load_plugins, existing=table.routes
    )
    return with_routes(table, [*table.routes, *routes])


def with_routes(table: RouteTable, routes: list[Route]) -> RouteTable:
    """`table` with `routes` in place of its own, their lookup trees and schemas built."""
    http = [r for r in routes if r.protocol in ("http", "static")]
    ws = [r for r in routes if r.protocol == "ws"]
    return replace(
        table,
        routes=routes,
        http=RouteTree([r for r in http if r.group.host is None]),
        ws=RouteTree([r for r in ws if r.group.host is None]),
        http_hosts=hosts.trees(http),
        ws_hosts=hosts.trees(ws),
        status={r.status_code: r for r in routes if r.status_code is not None},
        validators=compile_schemas(r.json_schema for r in routes if r.json_schema is not None),
        fallbacks=_fallbacks(routes),
    )


def fallback_of(controller: Any) -> Any:
    """The `fallback_controller` of the module that defines `controller`, if any."""
    module = sys.modules.get(getattr(controller, "__module__", "") or "")
    return getattr(module, "fallback_controller", None) if module is not None else None


def _fallbacks(routes: list[Route]) -> dict[int, Any]:
    """Each controller's fallback module, checked; RouteTableError names a bad one."""
    found: dict[int, Any] = {}
    for route in routes:
        if route.protocol not in ("http", "status"):
            continue
        fallback = fallback_of(route.target)
        if fallback is None:
            continue
        if not callable(getattr(fallback, "resolve", None)):
            raise RouteTableError(
                f"{route.group.label}, route {route.entry}: fallback_controller "
                f"{describe(fallback)} has no resolve(req, invalid_return) function"
            )
        found[id(route.target)] = fallback
    return found
