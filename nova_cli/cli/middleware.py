"""`nova middleware`: the plugin chain each route group runs.

rebar3_nova's `middleware`: the global plugins (with their `plugin_info()`
title and version), then each group's prefix,
security, plugins ("inherits global" when the group lists none, since a
group's list replaces the global one) and routes.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from nova_cli.cli.output import echo
from nova_cli.cli.table_options import Directory, Environment, load_table
from nova_cli.cli.usage import Command


def register(app: typer.Typer) -> None:
    app.command("middleware", cls=Command, short_help="Show the plugin chain of each group.")(
        middleware
    )


def middleware(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
    environment: Environment = None,
    directory: Directory = None,
) -> None:
    """Show the global plugins and, per group, its security, plugins and routes."""
    table = load_table(directory, environment)
    chain = describe_chain(table)
    if as_json:
        echo(json.dumps(chain, indent=2))
    else:
        _print(chain)


def describe_chain(table: Any) -> dict[str, Any]:
    """The global plugin list and every group that has routes, in router order."""
    from nova_cli.runtime.route_compiler import describe

    groups: dict[tuple[str | None, int], dict[str, Any]] = {}
    for route in table.routes:
        group = route.group
        key = (group.app, group.index)  # each sub-app numbers its groups from 0
        if key not in groups:
            groups[key] = {
                **({"app": group.app} if group.app is not None else {}),
                "index": group.index,
                "prefix": group.prefix or "/",
                "security": describe(group.security) if group.security else None,
                "plugins": None if group.plugins is None else _plugins(group.plugins),
                "routes": [],
            }
        groups[key]["routes"].append(_route_line(route))
    return {"global": _plugins(table.plugins), "groups": list(groups.values())}


def _route_line(route: Any) -> str:
    if route.status_code is not None:
        return f"status {route.status_code}"
    methods = sorted(route.methods - {"HEAD"} if "GET" in route.methods else route.methods)
    shown = ",".join(methods) or "*"
    return f"{shown} {route.path} ({route.protocol})"


def _plugins(plugins: list[Any]) -> list[dict[str, Any]]:
    return [_plugin(p) for p in plugins]


def _plugin(plugin: Any) -> dict[str, Any]:
    """A plugin entry, with its plugin_info's title and version when it has one."""
    from nova_cli.runtime.plugins import plugin_info

    shown = {"phase": plugin.phase, "plugin": plugin.name, "options": _plain(plugin.options)}
    info = plugin_info(plugin.module)  # checked when the table was built
    if info is not None:
        shown.update(title=info["title"], version=info["version"])
    return shown


def _plain(options: Any) -> Any:
    """Options as JSON can print them: anything else by its repr."""
    try:
        json.dumps(options)
        return dict(options)
    except (TypeError, ValueError):
        return {str(k): repr(v) for k, v in dict(options).items()}


def _print(chain: dict[str, Any]) -> None:
    echo("global plugins:")
    _print_plugins(chain["global"], indent="  ")
    for group in chain["groups"]:
        app = f"app {group['app']} " if "app" in group else ""
        echo(f"{app}group {group['index']}: prefix {group['prefix']}")
        echo(f"  security: {group['security'] or '-'}")
        if group["plugins"] is None:
            echo("  plugins: inherits global")
        else:
            echo("  plugins:")
            _print_plugins(group["plugins"], indent="    ")
        echo("  routes:")
        for route in group["routes"]:
            echo(f"    {route}")


def _print_plugins(plugins: list[dict[str, Any]], indent: str) -> None:
    if not plugins:
        echo(f"{indent}(none)")
    for p in plugins:
        options = f" {json.dumps(p['options'])}" if p["options"] else ""
        info = f" ({p['title']} {p['version']})" if "title" in p else ""
        echo(f"{indent}{p['phase']} {p['plugin']}{info}{options}")
