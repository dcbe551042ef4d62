"""`nova config`: the effective settings, each with where it comes from.

rebar3_nova's `config` marks the values left at their default; here every
value says its source: `default`, `pyproject.toml` or the environment
variable that set it.  By default the settings are those `nova run` (and any
ASGI server) sees; `--serve` shows `nova serve`'s (dev, access log on).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from nova_cli.cli.output import echo, style, warn
from nova_cli.cli.usage import Command


def register(app: typer.Typer) -> None:
    app.command("config", cls=Command, short_help="Show the effective settings.")(config)


def config(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
    serve: Annotated[
        bool, typer.Option("--serve", help="The settings `nova serve` runs with.")
    ] = False,
    directory: Annotated[
        Path | None, typer.Option("--directory", "-C", help="Project directory.")
    ] = None,
) -> None:
    """Show every setting, its value and its source (default, pyproject.toml, NOVA_*)."""
    from nova_cli.core.config import load_config, setting_sources

    loaded = load_config(
        directory, default_environment="dev" if serve else "prod", default_access_log=serve
    )
    sources = setting_sources(loaded.root)
    rows = {
        key: {"value": _plain(getattr(loaded, key)), "source": src} for key, src in sources.items()
    }
    app_name = _app_name(loaded)
    rows["app"] = {"value": app_name or loaded.app, "source": sources["app"]}
    if as_json:
        echo(json.dumps({"root": str(loaded.root), "settings": rows}, indent=2))
        return
    if app_name is None:
        warn(f'no app found in {loaded.root}: set [tool.nova] app = "<package>"')
    echo(f"project: {_shown(loaded.root)}")
    values = {key: json.dumps(row["value"]) for key, row in rows.items()}
    width = max(26, *(len(key) for key in rows))  # a new setting leaves the layout alone
    value_width = min(max(len(v) for v in values.values()), 40)
    for key, row in rows.items():
        source = row["source"]
        shown = style(f"({source})", "dim") if source == "default" else f"({source})"
        echo(f"{key.ljust(width)}  {values[key].ljust(value_width)}  {shown}")


def _shown(root: Path) -> str:
    """The project directory, relative to the working directory when inside it."""
    cwd = Path.cwd().resolve()
    return str(root.relative_to(cwd)) if root.is_relative_to(cwd) else str(root)


def _app_name(loaded: Any) -> str | None:
    """The app package: the configured one, or the one package with a router.py."""
    from nova_cli.core.discover import AppNotFound, guess_app_name

    if loaded.app:
        return str(loaded.app)
    try:
        return guess_app_name(loaded.root)
    except AppNotFound:
        return None


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return repr(value)
