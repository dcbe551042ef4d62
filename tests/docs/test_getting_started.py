"""docs/getting-started.md, followed as a new user would, from `nova new` to `pytest`.

Each shown command runs for real (output compared with the page), each
`# file:` block is written where it says, and the welcome page's next step
is the tutorial's own first step, so that following both never conflicts.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "getting-started.md"


def run(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        list(args),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def nova(*args: str, cwd: Path) -> str:
    return run(sys.executable, "-m", "nova_cli.cli.main", *args, cwd=cwd)


def shown(command: str) -> str:
    """The output the page shows after `$ command`."""
    found = re.search(rf"^\$ {re.escape(command)}\n(.*?)^```", PAGE.read_text(), re.S | re.M)
    assert found, f"the page does not show `{command}`"
    return found[1].split("\n$ ")[0]


def test_the_tutorial_from_the_welcome_page_to_passing_tests(tmp_path: Path) -> None:
    text = PAGE.read_text()
    assert nova("new", "myapp", cwd=tmp_path) == shown("nova new myapp")
    root = tmp_path / "myapp"

    welcome = (root / "myapp" / "views" / "main.html").read_text()
    (hint,) = re.findall(r"<code>(nova gen [^<]*)</code>", welcome)
    commands = re.findall(r"^\$ (nova gen .*)$", text, re.M)
    assert commands[0] == hint  # the welcome page's next step starts the tutorial

    for command in commands:
        assert nova(*command.split()[1:], cwd=root) == shown(command)
    for path, code in re.findall(r"```python\n# file: (\S+)\n(.*?)```", text, re.S):
        (root / path).write_text(code)
    assert nova("routes", cwd=root) == shown("nova routes")

    out = run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=root)
    assert out.splitlines()[-1].startswith(shown("pytest -q").splitlines()[-1]), out
