"""`nova audit`: routes that change data without security, and routes open to any method.

rebar3_nova's `audit` semantics: a WARN for each POST/PUT/PATCH/DELETE route
whose group has no security, and for each route that accepts any method; an
INFO for a GET route without security (often fine: a public page).  Added
here: an INFO for a WebSocket route without security, since a browser sends
its cookies with the upgrade.  `--strict` exits 1 when there is a warning, so
CI can hold the line.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from nova_cli.cli.output import echo, style
from nova_cli.cli.table_options import Directory, Environment, load_table
from nova_cli.cli.usage import Command

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def register(app: typer.Typer) -> None:
    app.command("audit", cls=Command, short_help="Warn about routes without security.")(audit)


def audit(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit with status 1 when there is a warning.")
    ] = False,
    environment: Environment = None,
    directory: Directory = None,
) -> None:
    """Check the route table: unsafe methods without security, any-method routes."""
    table = load_table(directory, environment)
    findings = [f for route in table.routes for f in findings_for(route)]
    warnings = sum(1 for f in findings if f["level"] == "warn")
    if as_json:
        echo(json.dumps(findings, indent=2))
    else:
        _print(findings, warnings)
    if strict and warnings:
        raise typer.Exit(1)


def findings_for(route: Any) -> list[dict[str, Any]]:
    """What `nova audit` says about one compiled route (nothing for static and status routes)."""
    from nova_cli.runtime.route_compiler import describe

    if route.protocol not in ("http", "ws"):
        return []
    secured = route.group.security is not None
    where = {"path": route.path, "target": describe(route.target)}

    def finding(level: str, methods: list[str], message: str) -> dict[str, Any]:
        return {"level": level, "methods": methods, **where, "message": message}

    if route.protocol == "ws":
        return [] if secured else [finding("info", ["GET"], "WebSocket route without security")]
    if not route.methods:
        return [finding("warn", ["*"], "accepts any method; list the methods it serves")]
    out = []
    unsafe = sorted(m for m in route.methods if m in UNSAFE)
    if unsafe and not secured:
        out.append(finding("warn", unsafe, "changes data without security"))
    if "GET" in route.methods and not secured:
        out.append(finding("info", ["GET"], "GET route without security"))
    return out


def _print(findings: list[dict[str, Any]], warnings: int) -> None:
    labels = {"warn": style("WARN", "yellow"), "info": style("INFO", "cyan")}
    for f in findings:
        methods = ",".join(f["methods"])
        echo(f"{labels[f['level']]}  {methods} {f['path']} ({f['target']}): {f['message']}")
    notes = len(findings) - warnings
    echo(f"{warnings} warning{'s' * (warnings != 1)}, {notes} note{'s' * (notes != 1)}")
