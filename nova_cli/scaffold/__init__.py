"""Generating code: `nova new` and `nova gen`, with no server and no terminal.

- `plan`: render templates into a plan of steps, show it, apply it whole or
  not at all;
- `generators`: what each generator kind produces (files, routes, hints);
- `router_edit` / `import_edit`: add routes and imports to a user's
  router.py, keeping its formatting.

The CLI formats what these return; nothing here imports typer, Starlette or
the runtime.
"""

from nova_cli.scaffold.generators import (
    KINDS,
    Project,
    app_settings,
    find_project,
    plan_app,
    plan_generator,
)
from nova_cli.scaffold.plan import (
    Plan,
    Rendered,
    ScaffoldError,
    Step,
    apply,
    plan_files,
    render,
    show,
    templates_dir,
    validate_app_name,
    validate_name,
)

__all__ = [
    "KINDS",
    "Plan",
    "Project",
    "Rendered",
    "ScaffoldError",
    "Step",
    "app_settings",
    "apply",
    "find_project",
    "plan_app",
    "plan_files",
    "plan_generator",
    "render",
    "show",
    "templates_dir",
    "validate_app_name",
    "validate_name",
]
