"""`nova new NAME`: a runnable, tested app from the `app` template."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nova_cli import DISTRIBUTION
from nova_cli.cli.output import CliError
from nova_cli.cli.usage import Command


def register(app: typer.Typer) -> None:
    short = "Create a new app: router, home page and passing tests."
    app.command("new", cls=Command, short_help=short)(new)


def new(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="The app's package name, e.g. myapp.")
    ],
    directory: Annotated[
        Path | None,
        typer.Option("--directory", "-C", help="Create the app here (default: ./NAME)."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port", "-p", help="The app's port, for nova serve and nova run (default 8080)."
        ),
    ] = None,
    settings: Annotated[
        list[str] | None,
        typer.Option(
            "--set", metavar="KEY=VALUE", help="Set a template value, e.g. description=Shop."
        ),
    ] = None,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Ask nothing (always the case; kept for habit).")
    ] = False,
    docker: Annotated[
        bool,
        typer.Option(
            "--docker",
            help="Also write a Dockerfile and .dockerignore (and compose.yaml with --redis).",
        ),
    ] = False,
    redis: Annotated[
        bool,
        typer.Option(
            "--redis",
            help=f"Depend on {DISTRIBUTION}[redis], for pub/sub across workers; "
            "with --docker, compose.yaml runs Redis.",
        ),
    ] = False,
    ci: Annotated[
        bool,
        typer.Option("--ci", help="Also write a GitHub Actions workflow that runs the tests."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="Show what would be written; write nothing.")
    ] = False,
) -> None:
    """Create a new app: router, home page, /heartbeat, static files and passing tests.

    Refuses a target directory that exists and is not empty. Template values
    (description, port) are given with --set (or --port); nothing is asked.
    --docker, --redis and --ci add deployment files.
    """
    from nova_cli.cli.gen import run_plan
    from nova_cli.scaffold import plan_app

    target = directory if directory is not None else Path(name)
    values = parse_settings(settings or [])
    if port is not None:
        values["port"] = str(port)
    run_plan(
        lambda: plan_app(
            name,
            target.absolute(),
            values,
            docker=docker,
            redis=redis,
            ci=ci,
        ),
        dry_run=dry_run,
        done=f"Created {name} in {_shown(target)}. Next steps:",
    )


def parse_settings(items: list[str]) -> dict[str, str]:
    """`["port=9000", ...]` → `{"port": "9000"}`."""
    values: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--set expects KEY=VALUE, got {item!r}")
        values[key.strip()] = value
    return values


def _shown(path: Path) -> str:
    return str(path) if path.is_absolute() else f"./{path}"
