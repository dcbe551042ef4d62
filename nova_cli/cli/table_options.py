"""What the commands that read the route table share: their options and the table itself.

`nova routes`, `audit`, `middleware` and `openapi` compile the table `nova
serve` serves: `routes("dev")`, unless `-e`, `NOVA_ENVIRONMENT` or
`[tool.nova] environment` names another.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from nova_cli.runtime.route_table import RouteTable

Environment = Annotated[
    str | None, typer.Option("--environment", "-e", help="Passed to routes(environment).")
]
Directory = Annotated[Path | None, typer.Option("--directory", "-C", help="Project directory.")]


def load_table(directory: Path | None, environment: str | None) -> RouteTable:
    """The app's compiled route table, as `nova serve` would serve it."""
    from nova_cli.core.config import load_config
    from nova_cli.runtime.route_table import build_table

    config = load_config(directory, environment=environment, default_environment="dev")
    return build_table(config)
