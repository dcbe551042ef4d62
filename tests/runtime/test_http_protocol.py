"""Which limits NovaHttpProtocol applies when uvicorn builds it with no explicit ones."""

from __future__ import annotations

from types import SimpleNamespace

from nova_cli.runtime.http_protocol import HeadLimits, limits_of_app
from tests.runtime.conftest import Apps


def test_the_limits_come_from_the_nova_app_inside_uvicorns_wrappers(apps: Apps) -> None:
    root = apps.write({"router.py": "def routes(environment):\n    return []\n"})
    app = apps.app(root, max_header_count=7, max_header_bytes=900, header_timeout=2.5)
    wrapped = SimpleNamespace(app=SimpleNamespace(app=app))  # e.g. ProxyHeadersMiddleware
    assert limits_of_app(wrapped) == HeadLimits(7, 900, 2.5)


def test_another_app_gets_the_default_limits() -> None:
    async def app(scope: object, receive: object, send: object) -> None: ...

    assert limits_of_app(app) == HeadLimits(100, 64 * 1024, 10.0)
