"""Fixtures of the end-to-end suite: headless chromium, for the browser tests here only,
and the WebSocket write paths.

Chromium is imported here rather than in tests/conftest.py, so that only this
suite loads Playwright.
"""

import pytest

from tests.support.browser import browser  # noqa: F401 - the chromium fixture
from tests.support.servers import WS_PATHS


@pytest.fixture(params=WS_PATHS)
def ws_path(request: pytest.FixtureRequest) -> str:
    """Each WebSocket test runs on both write paths (see `servers.ws_server`)."""
    return str(request.param)
