"""`nova serve`'s reload options at the command line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from nova_cli.cli.main import app

ENV = {"COLUMNS": "200", "NO_COLOR": "1", "_TYPER_FORCE_DISABLE_TERMINAL": "1"}


def test_serve_help_lists_the_reload_options() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"], env=ENV)
    assert result.exit_code == 0
    for option in ("--reload / --no-reload", "--live-reload / --no-live-reload", "--reload-mode"):
        assert option in result.output
    assert "--reload-mode <auto|restart>" in result.output


def test_a_bad_reload_mode_is_refused(demo_root: Path) -> None:
    result = CliRunner().invoke(
        app, ["serve", "-C", str(demo_root), "--reload-mode", "fast"], env=ENV
    )
    assert result.exit_code == 2
    assert "'fast' is not one of 'auto', 'restart'" in result.output


def test_a_busy_port_is_one_line(demo_root: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "nova_cli.cli.main", "serve", "--port", str(port)],
            cwd=demo_root,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "NO_COLOR": "1"},
        )
    assert result.returncode == 1
    assert result.stderr == (f"error: cannot listen on 127.0.0.1:{port}: Address already in use\n")


def deeper_than_path_max(root: Path) -> None:
    """A chain of directories below `root` whose full path is longer than PATH_MAX (4096).

    Made relative to each parent's descriptor: no single call sees the whole
    path.  Anything that stats a file below it by its full path gets
    ENAMETOOLONG ("File name too long"), root or not.
    """
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(20):
            os.mkdir("d" * 250, dir_fd=fd)
            inner = os.open("d" * 250, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
    finally:
        os.close(fd)


def test_an_error_other_than_listening_is_reported_as_what_it_is(demo_root: Path) -> None:
    deeper_than_path_max(demo_root / "demo")  # the watcher walks it: File name too long
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = subprocess.run(
        [sys.executable, "-m", "nova_cli.cli.main", "serve", "--port", str(port)],
        cwd=demo_root,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == 1
    assert "cannot listen" not in result.stderr, result.stderr
    assert result.stderr.startswith("error: OSError: [Errno 36] File name too long: ")
    assert result.stderr.count("\n") == 1  # one line
