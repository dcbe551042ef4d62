"""Routes added while the app runs: Nova's `nova_router:add_routes(App, Routes)`.

    from nova_cli.router import add_routes

    add_routes(app, [{"prefix": "/plugins", "routes": [("/x", controller)]}])

The groups are compiled with every check of the router's table, against the
routes already there (a clash is a duplicate), and the new table replaces
the old one in one assignment, as the dev server's reload does: a request
sees the old table or the new one, never half of it.
"""

from __future__ import annotations

from typing import Any

from nova_cli.runtime.dispatch import NovaRouter
from nova_cli.runtime.route_table import RouteTable, extend


def add_routes(app: Any, groups: Any) -> RouteTable:
    """Add route groups to a running app (from `create_app`); returns the new table.

    Raises `RouteTableError` naming the bad group and entry, and then the
    app keeps its table.  Under `nova serve`, a reload rebuilds the table
    from router.py, without the routes added here.
    """
    router = _router(app)
    table = extend(router.table, groups)
    router.table = table
    return table


def _router(app: Any) -> NovaRouter:
    router = app if isinstance(app, NovaRouter) else getattr(app, "router", None)
    if not isinstance(router, NovaRouter):
        raise TypeError(f"add_routes needs an app made by create_app, got {app!r:.60}")
    return router
