"""Plan, show, apply: how `nova new` and `nova gen` write files without ever losing any.

A template is rendered by cookiecutter into a private temporary directory,
never into the project, so cookiecutter's own overwrite rules never touch the
user's files.  Each rendered file is then compared with what is on disk and
becomes a `Step` (Rails' vocabulary): `create`, `identical` (nothing to do),
`conflict` (exists with other content: stops everything unless forced, then
`force`), `exist` (a shared file such as a package `__init__.py`, kept as is),
`inject` (an edit of router.py or the app package), `skip`/`manual` (a route
left for the user, with a snippet).  `apply` writes each file atomically
(temporary file + rename) after keeping a hard link to the file it replaces,
and, if anything fails half-way or is interrupted, renames every file back
(or removes it), so a generation happens whole or not at all.

No typer here: this module is usable as a library, and the CLI only formats.
"""

from __future__ import annotations

import contextlib
import keyword
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from nova_cli import DISTRIBUTION


class ScaffoldError(Exception):
    """A generation that cannot go ahead; the message says why, and what was written (nothing)."""


WRITES = ("create", "force", "inject")
COLORS = {
    "create": "green",
    "identical": "dim",
    "exist": "dim",
    "conflict": "red",
    "force": "yellow",
    "inject": "cyan",
    "skip": "yellow",
    "manual": "yellow",
}


@dataclass
class Step:
    """One thing a generation does (or would do) to one file."""

    action: str  # a key of COLORS
    path: PurePosixPath  # relative to the plan's root
    content: bytes | None = None  # what to write, for the WRITES actions
    mode: int | None = None  # permission bits of a new file
    reason: str = ""  # shown after the path


@dataclass
class Plan:
    """Everything a generation will do, computed before anything is written."""

    root: Path
    steps: list[Step] = field(default_factory=list)
    snippet: str = ""  # code the user has to add by hand (--no-route, an uneditable router)
    warnings: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)

    @property
    def conflicts(self) -> list[Step]:
        return [s for s in self.steps if s.action == "conflict"]

    @property
    def writes(self) -> list[Step]:
        return [s for s in self.steps if s.action in WRITES]


# -- names ------------------------------------------------------------------------------

# The app package goes first on sys.path: it must not shadow what nova itself imports.
RESERVED_APP_NAMES = frozenset(
    {"nova", "nova_cli", "test", "tests"}
    | {"starlette", "uvicorn", "jinja2", "typer", "click", "cookiecutter", "libcst"}
    | {"watchfiles", "anyio", "httpx", "httpx2", "pytest", "websockets", "redis"}
)
_LOWER_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")


def validate_app_name(name: str) -> None:
    """Refuse an app name that is no Python package name or would shadow another module."""
    if not (name.isidentifier() and name.isascii()):
        raise ScaffoldError(
            f"{name!r} is not a valid app name: use a Python identifier "
            f"(letters, digits and _, not starting with a digit){_did_you_mean(name)}"
        )
    if keyword.iskeyword(name):
        raise ScaffoldError(f"{name!r} is not a valid app name: it is a Python keyword")
    if name in sys.stdlib_module_names:
        raise ScaffoldError(
            f"{name!r} is not a valid app name: it is a standard-library module, "
            "which the app package would shadow"
        )
    if name in RESERVED_APP_NAMES:
        raise ScaffoldError(f"{name!r} is not a valid app name: it is reserved (nova uses it)")


def validate_name(what: str, name: str, *, suffix: str = "") -> None:
    """Refuse a generated module, action or handler name that is not a lower-case identifier."""
    if not _LOWER_IDENTIFIER.match(name) or keyword.iskeyword(name):
        raise ScaffoldError(
            f"{name!r} is not a valid {what} name: use lower-case letters, digits and _, "
            f"starting with a letter (and not a Python keyword){_did_you_mean(name)}"
        )
    if suffix and name.endswith(suffix):
        raise ScaffoldError(
            f"{name!r}: leave out the {suffix!r} suffix, nova adds it "
            f"(use {name.removesuffix(suffix)!r})"
        )


