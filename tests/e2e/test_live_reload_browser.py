"""Browser live reload under `nova serve`, in headless Debian chromium (never a downloaded one).

An open page reloads itself after a template, code or configuration change,
swaps its stylesheet without reloading for a CSS change, and shows an overlay
while the new code does not load.  A page "reloaded" when a marker set on its
`window` is gone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.test_dev_server import dev_server, edit
from tests.support.servers import Server

TIMEOUT_MS = 30_000

pytestmark = pytest.mark.browser


@pytest.fixture
def served(demo_root: Path) -> Iterator[Server]:
    with dev_server(demo_root) as server:
        yield server


def open_page(browser: Browser, server: Server) -> Page:
    page = browser.new_page()
    page.goto(server.url + "/")
    assert page.text_content("h1") == "Hello world!"
    # The live-reload stream is open once the server has said hello.
    page.wait_for_function("() => window.__novaLiveReload === true", timeout=TIMEOUT_MS)
    page.wait_for_timeout(300)
    page.evaluate("() => { window.__marker = 'still here'; }")
    return page


def marker(page: Page) -> object:
    return page.evaluate("() => window.__marker")


def wait_for_h1(page: Page, text: str) -> None:
    page.wait_for_function(
        "text => document.querySelector('h1') && document.querySelector('h1').textContent === text",
        arg=text,
        timeout=TIMEOUT_MS,
    )


def test_an_open_page_reloads_itself_after_a_template_edit(
    browser: Browser, served: Server, demo_root: Path
) -> None:
    page = open_page(browser, served)
    edit(
        demo_root / "demo" / "views" / "main.html",
        "<h1>{{ message }}</h1>",
        "<h1>Edited: {{ message }}</h1>",
    )
    wait_for_h1(page, "Edited: Hello world!")
    assert marker(page) is None  # a reload, not a patch
    page.close()


def test_a_css_edit_swaps_the_stylesheet_without_a_reload(
    browser: Browser, served: Server, demo_root: Path
) -> None:
    page = open_page(browser, served)
    color = "() => getComputedStyle(document.body).color"
    assert page.evaluate(color) == "rgb(255, 0, 0)"
    (demo_root / "demo" / "static" / "css" / "app.css").write_text("body { color: blue; }\n")
    page.wait_for_function(f"() => ({color})() === 'rgb(0, 0, 255)'", timeout=TIMEOUT_MS)
    assert marker(page) == "still here"
    page.close()


def test_a_code_edit_reloads_the_page_and_broken_code_shows_an_overlay(
    browser: Browser, served: Server, demo_root: Path
) -> None:
    page = open_page(browser, served)
    controller = demo_root / "demo" / "controllers" / "main_controller.py"
    edit(controller, '"Hello world!"', '"Hello reload!"')
    wait_for_h1(page, "Hello reload!")
    assert marker(page) is None

    page.evaluate("() => { window.__marker = 'before the break'; }")
    edit(controller, "def show(req):", "def show(req:")
    overlay = page.wait_for_selector("#nova-error-overlay", timeout=TIMEOUT_MS)
    assert overlay is not None
    text = overlay.text_content() or ""
    assert "SyntaxError" in text and "main_controller.py" in text
    assert marker(page) == "before the break"  # shown in place

    edit(controller, "def show(req:", "def show(req):")
    edit(controller, '"Hello reload!"', '"Hello again!"')
    wait_for_h1(page, "Hello again!")
    assert page.query_selector("#nova-error-overlay") is None
    page.close()


def test_a_worker_restart_reloads_open_pages(
    browser: Browser, served: Server, demo_root: Path
) -> None:
    page = open_page(browser, served)
    pids = served.output().count("serving (started in")
    with (demo_root / "pyproject.toml").open("a") as f:
        f.write("\n# restart\n")
    # Nothing on the page changed: only the new worker's hello can reload it.
    page.wait_for_function("() => window.__marker === undefined", timeout=TIMEOUT_MS)
    assert served.output().count("serving (started in") == pids + 1
    wait_for_h1(page, "Hello world!")
    page.close()
