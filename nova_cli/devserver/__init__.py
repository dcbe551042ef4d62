"""The development server behind `nova serve`."""

from __future__ import annotations

from typing import Any


def run_dev_server(config: Any) -> None:
    """Serve with reload.  Interim: uvicorn's process-restarting reloader."""
    import uvicorn

    from nova_cli.runtime.app import create_app

    create_app(config=config)  # fail fast, in one line, on a bad route table
    import os

    os.environ.update({"NOVA_ROOT": str(config.root), "NOVA_ENVIRONMENT": config.environment})
    if config.app:
        os.environ["NOVA_APP"] = config.app
    uvicorn.run(
        "nova_cli.runtime.app:from_environment",
        factory=True,
        host=config.host,
        port=config.port,
        reload=True,
        reload_dirs=[str(config.root)],
    )
