"""Where the server's protocols find the app's limits: its lifespan state."""

from __future__ import annotations

from starlette.testclient import TestClient

from nova_cli.core.config import NovaConfig, from_lifespan_state
from nova_cli.runtime.http_protocol import HeadLimits
from tests.runtime.conftest import Apps


def test_the_apps_lifespan_hands_its_settings_to_the_server(apps: Apps) -> None:
    root = apps.write({"router.py": "def routes(environment):\n    return []\n"})
    app = apps.app(root, max_header_count=7, max_header_bytes=900, header_timeout=2.5)
    with TestClient(app) as client:  # runs the lifespan, as uvicorn does
        config = from_lifespan_state(client.app_state)
    assert HeadLimits.of(config) == HeadLimits(7, 900, 2.5)


def test_without_a_nova_lifespan_the_defaults_apply() -> None:
    config = from_lifespan_state({})
    assert config == NovaConfig(root=config.root)
    assert HeadLimits.of(config) == HeadLimits(100, 64 * 1024, 10.0)
