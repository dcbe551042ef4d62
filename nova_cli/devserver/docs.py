"""nova's documentation, served by `nova serve` at `/__nova/docs/`.

The welcome page of a new app links here, so the guide is one click away
from the first page a new user sees, offline and for the version of nova
that serves it.  The pages are the Markdown files of `docs/` (shipped in the
package), rendered with markdown-it.
"""

from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

PREFIX = "/__nova/docs/"
_PAGE = re.compile(r"^[a-z0-9-]+\.md$")
_STYLE = (
    "body{font:16px/1.6 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1.5rem;"
    "color:#1d1d1f;background:#fff}a{color:#5a36e6}h1,h2,h3{line-height:1.25}"
    "code{font-family:ui-monospace,monospace;font-size:.9em;background:#f2f0fb;padding:0 .2em}"
    "pre{background:#f6f6f8;padding:1rem;overflow:auto}pre code{background:none;padding:0}"
    "table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.3rem .6rem}"
    "nav{font-size:.9rem;margin-bottom:1.5rem}"
)


def docs_dir() -> Path | None:
    """The docs: inside the installed package, else at the top of the repository."""
    import nova_cli

    package = Path(nova_cli.__file__).parent
    for candidate in (package / "docs", package.parent / "docs"):
        if (candidate / "getting-started.md").is_file():
            return candidate
    return None


class Docs:
    """ASGI middleware: the docs under PREFIX, everything else to `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path + "/").startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        if path == PREFIX.rstrip("/"):
            response: Response = RedirectResponse(PREFIX)
        else:
            response = page(path.removeprefix(PREFIX))
        await response(scope, receive, send)


def page(name: str) -> Response:
    """The response for `/__nova/docs/<name>` (`""` is the list of pages)."""
    folder = docs_dir()
    if name == "" or folder is None:
        return HTMLResponse(_document("nova docs", _index(folder)))
    if not _PAGE.match(name) or not (folder / name).is_file():
        body = f"<h1>Not found</h1><p>No page {html.escape(name)} in nova's docs.</p>"
        return HTMLResponse(_document("Not found", body), 404)
    return HTMLResponse(_document(name, render(folder / name)))


def _index(folder: Path | None) -> str:
    if folder is None:
        return "<h1>nova docs</h1><p>This installation of nova has no docs.</p>"
    items = "".join(
        f"<li><a href='{p.name}'>{html.escape(_title(p))}</a></li>"
        for p in sorted(folder.glob("*.md"))
    )
    return f"<h1>nova docs</h1><ul>{items}</ul>"


def _title(path: Path) -> str:
    for line in path.read_text("utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip().strip("`")
    return path.stem


@cache
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table")


def render(path: Path) -> str:
    """A docs page as HTML, its headings with GitHub's ids so `page.md#section` links work."""
    md = _markdown()
    tokens = md.parse(path.read_text("utf-8"))
    for opening, inline in zip(tokens, tokens[1:], strict=False):
        if opening.type == "heading_open":
            opening.attrSet("id", slug(inline.content))
    return str(md.renderer.render(tokens, md.options, {}))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: `nova new --docker` → `nova-new---docker`."""
    text = re.sub(r"[^\w\- ]", "", heading.lower())
    return text.replace(" ", "-")


def _document(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<nav><a href='{PREFIX}'>nova docs</a></nav>{body}</body></html>"
    )
