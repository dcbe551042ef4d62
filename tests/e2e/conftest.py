"""Fixtures of the end-to-end suite: headless chromium, for the browser tests here only.

Imported here rather than in tests/conftest.py, so that only this suite
loads Playwright.
"""

from tests.support.browser import browser  # noqa: F401 - the chromium fixture
