"""`nova routes`: the compiled route table."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from nova_cli.cli.output import echo
from nova_cli.cli.table_options import Directory, Environment, load_table
from nova_cli.cli.usage import Command


def register(app: typer.Typer) -> None:
    app.command("routes", cls=Command, short_help="Show the compiled route table.")(routes)


def routes(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
    environment: Environment = None,
    directory: Directory = None,
) -> None:
    """Show every route: method, host and app (if any), path, target, protocol, security."""
    table = load_table(directory, environment)
    rows = [route_row(r, table) for r in table.routes if r.protocol != "status"]
    if as_json:
        echo(json.dumps(rows, indent=2))
        return
    header = {
        "methods": "METHOD",
        **({"host": "HOST"} if any("host" in row for row in rows) else {}),
        **({"app": "APP"} if table.subapps else {}),
        "path": "PATH",
        "target": "TARGET",
        "protocol": "PROTOCOL",
        "security": "SECURITY",
    }
    lines = [header] + [
        {
            **row,
            "methods": ",".join(row["methods"]) or "*",
            "security": "yes" if row["security"] else "-",
            "host": row.get("host", "*"),
        }
        for row in rows
    ]
    widths = {key: max(len(str(line[key])) for line in lines) for key in header}
    for line in lines:
        echo("  ".join(str(line[k]).ljust(widths[k]) for k in header).rstrip())
    for route in table.routes:
        if route.protocol == "status":
            row = route_row(route, table)
            owner = f" (app {row['app']})" if table.subapps else ""
            echo(f"status {route.status_code}: {row['target']}{owner}")


def route_row(route: Any, table: Any) -> dict[str, Any]:
    """One route of `table` as `nova routes --json` prints it."""
    from nova_cli.runtime.route_compiler import describe

    app = route.group.app
    app_dir = table.app_dir if app is None else table.subapps[app].directory
    methods = set(route.methods)
    if "GET" in methods:
        methods.discard("HEAD")  # added for Starlette parity, not declared by the user
    if route.protocol == "static":
        target = (
            str(route.target.relative_to(app_dir))
            if route.target.is_relative_to(app_dir)
            else str(route.target)
        )
    else:
        target = describe(route.target)
    row = {
        "methods": sorted(methods),
        "path": route.path,
        "target": target,
        "protocol": route.protocol,
        "security": route.group.security is not None,
    }
    if route.group.host is not None:  # only a group with a `host` key has one
        row["host"] = route.group.host
    if table.subapps:  # which app's router lists the route, once there is more than one
        row["app"] = app or table.app_name
    return row
