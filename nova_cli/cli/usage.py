"""The usage line of a command: `nova new [OPTIONS] NAME`, as click writes it.

typer writes a required argument as `{NAME}`, a notation found in no other
command's help; click's own convention is `NAME`, with `[NAME]` for an
optional one.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperCommand


class Command(TyperCommand):
    """A typer command whose usage line names required arguments plainly."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [_plain(piece) for piece in super().collect_usage_pieces(ctx)]


def _plain(piece: str) -> str:
    if piece.startswith("{") and piece.endswith("}"):
        return piece[1:-1]
    return piece
