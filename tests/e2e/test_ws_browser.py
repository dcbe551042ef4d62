"""The chapter's browser snippets, run in headless Debian chromium against a real server."""

from __future__ import annotations

import time
from collections.abc import Iterator

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
    page.goto(server.url + "/members")
    # As typed into the console: a top-level script in the page.
    page.add_script_tag(content=ECHO_SNIPPET.replace("PORT", str(server.port)))
    wait_for(lines, "Echo: Hello Nova!", page)
    page.close()


@pytest.mark.browser
def test_two_pages_on_the_chat_see_each_others_messages(browser: Browser, server: Server) -> None:
    pages = [browser.new_page(), browser.new_page()]
    logs = [console_of(p) for p in pages]
    for page in pages:
        page.goto(server.url + "/members")
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
