"""`nova serve` (development, hot reload) and `nova run` (production)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from nova_cli.cli.output import echo, style

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


def serve(
    host: HostOpt = None,
    port: PortOpt = None,
    environment: EnvOpt = None,
    directory: DirOpt = None,
    reload: Annotated[
        bool, typer.Option("--reload/--no-reload", help="Reload changed code in place.")
    ] = True,
) -> None:
    """Serve the app for development, reloading it when its files change."""
    from nova_cli.config import load_config

    config = load_config(directory, host=host, port=port, environment=environment)
    if reload:
        from nova_cli.devserver import run_dev_server

        run_dev_server(config)
        return
    _run_uvicorn(config, workers=1)


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

    _banner(config, workers)
    serve_app(config, workers)


def _banner(config: Any, workers: int) -> None:
    url = f"http://{config.host}:{config.port}"
    extra = f", {workers} workers" if workers > 1 else ""
    echo(
        f"nova: {config.app or config.root.name} ({config.environment}{extra}) "
        f"on {style(url, 'cyan')}"
    )
