"""What went wrong in a reload: file, line, message, for the terminal and the browser.

A `Problem` is built from the exception that stopped a reload (a
`SyntaxError`, an exception raised while a module ran, a bad route table)
and points at the line in the *project's* code that caused it, not at
importlib or nova_cli frames.  It is plain data, so the supervisor and the
worker can pass it to each other as JSON.
"""

from __future__ import annotations

import linecache
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

CONTEXT_LINES = 3


@dataclass(frozen=True)
class Problem:
    """Why the new code is not being served."""

    kind: str  # the exception's class name: "SyntaxError", "ImportError", "RouteTableError"
    message: str
    file: str | None = None  # as shown: relative to the project root when inside it
    line: int | None = None
    traceback: str = ""  # the project frames and the exception, as text
    source: list[tuple[int, str]] = field(default_factory=list)  # lines around `line`

    @property
    def location(self) -> str:
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}" if self.line else self.file

    def headline(self) -> str:
        """One line: `demo/router.py:3: SyntaxError: invalid syntax`."""
        where = self.location
        return f"{where}: {self.kind}: {self.message}" if where else f"{self.kind}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Problem:
        source = [(int(n), str(text)) for n, text in data.get("source", [])]
        return cls(
            kind=str(data["kind"]),
            message=str(data["message"]),
            file=data.get("file"),
            line=data.get("line"),
            traceback=str(data.get("traceback", "")),
            source=source,
        )


def problem_from_exception(
    exc: BaseException,
    root: Path,
    *,
    is_project_file: Callable[[Path], bool] | None = None,
    fallback: tuple[Path, int | None] | None = None,
) -> Problem:
    """Describe `exc`, pointing at the innermost frame in the project's own files.

    `fallback` (a file and line) is used when no project frame is involved,
    e.g. a `RouteTableError` raised by the compiler after `routes()` returned.
    """
    root = root.resolve()
    in_project = is_project_file or (lambda p: _inside(p, root))
    frames = traceback.extract_tb(exc.__traceback__)
    # `<frozen importlib._bootstrap>` and `<string>` name no file: relative to
    # the working directory (the project, under `nova serve`) they would pass.
    project_frames = [
        f
        for f in frames
        if f.filename and not f.filename.startswith("<") and in_project(Path(f.filename))
    ]

    path: Path | None = None
    line: int | None = None
    if isinstance(exc, SyntaxError) and exc.filename:
        path, line = Path(exc.filename), exc.lineno
        message = exc.msg or str(exc)
    else:
        message = str(exc) or type(exc).__name__
        if project_frames:
            last = project_frames[-1]
            path, line = Path(last.filename), last.lineno
        elif fallback is not None and str(fallback[0]) not in message:
            # A message that names the file already (a ConfigError does) needs no prefix.
            path, line = fallback
    text = ""
    if project_frames:
        shown = "".join(traceback.format_list(project_frames))
        text = "Traceback (project frames):\n" + shown
    # Without a frame to show, the exception alone would repeat the headline;
    # a SyntaxError's own text adds the line with its caret.
    if project_frames or isinstance(exc, SyntaxError):
        text += "".join(traceback.format_exception_only(type(exc), exc))
    return Problem(
        kind=type(exc).__name__,
        message=message,
        file=_display(path, root) if path is not None else None,
        line=line,
        traceback=text,
        source=_excerpt(path, line) if path is not None and line else [],
    )


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except OSError:
        return False


def _display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except (ValueError, OSError):
        return str(path)


def _excerpt(path: Path, line: int) -> list[tuple[int, str]]:
    linecache.checkcache(str(path))
    lines = linecache.getlines(str(path))
    start = max(1, line - CONTEXT_LINES)
    end = min(len(lines), line + CONTEXT_LINES)
    return [(n, lines[n - 1].rstrip("\n")) for n in range(start, end + 1)]


def terminal_report(problem: Problem, *, what: str = "reload failed") -> str:
    """The block printed in the terminal for a failed reload."""
    body = problem.traceback.rstrip("\n")
    return (
        f"nova: {what}: {problem.headline()}\n{_indent(body)}"
        if body
        else (f"nova: {what}: {problem.headline()}")
    )


def _indent(text: str) -> str:
    return "\n".join("    " + line if line else line for line in text.splitlines())
