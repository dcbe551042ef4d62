"""Jinja2 views: Nova's ErlyDTL templates, found under the app's `views/`.

Templates are read from disk and re-read when they change (Jinja2's
`auto_reload`), so an edited template is served fresh without any reload.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, TemplateNotFound, select_autoescape


class ViewNotFound(LookupError):
    """A controller asked for a template that does not exist."""


class Views:
    """The templates of one app: `views/<name>.html`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.env = Environment(
            loader=FileSystemLoader(str(directory)),
            autoescape=select_autoescape(["html", "htm", "xml"]),
            auto_reload=True,
        )

    def render(self, name: str, variables: dict[str, Any]) -> str:
        filename = name if name.endswith((".html", ".htm", ".xml", ".txt")) else name + ".html"
        try:
            template = self.env.get_template(filename)
        except TemplateNotFound:
            raise ViewNotFound(f"view {filename!r} not found in {self.directory}") from None
        return template.render(**variables)
