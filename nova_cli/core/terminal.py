"""Whether output to a stream is coloured: one rule for the CLI and the server's logs."""

from __future__ import annotations

import os
from typing import TextIO


def use_color(stream: TextIO) -> bool:
    """Whether to colour what goes to `stream`: never with NO_COLOR, always with
    FORCE_COLOR, else only on a terminal."""
    if os.environ.get("NO_COLOR") is not None:
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()
