"""The development server behind `nova serve`: hot reload that keeps connections alive.

- `supervisor`: the parent process; holds the listening socket, watches the
  project, starts and restarts worker processes (bounded, blue/green).
- `worker`: the app, served by uvicorn on the supervisor's socket.
- `reloader` / `modgraph`: reload changed modules in place, in dependency
  order, and swap the route table; keep the last good code on failure.
- `watcher`: what is watched and ignored, and what a change means.
- `livereload` / `overlay`: dev-only ASGI middleware (browser live reload,
  the error page while the new code does not load).

`nova run` uses none of this.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nova_cli.devserver.supervisor import DevOptions

__all__ = ["DevOptions", "run_dev_server"]


def run_dev_server(
    config: Any,
    *,
    live_reload: bool = True,
    reload_mode: str = "auto",
    overrides: dict[str, Any] | None = None,
    grace: float = 1.0,
) -> None:
    """Serve the app of `config` (a NovaConfig) with hot reload until interrupted.

    `overrides` are the settings given on the command line (host, port,
    environment): each new worker reads `[tool.nova]` again and applies them.
    """
    from nova_cli.core.discover import AppNotFound, guess_app_name
    from nova_cli.devserver.supervisor import Supervisor

    if reload_mode not in ("auto", "restart"):
        raise ValueError(f"reload_mode must be 'auto' or 'restart', got {reload_mode!r}")
    root = Path(config.root).resolve()
    name = config.app or guess_app_name(root)
    app_dir = root / name
    if not (app_dir / "__init__.py").is_file():
        raise AppNotFound(f"app package {name!r} not found in {root}")
    options = DevOptions(
        live_reload=live_reload,
        reload_mode=reload_mode,
        grace=grace,
        overrides={k: v for k, v in (overrides or {}).items() if v is not None},
    )
    Supervisor(config, options, app_dir).run()
