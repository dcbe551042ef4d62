"""`nova`: the root command.  Each command group lives in its own module.

Nothing heavy is imported here or at the top of the command modules:
`nova --help` must not load starlette, uvicorn or cookiecutter.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from nova_cli import __version__
from nova_cli.cli import audit, gen, middleware, new, openapi, routes, serve, settings
from nova_cli.cli.output import CliError, error

app = typer.Typer(
    name="nova",
    help="Nova for Python: generate, serve and run Nova apps.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
_debug = False


def _version(value: bool) -> None:
    if value:
        typer.echo(f"nova {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """Nova for Python: generate, serve and run Nova apps."""
    global _debug
    _debug = debug


new.register(app)
gen.register(app)
serve.register(app)
routes.register(app)
audit.register(app)
middleware.register(app)
settings.register(app)
openapi.register(app)


def _user_errors() -> tuple[type[BaseException], ...]:
    """Library exceptions that are the user's input, not our bug: one line, exit 1."""
    from nova_cli.core.errors import USER_ERRORS

    return (CliError, *USER_ERRORS)


def main() -> None:
    """Console-script entry point."""
    try:
        # The usage lines say `nova`, however the command was started.
        app(prog_name="nova", standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(130)
    except _user_errors() as exc:
        if _debug:
            raise
        error(str(exc))
        sys.exit(1)
    except Exception as exc:  # an error in the user's code while loading the app
        if _debug:
            raise
        where = _user_line(exc)
        prefix = f"{where}: " if where else ""
        error(f"{prefix}{type(exc).__name__}: {exc} (run with --debug for the traceback)")
        sys.exit(1)


def _user_line(exc: BaseException) -> str:
    """`myapp/router.py:14`: the innermost line of the user's own code that `exc` went
    through (not nova_cli's, not the Python installation's), or ""."""
    import sysconfig
    import traceback
    from pathlib import Path

    import nova_cli

    paths = sysconfig.get_paths()
    libraries = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    ours = [Path(nova_cli.__file__).parent.resolve(), *(Path(p).resolve() for p in libraries)]
    if isinstance(exc, SyntaxError) and exc.filename:
        found: list[tuple[str, int | None]] = [(exc.filename, exc.lineno)]
    else:
        found = [(f.filename, f.lineno) for f in traceback.extract_tb(exc.__traceback__)]
    for filename, line in reversed(found):
        path = Path(filename)
        if filename.startswith("<") or not path.is_file():
            continue
        path = path.resolve()
        if any(path.is_relative_to(root) for root in ours):
            continue
        cwd = Path.cwd().resolve()
        shown = path.relative_to(cwd).as_posix() if path.is_relative_to(cwd) else str(path)
        return f"{shown}:{line}" if line else shown
    return ""


if __name__ == "__main__":
    main()
