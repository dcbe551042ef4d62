"""The dev log of `nova serve` on a new app: one access line per request the developer makes.

A browser's first load of a new app's home page is clean: the page, its
stylesheet and its favicon answer 200, and the live-reload stream (the
page's own connection to the dev server) writes no line at all.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from nova_cli.scaffold import apply, plan_app
from tests.e2e.test_dev_server import dev_server, wait_until
from tests.support.servers import Server

pytestmark = pytest.mark.browser
TIMEOUT_MS = 30_000


@pytest.fixture
def new_app(tmp_path: Path) -> Path:
    root = tmp_path / "myapp"
    apply(plan_app("myapp", root))
    return root


def access_lines(server: Server) -> list[str]:
    """uvicorn's access lines: `INFO:     127.0.0.1:PORT - "GET / HTTP/1.1" 200 OK`."""
    return [line for line in server.output().splitlines() if '- "' in line and " HTTP/1.1" in line]


def logged(server: Server, request: str) -> bool:
    return any(f'"{request} HTTP/1.1"' in line for line in access_lines(server))


def test_a_browsers_first_load_logs_its_requests_and_nothing_else(
    browser: Browser, new_app: Path
) -> None:
    with dev_server(new_app) as server:
        page = browser.new_page()
        page.goto(server.url + "/")
        page.wait_for_function("() => window.__novaLiveReload === true", timeout=TIMEOUT_MS)
        # The page's own live-reload stream, opened here too so that it surely was.
        with httpx.stream("GET", server.url + "/__nova/livereload", timeout=15) as stream:
            assert next(stream.iter_lines()) == "retry: 300"
        favicon = httpx.get(server.url + "/favicon.ico", timeout=15)
        assert favicon.status_code == 200
        assert favicon.content.startswith(b"\x00\x00\x01\x00")  # an ICO file
        httpx.get(server.url + "/heartbeat", timeout=15)
        wait_until(lambda: logged(server, "GET /heartbeat"), server)
        page.close()
        lines = access_lines(server)
    requests = [line.split('"')[1] for line in lines]
    assert not [line for line in lines if "/__nova/" in line], lines
    assert {"GET / HTTP/1.1", "GET /assets/app.css HTTP/1.1", "GET /favicon.ico HTTP/1.1"} <= set(
        requests
    )
    assert requests.count("GET / HTTP/1.1") == 1  # one line per request
    assert not [line for line in lines if not line.endswith(" 200 OK")], lines
