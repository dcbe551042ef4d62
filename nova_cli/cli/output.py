"""Terminal output for the CLI: plain lines, one red error line, NO_COLOR aware.

Kept free of rich and typer so every command can import it cheaply.
"""

from __future__ import annotations

import sys
from typing import TextIO

from nova_cli.core.terminal import use_color


class CliError(Exception):
    """A user-facing failure: printed as one line, exit status 1."""


def style(text: str, color: str, stream: TextIO | None = None) -> str:
    codes = {"red": "31", "green": "32", "yellow": "33", "cyan": "36", "bold": "1", "dim": "2"}
    if not use_color(stream or sys.stdout):
        return text
    return f"\033[{codes[color]}m{text}\033[0m"


def echo(text: str = "") -> None:
    print(text, file=sys.stdout, flush=True)


def error(text: str) -> None:
    """The one line a failed command prints, on stderr."""
    print(style(f"error: {text}", "red", sys.stderr), file=sys.stderr, flush=True)


def warn(text: str) -> None:
    print(style(f"warning: {text}", "yellow", sys.stderr), file=sys.stderr, flush=True)
