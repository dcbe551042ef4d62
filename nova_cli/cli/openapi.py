"""`nova openapi`: the app's OpenAPI 3.1 document, from its compiled route table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from nova_cli.cli.output import echo
from nova_cli.cli.table_options import Directory, Environment, load_table
from nova_cli.cli.usage import Command


def register(app: typer.Typer) -> None:
    app.command("openapi", cls=Command, short_help="Write the app's OpenAPI document.")(openapi)


def openapi(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.")
    ] = None,
    title: Annotated[
        str | None, typer.Option("--title", "-t", help="info.title (default: the app's name).")
    ] = None,
    api_version: Annotated[
        str, typer.Option("--api-version", "-v", help="info.version.")
    ] = "0.1.0",
    environment: Environment = None,
    directory: Directory = None,
) -> None:
    """OpenAPI 3.1 from the route table, with the app's schemas/*.json as components."""
    from nova_cli.runtime.openapi import document

    doc = document(load_table(directory, environment), title=title, version=api_version)
    text = json.dumps(doc, indent=2) + "\n"
    if output is None:
        echo(text.rstrip("\n"))
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    echo(f"wrote {output} ({len(doc['paths'])} paths)")
