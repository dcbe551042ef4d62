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

from tests.e2e.test_dev_server import HTML, dev_server, edit, get, wait_until
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


# The WCAG contrast ratio of an element's text against the first opaque
# background behind it (its own or an ancestor's; white at the top).
CONTRAST = """(element) => {
  const rgba = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const channel = (v) => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  };
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  let node = element, back = [255, 255, 255];
  while (node && node.nodeType === 1) {
    const c = rgba(getComputedStyle(node).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) { back = c; break; }
    node = node.parentElement;
  }
  const [hi, lo] = [luminance(rgba(getComputedStyle(element).color)), luminance(back)]
    .sort((a, b) => b - a);
  return (hi + 0.05) / (lo + 0.05);
}"""
READABLE = 4.5  # WCAG AA for body text


def wait_for_the_problem(page: Page) -> None:
    """Until the page has drawn an overlay, or handled the `broken` event without one."""
    page.wait_for_function(
        "() => document.getElementById('nova-error-overlay')"
        " || document.documentElement.dataset.novaLiveReload === 'broken'",
        timeout=TIMEOUT_MS,
    )


def main_controller(root: Path) -> Path:
    return root / "demo" / "controllers" / "main_controller.py"


def contrast(page: Page, selector: str) -> float:
    element = page.query_selector(selector)
    assert element is not None, selector
    return float(element.evaluate(CONTRAST))


def test_a_broken_modules_page_is_one_readable_block(
    browser: Browser, served: Server, demo_root: Path, tmp_path: Path
) -> None:
    edit(main_controller(demo_root), "def show(req):", "def show(req:")
    wait_until(lambda: get(served, "/", headers=HTML).status_code == 500, served)
    page = browser.new_page()
    assert page.goto(served.url + "/").status == 500
    wait_for_the_problem(page)
    # Kept in pytest's temporary directory, to look at when this test fails.
    page.screenshot(path=str(tmp_path / "broken.png"), full_page=True)
    assert page.query_selector("#nova-error-overlay") is None  # the page alone: no stacking
    assert "SyntaxError" in (page.text_content("h1") or "")
    assert len(page.query_selector_all("pre")) == 1  # one traceback
    for selector in ("h1", ".where", "pre", ".src td", ".note"):
        assert contrast(page, selector) >= READABLE, selector
    page.close()


def test_an_error_page_that_is_open_becomes_the_reload_problem(
    browser: Browser, served: Server, demo_root: Path
) -> None:
    page = browser.new_page()
    assert page.goto(served.url + "/boom").status == 500  # the dev 500 page of a crash
    page.wait_for_function("() => window.__novaLiveReload === true", timeout=TIMEOUT_MS)
    page.wait_for_timeout(300)  # the stream is open, as in open_page
    page.evaluate("() => { window.__marker = 'the crash page'; }")
    edit(
        demo_root / "demo" / "controllers" / "main_controller.py", "def show(req):", "def show(req:"
    )
    page.wait_for_function(
        "() => window.__marker === undefined || document.getElementById('nova-error-overlay')",
        timeout=TIMEOUT_MS,
    )
    assert page.query_selector("#nova-error-overlay") is None  # not drawn over the 500 page
    wait_for_the_problem(page)
    assert "Reload failed: SyntaxError" in (page.text_content("h1") or "")
    assert contrast(page, "pre") >= READABLE
    page.close()


def test_the_overlay_is_readable_whatever_the_pages_own_styles(
    browser: Browser, served: Server, demo_root: Path
) -> None:
    css = demo_root / "demo" / "static" / "css" / "app.css"
    css.write_text("body { color: red; }\npre, p, h2 { background: #fafafa; color: #333; }\n")
    page = open_page(browser, served)
    edit(
        demo_root / "demo" / "controllers" / "main_controller.py", "def show(req):", "def show(req:"
    )
    page.wait_for_selector("#nova-error-overlay", timeout=TIMEOUT_MS)
    for selector in ("#nova-error-overlay h2", "#nova-error-overlay pre", "#nova-error-overlay p"):
        assert contrast(page, selector) >= READABLE, selector
    back = page.eval_on_selector("#nova-error-overlay", "e => getComputedStyle(e).backgroundColor")
    assert back.startswith("rgb("), back  # opaque: the page does not show through
    page.close()