def _did_you_mean(name: str) -> str:
    """`; did you mean 'book_shelf'?` for `BookShelf`, `book-shelf` or `Book Shelf`; or ""."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    guess = re.sub(r"[^a-z0-9]+", "_", words.lower()).strip("_")
    if guess == name or not _LOWER_IDENTIFIER.match(guess) or keyword.iskeyword(guess):
        return ""
    return f"; did you mean {guess!r}?"


# -- rendering ------------------------------------------------------------------------------


def templates_dir() -> Path:
    """The templates: inside the installed package, else at the top of the repository."""
    import nova_cli

    package = Path(nova_cli.__file__).parent
    candidates = (package / "templates", package.parent / "templates")
    for candidate in candidates:
        if (candidate / "app" / "cookiecutter.json").is_file():
            return candidate
    raise ScaffoldError(
        f"nova's templates are missing (looked in {', '.join(map(str, candidates))}); "
        f"reinstall {DISTRIBUTION}"
    )


@dataclass(frozen=True)
class Rendered:
    content: bytes
    mode: int


def render(template: str, context: Mapping[str, str]) -> dict[PurePosixPath, Rendered]:
    """Render template `template` with `context`; paths are relative to its root folder
    (the project directory it stands for).

    Cookiecutter writes into a temporary directory of ours, with no replay
    file, no user config and no hooks: the result depends on the template
    and the context only.
    """
    from cookiecutter.exceptions import CookiecutterException
    from cookiecutter.generate import generate_context, generate_files

    source = templates_dir() / template
    if not (source / "cookiecutter.json").is_file():
        raise ScaffoldError(f"no template named {template!r} in {source.parent}")
    context_file = str(source / "cookiecutter.json")
    try:
        values = generate_context(context_file=context_file, extra_context=dict(context))
        with tempfile.TemporaryDirectory(prefix="nova-render-") as tmp:
            out = Path(
                generate_files(
                    repo_dir=str(source), context=values, output_dir=tmp, accept_hooks=False
                )
            )
            return {
                PurePosixPath(path.relative_to(out).as_posix()): Rendered(
                    path.read_bytes(), path.stat().st_mode & 0o777
                )
                for path in sorted(out.rglob("*"))
                if path.is_file() and "__pycache__" not in path.parts
            }
    except CookiecutterException as exc:  # a broken template: our bug, said plainly
        raise ScaffoldError(f"template {template!r} failed to render: {exc}") from None


# -- planning ----------------------------------------------------------------------------


def plan_files(
    root: Path,
    files: Mapping[PurePosixPath, Rendered],
    *,
    force: bool = False,
    keep_existing: Iterable[PurePosixPath] = (),
) -> Plan:
    """Compare rendered files with the files under `root`: one Step each."""
    keep = set(keep_existing)
    plan = Plan(root)
    for path, rendered in files.items():
        target = root / path
        if target.is_dir():
            plan.steps.append(Step("conflict", path, reason="a directory is in the way"))
            continue
        if not target.exists():
            plan.steps.append(Step("create", path, rendered.content, rendered.mode))
            continue
        try:
            same = target.read_bytes() == rendered.content
        except OSError as exc:
            raise ScaffoldError(f"cannot read {target}: {exc.strerror}") from None
        if same:
            plan.steps.append(Step("identical", path))
        elif path in keep:
            plan.steps.append(Step("exist", path))
        elif force:
            plan.steps.append(Step("force", path, rendered.content))
        else:
            plan.steps.append(Step("conflict", path))
    return plan


def show(
    plan: Plan,
    write: Callable[[str], None],
    paint: Callable[[str, str], str] = lambda text, color: text,
) -> None:
    """Write the plan as aligned `action  path` lines (Rails' generator output).

    A plan with a conflict writes nothing: what it would have written shows as
    `skip  path  (would create)`, never as a `create` that did not happen.
    """
    blocked = bool(plan.conflicts)
    for step in plan.steps:
        verb, reason = step.action, step.reason
        if blocked and verb in WRITES:
            verb, reason = "skip", f"would {verb} {reason}".rstrip()
        action = paint(verb.rjust(10), COLORS.get(verb, "bold"))
        shown = f"  ({reason})" if reason else ""
        write(f"{action}  {step.path}{shown}")


# -- applying ----------------------------------------------------------------------------


def apply(plan: Plan) -> list[Path]:
    """Write the plan's files; on any failure, undo every write, then raise.

    Returns the files written.  An OSError (a read-only directory, a full
    disk) becomes a ScaffoldError naming the file; KeyboardInterrupt and
    other exceptions are re-raised after the undo.
    """
    if plan.conflicts:
        raise ScaffoldError(_conflict_message(plan))
    done: list[tuple[Path, Path | None]] = []  # (file, a backup of what it replaced)
    made: list[Path] = []  # directories created, parents first
    current = plan.root
    try:
        for step in plan.writes:
            assert step.content is not None
            current = plan.root / step.path
            _make_dirs(current.parent, made)
            backup = _backup(current) if current.exists() else None
            done.append((current, backup))
            write_atomic(current, step.content, step.mode)
    except BaseException as exc:
        _undo(done, made)
        if isinstance(exc, OSError):
            reason = exc.strerror or str(exc)
            raise ScaffoldError(f"cannot write {current}: {reason}; nothing was written") from exc
        raise
    for _, backup in done:
        if backup is not None:
            with contextlib.suppress(OSError):
                backup.unlink()
    return [path for path, _ in done]


def write_atomic(target: Path, content: bytes, mode: int | None = None) -> None:
    """Replace `target` by `content` in one rename: readers see the old or the new file."""
    if target.exists():
        mode = target.stat().st_mode & 0o777  # an overwritten file keeps its permissions
    else:
        mode = (mode if mode is not None else 0o666) & ~_umask()  # as open() would
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".nova-tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    current = os.umask(0o022)  # reading it means setting it: put it straight back
    os.umask(current)
    return current


def _make_dirs(folder: Path, made: list[Path]) -> None:
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir()
        made.append(path)


def _backup(target: Path) -> Path:
    """A second name for `target`'s current content, to rename back on undo.

    A hard link costs no disk space (a full disk must not stop the undo);
    where links are not supported, a copy.
    """
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".nova-bak")
    os.close(fd)
    backup = Path(name)
    try:
        backup.unlink()
        try:
            os.link(target, backup)
        except OSError:
            shutil.copy2(target, backup)
    except BaseException:
        with contextlib.suppress(OSError):
            backup.unlink()
        raise
    return backup


def _undo(done: list[tuple[Path, Path | None]], made: list[Path]) -> None:
    for path, backup in reversed(done):
        with contextlib.suppress(OSError):
            if backup is None:
                path.unlink(missing_ok=True)
            else:
                os.replace(backup, path)
                # Renaming a link onto its own file is a no-op (POSIX): the
                # file was never replaced, and the backup name must go too.
                backup.unlink(missing_ok=True)
    for folder in reversed(made):
        with contextlib.suppress(OSError):
            folder.rmdir()


def _conflict_message(plan: Plan) -> str:
    paths = ", ".join(str(s.path) for s in plan.conflicts)
    count = len(plan.conflicts)
    noun = "file conflicts" if count == 1 else "files conflict"
    return f"{count} {noun} ({paths}); nothing written. Use --force to overwrite"
