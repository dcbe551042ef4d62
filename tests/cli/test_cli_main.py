"""The `nova` command itself: cheap --help, version, one-line errors, NO_COLOR, --debug."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("starlette", "uvicorn", "cookiecutter", "libcst", "jinja2", "watchfiles")


def nova(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    return subprocess.run(
        [sys.executable, "-m", "nova_cli.cli.main", *args],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_importing_the_cli_imports_nothing_heavy():
    code = (
        "import sys, nova_cli.cli.main\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("args", [["--help"], ["gen", "--help"], ["new", "--help"]])
def test_help_pages_import_nothing_heavy(args, tmp_path):
    code = (
        "import sys\nfrom nova_cli.cli.main import app\n"
        f"try:\n    app({args!r})\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_help_lists_every_command(tmp_path):
    out = nova("--help", cwd=tmp_path).stdout
    for command in ("new", "gen", "serve", "run", "routes"):
        assert f" {command} " in out
    gen = nova("gen", "--help", cwd=tmp_path).stdout
    for kind in ("controller", "ws-handler", "fallback", "handler", "resource"):
        assert f" {kind} " in gen
    assert "--install-completion" in out  # typer's shell completion is on


def test_version(tmp_path):
    from nova_cli import __version__

    assert nova("--version", cwd=tmp_path).stdout == f"nova {__version__}\n"


def test_an_error_is_one_line_without_a_traceback(tmp_path):
    done = nova("new", "my-app", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: 'my-app' is not a valid app name")
    assert "\033[" not in done.stderr  # not a terminal: no colour


def test_the_error_is_red_when_colour_is_forced_and_plain_with_no_color(tmp_path):
    red = nova("gen", "controller", "users", cwd=tmp_path, FORCE_COLOR="1")
    assert red.stderr.startswith("\033[31merror: no Nova app in")
    plain = nova("gen", "controller", "users", cwd=tmp_path, FORCE_COLOR="1", NO_COLOR="1")
    assert plain.stderr.startswith("error: no Nova app in")
    assert "\033[" not in plain.stderr


def test_debug_shows_the_traceback(tmp_path):
    done = nova("--debug", "gen", "controller", "users", cwd=tmp_path)
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert "no Nova app in" in done.stderr


def test_plan_output_is_plain_when_piped(tmp_path):
    done = nova("new", "myapp", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "    create  myapp/router.py\n" in done.stdout
    assert "\033[" not in done.stdout


@pytest.mark.parametrize("args", [["--help"], ["gen", "--help"]])
def test_command_summaries_are_whole(args, tmp_path):
    out = nova(*args, cwd=tmp_path, COLUMNS="80").stdout
    commands = out.split("Commands:")[1]
    assert "..." not in commands, commands
    assert len(commands.strip().splitlines()) >= 5


@pytest.mark.parametrize(
    ("args", "usage"),
    [
        (["new", "--help"], "Usage: nova new [OPTIONS] NAME"),
        (["gen", "controller", "--help"], "Usage: nova gen controller [OPTIONS] NAME"),
        (["routes", "--help"], "Usage: nova routes [OPTIONS]"),
    ],
)
def test_usage_is_the_nova_command_with_plain_argument_names(args, usage, tmp_path):
    assert nova(*args, cwd=tmp_path).stdout.splitlines()[0] == usage


def test_a_route_to_a_missing_function_names_the_router_and_its_line(tmp_path):
    assert nova("new", "myapp", cwd=tmp_path).returncode == 0
    root = tmp_path / "myapp"
    router = root / "myapp" / "router.py"
    route = '("/users/:id", main_controller.show, {"methods": ["get"]}),'
    text = router.read_text().replace('("/heartbeat",', f'{route}\n                ("/heartbeat",')
    router.write_text(text)
    line = next(n for n, code in enumerate(text.splitlines(), 1) if "main_controller.show" in code)
    expected = (
        f"error: myapp/router.py:{line}: AttributeError: module "
        "'myapp.controllers.main_controller' has no attribute 'show' "
        "(run with --debug for the traceback)\n"
    )
    for args in (["routes"], ["run", "--port", "0"], ["serve", "--no-reload", "--port", "0"]):
        done = nova(*args, cwd=root)
        assert (done.returncode, done.stderr) == (1, expected), args
