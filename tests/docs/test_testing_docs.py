"""docs/testing.md: its example app and the tests it shows, run with pytest as a user runs them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.docs.conftest import app_from_docs

# What `nova new` puts in pyproject.toml besides the app's name.
PYPROJECT = """\
plugins = [["pre_request", "request", { decode_json_body = true }]]

[tool.pytest.ini_options]
pythonpath = ["."]
"""


def test_the_tests_of_the_testing_page_pass(tmp_path: Path) -> None:
    root = app_from_docs("testing.md", tmp_path, PYPROJECT)
    tests = sorted(p.name for p in (root / "tests").glob("test_*.py"))
    assert tests == ["test_books.py", "test_echo.py", "test_lobby.py", "test_rooms.py"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOVA_", "PYTEST_"))}
    # Warnings are errors, as here: the kit must not leave a stream or a thread behind.
    args = ["-q", "-p", "no:cacheprovider", "-p", "no:randomly", "-p", "no:asyncio", "-W", "error"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b12 passed\b", done.stdout), done.stdout
