"""Jinja2 views: Nova's ErlyDTL templates, found under the app's `views/`.

In the dev environment templates are re-read when they change (Jinja2's
`auto_reload`), so an edited template is served fresh without any reload.
Elsewhere each template is read and compiled once: `auto_reload` costs a
`stat` of the template (and of each one it includes) on every render.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, TemplateNotFound, select_autoescape


class ViewNotFound(LookupError):
    """A controller asked for a template that does not exist."""


class Views:
    """The templates of one app: `views/<name>.html`."""

    def __init__(self, directory: Path, *, auto_reload: bool = True) -> None:
        self.directory = directory
        self.env = Environment(
            loader=FileSystemLoader(str(directory)),
            autoescape=select_autoescape(["html", "htm", "xml"]),
            auto_reload=auto_reload,
        )

    def render(self, name: str, variables: dict[str, Any]) -> str:
        """`views/<name>` rendered with `variables`; blocking (disk, template code)."""
        filename = name if name.endswith((".html", ".htm", ".xml", ".txt")) else name + ".html"
        try:
            template = self.env.get_template(filename)
        except TemplateNotFound:
            raise ViewNotFound(f"view {filename!r} not found in {self.directory}") from None
        return template.render(**variables)
