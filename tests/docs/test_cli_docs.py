"""docs/cli.md: every session it shows is run, in page order, and compared with the page.

The page's sessions are one story: `nova new myapp`, then the generators in
`myapp/`, then the route table.  Each `$ nova ...` line of a plain code block
runs for real (stdout and stderr together, `NO_COLOR=1`), and its output and
exit status (1 when the page shows `error:`, else 0) must be the page's.
The servers (`nova serve`, `nova run` that serves) are left out: their
output has pids, timings and limits of the machine.  A line `...` on the
page stands for any number of lines.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def sessions() -> list[tuple[str, str]]:
    """Every `$ command` of the page's plain code blocks, with the output shown after it."""
    found: list[tuple[str, str]] = []
    fence: str | None = None  # the info string of the open block, if any
    command: str | None = None  # the last command of the open block
    for line in PAGE.read_text().splitlines(keepends=True):
        if line.startswith("```"):
            fence, command = (line[3:].strip() if fence is None else None), None
        elif fence == "" and line.startswith("$ "):
            command = line[2:].rstrip("\n")
            found.append((command, ""))
        elif command is not None:
            found[-1] = (command, found[-1][1] + line)
    return found


def serves(command: str, output: str) -> bool:
    words = command.split()
    server = "serve" in words or "run" in words
    return server and not output.startswith("error:")


def matches(shown: str, real: str) -> bool:
    """`real` is `shown`, where a line `...` on the page stands for any lines."""
    parts = [re.escape(part) for part in re.split(r"^ *\.\.\.\n", shown, flags=re.M)]
    return (
        re.fullmatch("(?:.*\n)?".join(parts) if len(parts) > 1 else parts[0], real, re.S)
        is not None
    )


def test_every_session_on_the_page_is_what_nova_prints(tmp_path: Path) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    ran = 0
    for command, shown in sessions():
        if serves(command, shown):
            continue
        words = command.split()
        cwd = home if words[:2] == ["nova", "new"] else home / "myapp"
        if words[:3] == ["cd", "/tmp", "&&"]:  # outside any app
            words, cwd = words[3:], elsewhere
        assert words[0] == "nova", command
        done = subprocess.run(
            [sys.executable, "-m", "nova_cli.cli.main", *words[1:]],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120,
            env={**os.environ, "NO_COLOR": "1", "COLUMNS": "100"},
        )
        real = done.stdout.replace(str(elsewhere), "/tmp")
        assert matches(shown, real), f"$ {command}\n--- page\n{shown}--- real\n{real}"
        assert done.returncode == (1 if "\nerror: " in "\n" + shown else 0), command
        ran += 1
    assert ran >= 15

    router = re.search(r"`myapp/router.py` reads:\n\n```python\n(.*?)```", PAGE.read_text(), re.S)
    assert router and router[1] == (home / "myapp" / "myapp" / "router.py").read_text()
