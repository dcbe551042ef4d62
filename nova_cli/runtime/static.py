"""Static routes: files under a directory (`("/assets/[...]", "static")`) or one file.

Nothing outside the route's directory is ever served: the requested path is
resolved (following symlinks) and must stay below the directory's own
resolved path.  `..`, its percent-encoded forms (uvicorn decodes them before
we see the path), absolute paths and symlinks that leave the directory all
end in 404.  Files are sent with Starlette's FileResponse, which handles
HEAD, `range` (206/416) and `last-modified`.
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import FileResponse, Response

INDEX_FILES = ("index.html",)


def serve(base: Path, pathinfo: list[str] | None) -> Response | None:
    """The response for `pathinfo` below `base`, or None for 404."""
    if base.is_file():
        return FileResponse(base) if not pathinfo else None
    parts = pathinfo or []
    if any(p in ("..", ".") or "\\" in p or "\x00" in p for p in parts):
        return None
    candidate = base.joinpath(*parts)
    try:
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if real != base and base not in real.parents:
        return None
    if real.is_dir():
        for index in INDEX_FILES:
            if (real / index).is_file():
                return FileResponse(real / index)
        return None
    return FileResponse(real) if real.is_file() else None
