"""`build_table`: import, call routes(environment), compile, check fallbacks."""

from __future__ import annotations

import pytest

from nova_cli.core.config import ConfigError, load_config
from nova_cli.runtime import RouteTableError
from nova_cli.runtime.route_table import build_table, fallback_of
from tests.runtime.conftest import Apps, purge


def test_build_table_of_the_demo(apps: Apps) -> None:
    from tests.support.servers import ASSETS

    purge("demo")
    apps.packages.add("demo")
    table = build_table(load_config(ASSETS / "demo", environment="qa"))
    assert (table.app_name, table.environment) == ("demo", "qa")
    assert table.app_dir == (ASSETS / "demo" / "demo").resolve()
    assert set(table.status) == {404}
    assert [p.name for p in table.plugins] == ["nova_cli.runtime.plugins.request"]
    assert table.views is not None
    found, _ = table.http.match("/users/new", "GET")
    assert found is not None and found.route.target.__name__ == "new"
    assert table.ws.match("/users/new", "GET") == (None, set())


def test_a_fallback_without_resolve_fails_at_start_up(apps: Apps) -> None:
    root = apps.write(
        {
            "router.py": """
                from nofix import controller
                def routes(environment):
                    return [{"routes": [("/", controller.index)]}]
            """,
            "controller.py": """
                from nofix import fallback
                fallback_controller = fallback
                def index(req):
                    return None
            """,
            "fallback.py": "def resolve_it(req, value):\n    return ('status', 500)\n",
        },
        package="nofix",
    )
    with pytest.raises(RouteTableError) as info:
        apps.app(root)
    assert str(info.value) == (
        "group 0, route ('/', nofix.controller.index): fallback_controller nofix.fallback "
        "has no resolve(req, invalid_return) function"
    )


def test_fallback_of() -> None:
    assert fallback_of(test_fallback_of) is None
    assert fallback_of(lambda: None) is None


def test_a_routes_function_that_raises_propagates(apps: Apps) -> None:
    root = apps.write(
        {"router.py": "def routes(environment):\n    raise KeyError(environment)\n"},
        package="raising_router",
    )
    with pytest.raises(KeyError, match="qa"):
        apps.app(root, environment="qa")


def test_a_namespace_package_is_refused(apps: Apps) -> None:
    root = apps.write({"router.py": "def routes(e):\n    return []\n"}, package="nspkg")
    (root / "nspkg" / "__init__.py").unlink()
    purge("nspkg")
    with pytest.raises(RouteTableError, match="namespace package; add an __init__.py"):
        apps.app(root)


def test_an_unknown_pubsub_url_stops_create_app(apps: Apps) -> None:
    root = apps.write(
        {"router.py": "def routes(environment):\n    return []\n"},
        tool_nova='pubsub = "nats://127.0.0.1:4222"\n',
    )
    with pytest.raises(ConfigError, match="no pub/sub backend for 'nats'"):
        apps.app(root)
