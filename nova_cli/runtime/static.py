"""Static routes: files under a directory (`("/assets/[...]", "static")`) or one file.

Nothing outside the route's directory is ever served: the requested path is
resolved (following symlinks) and must stay below the directory's own
resolved path.  `..`, its percent-encoded forms (uvicorn decodes them before
we see the path), absolute paths and symlinks that leave the directory all
end in 404.  Files are sent with Starlette's FileResponse, which handles
HEAD, `range` (206/416) and `last-modified`.

A route's options are Nova's: `mimetype` (the content type of every file it
serves), `index_files` (what a directory serves, default `["index.html"]`)
and `list_dir` (a directory without an index file is listed; otherwise 403,
as in Nova).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.responses import FileResponse, HTMLResponse, Response

from nova_cli.core.errors import RouteTableError

STATIC_OPTION_KEYS = ("mimetype", "index_files", "list_dir")
_MIMETYPE = re.compile(r"^[\w.+-]+/[\w.+-]+(\s*;.*)?$")


@dataclass(frozen=True)
class StaticOptions:
    """How a static route answers: its files' content type, index files, listings."""

    mimetype: str | None = None
    index_files: tuple[str, ...] = ("index.html",)
    list_dir: bool = False


def static_options(options: dict[str, Any]) -> StaticOptions:
    """A static route's options, checked; RouteTableError names the bad one."""
    mimetype = options.get("mimetype")
    if mimetype is not None and (not isinstance(mimetype, str) or not _MIMETYPE.match(mimetype)):
        raise RouteTableError(
            f"mimetype must be a content type such as 'text/plain', got {mimetype!r}"
        )
    index_files = options.get("index_files", ["index.html"])
    if not isinstance(index_files, list | tuple) or not all(
        isinstance(name, str) and name and "/" not in name and name not in (".", "..")
        for name in index_files
    ):
        raise RouteTableError(f"index_files must be a list of file names, got {index_files!r:.60}")
    list_dir = options.get("list_dir", False)
    if not isinstance(list_dir, bool):
        raise RouteTableError(f"list_dir must be True or False, got {list_dir!r}")
    return StaticOptions(mimetype, tuple(index_files), list_dir)


def serve(
    base: Path, pathinfo: list[str] | None, options: StaticOptions | None = None
) -> Response | int:
    """The response for `pathinfo` below `base`, or the status to answer with (404, 403)."""
    options = options or StaticOptions()
    if base.is_file():
        return _file(base, options) if not pathinfo else 404
    parts = pathinfo or []
    if any(p in ("..", ".") or "\\" in p or "\x00" in p for p in parts):
        return 404
    candidate = base.joinpath(*parts)
    try:
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return 404
    if real != base and base not in real.parents:
        return 404
    if real.is_dir():
        for index in options.index_files:
            if (real / index).is_file():
                return _file(real / index, options)
        return listing(base, real) if options.list_dir else 403
    return _file(real, options) if real.is_file() else 404


def _file(path: Path, options: StaticOptions) -> Response:
    return FileResponse(path, media_type=options.mimetype)


def listing(base: Path, folder: Path) -> Response:
    """An HTML list of `folder`'s entries that stay below `base`: folders first, then files."""
    rows = []
    for entry in sorted(folder.iterdir(), key=lambda p: (not p.is_dir(), p.name)):
        try:
            real = entry.resolve(strict=True)
            stat = real.stat()
        except (OSError, RuntimeError):
            continue
        if real != base and base not in real.parents:
            continue  # a symlink out of the directory is not shown, as it is not served
        name = entry.name + ("/" if real.is_dir() else "")
        when = datetime.fromtimestamp(stat.st_mtime, UTC).strftime("%Y-%m-%d %H:%M")
        size = "-" if real.is_dir() else str(stat.st_size)
        rows.append(
            f"<tr><td><a href='{quote(name)}'>{html.escape(name)}</a></td>"
            f"<td>{size}</td><td>{when}</td></tr>"
        )
    where = "/" + "/".join(folder.relative_to(base).parts)
    parent = "<tr><td><a href='../'>../</a></td><td></td><td></td></tr>" if folder != base else ""
    title = html.escape(where if where.endswith("/") else where + "/")
    body = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"</head><body><h1>{title}</h1><table><tr><th>name</th><th>size</th>"
        f"<th>modified (UTC)</th></tr>{parent}{''.join(rows)}</table></body></html>"
    )
    return HTMLResponse(body)
