"""What the dev server prints: one `nova:` line, and paths relative to the project."""

from __future__ import annotations

from pathlib import Path


def say(text: str) -> None:
    print(f"nova: {text}", flush=True)


def relative(path: Path, root: Path) -> str:
    """`path` relative to the project `root`, as a user reads it; absolute if outside."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
