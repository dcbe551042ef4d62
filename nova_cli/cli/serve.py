"""`nova serve` (development, hot reload) and `nova run` (production)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from nova_cli.cli.output import CliError, echo, style

HostOpt = Annotated[
    str | None, typer.Option("--host", help="Interface to bind (default 127.0.0.1).")
]
PortOpt = Annotated[int | None, typer.Option("--port", "-p", help="Port (default 8080).")]
EnvOpt = Annotated[
    str | None, typer.Option("--environment", "-e", help="Passed to routes(environment).")
]
DirOpt = Annotated[
    Path | None,
    typer.Option("--directory", "-C", help="Project directory (default: found from here)."),
]


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("run")(run)


class ReloadMode(StrEnum):
    auto = "auto"
    restart = "restart"


def serve(
    host: HostOpt = None,
    port: PortOpt = None,
    environment: EnvOpt = None,
    directory: DirOpt = None,
    reload: Annotated[
        bool,
        typer.Option(
            "--reload/--no-reload",
            help="Reload changed code in place (--no-reload: plain uvicorn, nothing watched).",
        ),
    ] = True,
    live_reload: Annotated[
        bool,
        typer.Option(
            "--live-reload/--no-live-reload",
            help="Reload open browser pages after a change (a script added to HTML pages).",
        ),
    ] = True,
    reload_mode: Annotated[
        ReloadMode,
        typer.Option(
            "--reload-mode",
            help="auto: reload Python modules in place, restart the worker for pyproject.toml, "
            ".env and dependency changes; restart: a new worker for every code change.",
        ),
    ] = ReloadMode.auto,
) -> None:
    """Serve the app for development, reloading it when its files change.

    Open WebSockets survive a reload: their next callback runs the new code with
    the state they already had.  See docs/dev-server.md.
    """
    from nova_cli.config import load_config

    config = load_config(
        directory, host=host, port=port, environment=environment, default_environment="dev"
    )
    if not reload:
        _run_uvicorn(config, workers=1)
        return
    from nova_cli.devserver import run_dev_server
    from nova_cli.devserver.supervisor import ListenError

    # Only the socket is "cannot listen"; any other error is reported as itself.
    try:
        run_dev_server(
            config,
            live_reload=live_reload,
            reload_mode=reload_mode.value,
            overrides={"host": host, "port": port, "environment": environment},
        )
    except ListenError as exc:
        raise CliError(str(exc)) from None


def run(
    host: HostOpt = None,
    port: PortOpt = None,
    environment: EnvOpt = None,
    directory: DirOpt = None,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Worker processes.")] = 1,
) -> None:
    """Run the app in production: no reload, no live reload, optional workers."""
    from nova_cli.config import load_config

    config = load_config(
        directory, host=host, port=port, environment=environment, default_environment="prod"
    )
    _run_uvicorn(config, workers=workers)


def _run_uvicorn(config: Any, *, workers: int) -> None:
    from nova_cli.runtime.server import serve as serve_app

    serve_app(config, workers, on_ready=lambda: _banner(config, workers))


def _banner(config: Any, workers: int) -> None:
    url = f"http://{config.host}:{config.port}"
    extra = f", {workers} workers" if workers > 1 else ""
    echo(
        f"nova: {config.app or config.root.name} ({config.environment}{extra}) "
        f"on {style(url, 'cyan')}"
    )
