"""`nova ...` as a user runs it: a subprocess, so the app it imports never stays in the tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.waiting import quiet_env


def run_nova(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `nova ARGS` in `cwd` without colour and without the test's NOVA_* variables."""
    return subprocess.run(
        [sys.executable, "-m", "nova_cli.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env=quiet_env(NO_COLOR="1", **env),
    )
