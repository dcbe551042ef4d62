"""The chapter's browser snippets, run in headless Debian chromium against a real server."""

from __future__ import annotations

import functools
import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.support.servers import ASSETS, Server, uvicorn_app

# The chapter's snippet, verbatim but for the port (the server takes a free one).
ECHO_SNIPPET = """
let ws = new WebSocket("ws://localhost:PORT/ws");
ws.onmessage = (e) => console.log(e.data);
ws.onopen = () => ws.send("Hello Nova!");
"""


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with uvicorn_app(ASSETS / "chat") as server:
        yield server


def console_of(page: Page) -> list[str]:
    lines: list[str] = []
    page.on("console", lambda msg: lines.append(msg.text))
    return lines


def wait_for(lines: list[str], text: str, page: Page, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in lines:
        assert time.monotonic() < deadline, f"{text!r} never logged; console: {lines}"
        page.wait_for_timeout(50)


@pytest.mark.browser
def test_the_chapters_echo_snippet_logs_echo_hello_nova(browser: Browser, server: Server) -> None:
    page = browser.new_page()
    lines = console_of(page)
    # The app's own page, as the chapter opens it: the socket's origin is the page's.
    page.goto(f"http://localhost:{server.port}/members")
    # As typed into the console: a top-level script in the page.
    page.add_script_tag(content=ECHO_SNIPPET.replace("PORT", str(server.port)))
    wait_for(lines, "Echo: Hello Nova!", page)
    page.close()


@pytest.mark.browser
def test_two_pages_on_the_chat_see_each_others_messages(browser: Browser, server: Server) -> None:
    pages = [browser.new_page(), browser.new_page()]
    logs = [console_of(p) for p in pages]
    for page in pages:
        page.goto(f"http://localhost:{server.port}/members")
        page.evaluate(
            """port => new Promise(resolve => {
                window.ws = new WebSocket(`ws://localhost:${port}/chat`);
                ws.onmessage = (e) => console.log(e.data);
                ws.onopen = () => resolve();
            })""",
            server.port,
        )
    pages[0].evaluate("ws.send('hello from page one')")
    pages[1].evaluate("ws.send('hello from page two')")
    for page, lines in zip(pages, logs, strict=True):
        wait_for(lines, "hello from page one", page)
        wait_for(lines, "hello from page two", page)
        page.close()


@pytest.mark.browser
def test_a_page_of_another_site_cannot_open_the_apps_socket(
    browser: Browser, server: Server, tmp_path: Path
) -> None:
    """Cross-site WebSocket hijacking: the browser sends the evil page's origin; 403."""
    (tmp_path / "index.html").write_text("<!doctype html><title>evil</title>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as evil:
        threading.Thread(target=evil.serve_forever, daemon=True).start()
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{evil.server_address[1]}/")
        outcome = page.evaluate(
            """port => new Promise(resolve => {
                const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`);
                ws.onopen = () => resolve("open");
                ws.onclose = () => resolve("refused");
            })""",
            server.port,
        )
        page.close()
        evil.shutdown()
    assert outcome == "refused"
    assert "refused a WebSocket upgrade of /chat from origin" in server.output()
