"""`nova serve` (development, hot reload) and `nova run` (production)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from nova_cli.cli.output import CliError, echo, style
from nova_cli.cli.usage import Command

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


class LogLevel(StrEnum):
    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"
    trace = "trace"


class LogFormat(StrEnum):
    text = "text"
    json = "json"


LogLevelOpt = Annotated[
    LogLevel | None, typer.Option("--log-level", help="uvicorn's and Nova's (default info).")
]
ProxyHeadersOpt = Annotated[
    bool | None,
    typer.Option(
        "--proxy-headers/--no-proxy-headers",
        help="Take the client and scheme from X-Forwarded-For/-Proto of trusted proxies "
        "(default on).",
    ),
]
ForwardedOpt = Annotated[
    str | None,
    typer.Option(
        "--forwarded-allow-ips",
        help='The trusted proxies: "*" or addresses and networks, comma-separated '
        "(default 127.0.0.1,::1).",
    ),
]


def register(app: typer.Typer) -> None:
    app.command("serve", cls=Command, short_help="Serve the app for development, with hot reload.")(
        serve
    )
    app.command("run", cls=Command, short_help="Run the app in production (--workers N).")(run)


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
    log_level: LogLevelOpt = None,
    access_log: Annotated[
        bool | None,
        typer.Option("--access-log/--no-access-log", help="A line per request (default on)."),
    ] = None,
    proxy_headers: ProxyHeadersOpt = None,
    forwarded_allow_ips: ForwardedOpt = None,
) -> None:
    """Serve the app for development, reloading it when its files change.

    Open WebSockets survive a reload: their next callback runs the new code with
    the state they already had.  See docs/dev-server.md.
    """
    from nova_cli.core.config import load_config

    # The dev server writes for a terminal: text, whatever log_format says.
    overrides = {
        "host": host,
        "port": port,
        "environment": environment,
        "log_level": log_level,
        "log_format": "text",
        "access_log": access_log,
        "proxy_headers": proxy_headers,
        "forwarded_allow_ips": forwarded_allow_ips,
    }
    config = load_config(directory, default_environment="dev", default_access_log=True, **overrides)
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
            overrides=overrides,
        )
    except ListenError as exc:
        raise CliError(str(exc)) from None


def run(
    host: HostOpt = None,
    port: PortOpt = None,
    environment: EnvOpt = None,
    directory: DirOpt = None,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Worker processes.")] = 1,
    pubsub_per_worker: Annotated[
        bool,
        typer.Option(
            "--pubsub-per-worker",
            help="Run several workers of an app with WebSocket routes on the in-memory "
            "pub/sub backend: each worker has its own channels.",
        ),
    ] = False,
    sessions_per_worker: Annotated[
        bool,
        typer.Option(
            "--sessions-per-worker",
            help="Run several workers of an app that uses sessions with sessions in memory: "
            "each worker has its own.",
        ),
    ] = False,
    log_level: LogLevelOpt = None,
    log_format: Annotated[
        LogFormat | None,
        typer.Option("--log-format", help="text, or json: one object a line (default text)."),
    ] = None,
    access_log: Annotated[
        bool | None,
        typer.Option("--access-log/--no-access-log", help="A line per request (default off)."),
    ] = None,
    proxy_headers: ProxyHeadersOpt = None,
    forwarded_allow_ips: ForwardedOpt = None,
) -> None:
    """Run the app in production: no reload, no live reload, optional workers."""
    from nova_cli.core.config import load_config

    config = load_config(
        directory,
        default_environment="prod",
        host=host,
        port=port,
        environment=environment,
        log_level=log_level,
        log_format=log_format,
        access_log=access_log,
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips,
    )
    _run_uvicorn(
        config,
        workers=workers,
        pubsub_per_worker=pubsub_per_worker,
        sessions_per_worker=sessions_per_worker,
    )


def _run_uvicorn(
    config: Any, *, workers: int, pubsub_per_worker: bool = False, sessions_per_worker: bool = False
) -> None:
    from nova_cli.runtime.server import serve as serve_app

    serve_app(
        config,
        workers,
        on_ready=lambda: _banner(config, workers, pubsub_per_worker, sessions_per_worker),
        pubsub_per_worker=pubsub_per_worker,
        sessions_per_worker=sessions_per_worker,
    )


def _banner(config: Any, workers: int, pubsub_per_worker: bool, sessions_per_worker: bool) -> None:
    """What is served where, how many connections a worker can hold, and any caveat."""
    import logging
    import resource

    from nova_cli.runtime.descriptors import connections_allowed

    url = f"http://{config.host}:{config.port}"
    extra = f", {workers} workers" if workers > 1 else ""
    text = config.log_format == "text"
    lines = [
        f"{config.app or config.root.name} ({config.environment}{extra}) "
        f"on {style(url, 'cyan') if text else url}"
    ]
    limit, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    allowed = connections_allowed(limit)
    if allowed is None:
        lines.append("no open-file limit: connections are bounded by memory")
    else:
        lines.append(f"up to {allowed:,} connections per worker (open-file limit {limit:,})")
    if workers > 1 and pubsub_per_worker and config.pubsub is None:
        lines.append(
            "pub/sub in memory, per worker: clients on different workers do not share "
            "channels (--pubsub-per-worker)"
        )
    if workers > 1 and sessions_per_worker and config.sessions_in == "memory":
        lines.append(
            "sessions in memory, per worker: a client whose requests reach another worker "
            "has no session there (--sessions-per-worker)"
        )
    for line in lines:
        if text:
            echo(f"nova: {line}")
        else:  # one JSON object a line, like every other line
            logging.getLogger("nova_cli.server").info(line)
